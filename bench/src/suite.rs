//! The scenario plan of `full` and `smoke`, the round-robin runner, and
//! `drive` (one scenario against an already running server).

use std::time::{Duration, Instant};

use crate::load::{self, Figure, Timing};
use crate::report::{self, Outcome, Summary};
use crate::servers::{Launcher, Peer};
use crate::{fail, flag, Res};

/// Which plan to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Every scenario at full size, a few seconds each, 3 rounds.
    Full,
    /// Tiny sizes, one short round: checks everything works (CI).
    Smoke,
}

/// What a scenario does.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// Request/response echo.
    Echo { conns: usize, size: usize },
    /// Echo with `depth` messages in flight per connection.
    Pipelined { conns: usize, size: usize, depth: usize },
    /// One publisher, `subs` subscribers on `/room`.
    Broadcast { subs: usize, window: usize },
    /// Connect, upgrade, close, repeat.
    ConnRate { workers: usize },
    /// RSS growth over `conns` idle connections.
    Idle { conns: usize },
}

/// One scenario of a plan.
#[derive(Debug, Clone)]
pub(crate) struct Scenario {
    /// Short name (`--only`).
    pub(crate) key: &'static str,
    /// What it does, with its parameters, for the report.
    pub(crate) title: String,
    /// Its kind and parameters.
    pub(crate) kind: Kind,
    /// Servers it runs against (wirehub first).
    pub(crate) servers: Vec<Peer>,
    /// Warm-up and measured time.
    pub(crate) timing: Timing,
    /// Rounds (servers alternate within each round).
    pub(crate) rounds: usize,
}

fn plan(mode: Mode) -> Vec<Scenario> {
    // The histogram-less variant only where per-message costs show: echo, pipelined.
    // wirehub-history differs only in its room: it runs the broadcasts.
    let all: Vec<Peer> = Peer::ALL.into_iter().filter(|p| *p != Peer::WirehubHistory).collect();
    let most: Vec<Peer> = all.iter().copied().filter(|p| *p != Peer::WirehubNoTiming).collect();
    let rooms = vec![Peer::Wirehub, Peer::WirehubHistory, Peer::Baseline, Peer::BaselineTuned, Peer::Node];
    let (rounds, timing, short) = match mode {
        Mode::Full => (
            5,
            Timing { warmup: Duration::from_millis(500), measure: Duration::from_secs(2) },
            Timing { warmup: Duration::ZERO, measure: Duration::from_secs(2) },
        ),
        Mode::Smoke => (
            1,
            Timing { warmup: Duration::from_millis(50), measure: Duration::from_millis(150) },
            Timing { warmup: Duration::ZERO, measure: Duration::from_millis(150) },
        ),
    };
    let small = mode == Mode::Smoke;
    let echo_conns = if small { 4 } else { 50 };
    let (pipe_conns, depth) = if small { (2, 8) } else { (16, 32) };
    let (subs_a, subs_b) = if small { (20, 50) } else { (100, 1000) };
    let workers = if small { 4 } else { 16 };
    let idle = if small { 100 } else { 10_000 };
    let scenario = |key, title: String, kind, servers: &Vec<Peer>, timing| Scenario {
        key,
        title,
        kind,
        servers: servers.clone(),
        timing,
        rounds,
    };
    vec![
        scenario(
            "echo",
            format!("echo request/response: {echo_conns} connections, 64 B binary"),
            Kind::Echo { conns: echo_conns, size: 64 },
            &all,
            timing,
        ),
        scenario(
            "pipelined",
            format!("pipelined echo: {pipe_conns} connections x {depth} in flight, 64 B"),
            Kind::Pipelined { conns: pipe_conns, size: 64, depth },
            &all,
            timing,
        ),
        scenario(
            "broadcast-100",
            format!("broadcast fan-out: 1 publisher -> {subs_a} subscribers, 64 B"),
            Kind::Broadcast { subs: subs_a, window: 64 },
            &rooms,
            timing,
        ),
        scenario(
            "broadcast-1000",
            format!("issue 3: 1 publisher -> {subs_b} subscribers in one room, 64 B"),
            Kind::Broadcast { subs: subs_b, window: 32 },
            &rooms,
            timing,
        ),
        scenario(
            "connrate",
            format!("connection rate: {workers} workers, upgrade then close"),
            Kind::ConnRate { workers },
            &most,
            short,
        ),
        Scenario {
            rounds: 1,
            ..scenario(
                "idle",
                format!("idle memory: {idle} open connections"),
                Kind::Idle { conns: idle },
                &most,
                short,
            )
        },
    ]
}

/// Runs `kind` against a server on `port` (process `pid`, for RSS);
/// broadcasts use the room at `room`.
async fn run_one(
    kind: Kind,
    timing: Timing,
    port: u16,
    (publish_port, room): (Option<u16>, &str),
    pid: Option<u32>,
) -> Res<Vec<Figure>> {
    match kind {
        Kind::Echo { conns, size } => load::echo(port, conns, size, timing).await,
        Kind::Pipelined { conns, size, depth } => load::pipelined(port, conns, size, depth, timing).await,
        Kind::Broadcast { subs, window } => {
            load::broadcast(port, publish_port.unwrap_or(port), room, subs, window, timing).await
        }
        Kind::ConnRate { workers } => load::connrate(port, workers, timing.warmup + timing.measure).await,
        Kind::Idle { conns } => match pid {
            Some(pid) => load::idle_memory(port, pid, conns, timing.measure).await,
            None => fail("the idle scenario needs --pid"),
        },
    }
}

/// `full` and `smoke`.
pub(crate) async fn run(mode: Mode, args: &[String]) -> Res<()> {
    let began = Instant::now();
    let load_at_start = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut scenarios = plan(mode);
    let mut filtered = false;
    if let Some(only) = flag(args, "--only") {
        let keys: Vec<&str> = only.split(',').collect();
        scenarios.retain(|s| keys.contains(&s.key));
        filtered = true;
        if scenarios.is_empty() {
            return fail(format!("--only {only}: no such scenario"));
        }
    }
    if let Some(names) = flag(args, "--servers") {
        let keep = names.split(',').map(Peer::parse).collect::<Res<Vec<_>>>()?;
        for s in &mut scenarios {
            s.servers.retain(|p| keep.contains(p));
        }
        filtered = true;
    }
    if let Some(rounds) = flag(args, "--rounds") {
        let rounds: usize = rounds.parse()?;
        // Idle memory is measured once per server (10 000 connections each).
        for s in scenarios.iter_mut().filter(|s| s.key != "idle") {
            s.rounds = rounds.max(1);
        }
    }

    let (launcher, node_missing) = Launcher::prepare(mode == Mode::Full)?;
    if let Some(why) = &node_missing {
        if std::env::var_os("CI").is_some() {
            return fail(format!("the Node peer must run under CI: {why} (`npm ci --prefix bench/node`)"));
        }
        eprintln!("skipping node-ws: {why}");
    }
    for s in &mut scenarios {
        s.servers.retain(|p| launcher.available(*p));
    }

    let mut summaries = Vec::new();
    for scenario in &scenarios {
        println!("\n== {} ({}, {} round(s))", scenario.title, scenario.key, scenario.rounds);
        let scenario_began = Instant::now();
        let mut runs: Vec<(Peer, Vec<Vec<Figure>>, Option<String>)> =
            scenario.servers.iter().map(|p| (*p, Vec::new(), None)).collect();
        for round in 1..=scenario.rounds {
            // Each round starts with a different server, so that none always
            // runs right after the same neighbour.
            if round > 1 && !runs.is_empty() {
                runs.rotate_left(1);
            }
            for (peer, figures, error) in runs.iter_mut() {
                if error.is_some() {
                    continue;
                }
                match run_on(&launcher, *peer, scenario).await {
                    Ok(f) => {
                        println!("  round {round} {:<18} {}", peer.name(), report::inline(&f));
                        figures.push(f);
                    }
                    Err(e) => {
                        println!("  round {round} {:<18} FAILED: {e}", peer.name());
                        *error = Some(e.to_string());
                    }
                }
            }
        }
        runs.sort_by_key(|(peer, _, _)| scenario.servers.iter().position(|p| p == peer));
        let rounds: Vec<(Peer, Vec<Vec<Figure>>)> =
            runs.iter().filter(|(_, _, error)| error.is_none()).map(|(p, f, _)| (*p, f.clone())).collect();
        let outcomes: Vec<(Peer, Outcome)> = runs
            .into_iter()
            .map(|(peer, figures, error)| match error {
                Some(e) => (peer, Outcome::Failed(e)),
                None => (peer, Outcome::Ok(report::median(&figures))),
            })
            .collect();
        let summary = Summary { scenario: scenario.clone(), outcomes, rounds };
        report::print_ratios(&summary);
        println!("  ({:.1} s)", scenario_began.elapsed().as_secs_f64());
        summaries.push(summary);
    }

    let failures: Vec<String> = summaries
        .iter()
        .flat_map(|s| {
            s.outcomes.iter().filter_map(move |(peer, o)| match o {
                Outcome::Failed(e) => Some(format!("{} on {}: {e}", s.scenario.key, peer.name())),
                Outcome::Ok(_) => None,
            })
        })
        .collect();
    let elapsed = began.elapsed();
    match mode {
        Mode::Full => {
            let targets = report::targets(&summaries);
            report::print_targets(&targets);
            let out = match flag(args, "--out") {
                Some(dir) => Some(std::path::PathBuf::from(dir)),
                None if filtered => None,
                None => Some(crate::servers::workspace_root().join("bench/results")),
            };
            match out {
                Some(dir) => {
                    let meta = report::Meta { load_at_start, elapsed, node_missing };
                    report::write(&dir, &summaries, &targets, &meta)?;
                    println!("\nwrote {} and {}", dir.join("results.md").display(), dir.join("chart.svg").display());
                }
                None => println!("\n(--only/--servers given without --out: bench/results/ left unchanged)"),
            }
            println!("full run took {:.0} s", elapsed.as_secs_f64());
        }
        Mode::Smoke => {}
    }
    if !failures.is_empty() {
        return fail(format!("{} run(s) failed:\n  {}", failures.len(), failures.join("\n  ")));
    }
    if mode == Mode::Smoke {
        println!("smoke ok ({:.1} s)", elapsed.as_secs_f64());
    }
    Ok(())
}

/// Starts a fresh `peer` process, runs the scenario once, stops it.
async fn run_on(launcher: &Launcher, peer: Peer, scenario: &Scenario) -> Res<Vec<Figure>> {
    let mut server = launcher.start(peer).await?;
    let room = (None, peer.room_path());
    let figures = run_one(scenario.kind, scenario.timing, server.port, room, Some(server.pid())).await;
    server.check_alive()?;
    figures
}

/// `drive`: one scenario against a server that is already running.
pub(crate) async fn drive(args: &[String]) -> Res<()> {
    let port: u16 = flag(args, "--port").ok_or("--port P is required")?.parse()?;
    let secs: f64 = flag(args, "--secs").unwrap_or("10").parse()?;
    let conns: Option<usize> = flag(args, "--conns").map(str::parse).transpose()?;
    let pid: Option<u32> = flag(args, "--pid").map(str::parse).transpose()?;
    let timing = Timing { warmup: Duration::from_millis(200), measure: Duration::from_secs_f64(secs) };
    let kind = match flag(args, "--scenario").unwrap_or("echo") {
        "echo" => Kind::Echo { conns: conns.unwrap_or(50), size: 64 },
        "pipelined" => Kind::Pipelined { conns: conns.unwrap_or(16), size: 64, depth: 32 },
        "broadcast" => {
            let subs = conns.unwrap_or(1000);
            Kind::Broadcast { subs, window: if subs >= 1000 { 32 } else { 64 } }
        }
        "connrate" => Kind::ConnRate { workers: conns.unwrap_or(16) },
        "idle" => Kind::Idle { conns: conns.unwrap_or(10_000) },
        other => return fail(format!("unknown scenario {other:?}")),
    };
    // --publish-port Q: the publisher on another instance (cross-instance fan-out).
    let publish_port: Option<u16> = flag(args, "--publish-port").map(str::parse).transpose()?;
    // --room /hroom: the room with history (bench_server).
    let room = flag(args, "--room").unwrap_or("/room");
    let figures = run_one(kind, timing, port, (publish_port, room), pid).await?;
    println!("{}", report::inline(&figures));
    Ok(())
}
