//! The scenario plan of `full` and `smoke`, the round-robin runner, and
//! `drive` (one scenario against an already running server).

use std::time::{Duration, Instant};

use crate::fanout::{self, Fanout};
use crate::load::{self, Figure, Timing};
use crate::procfs::Watch;
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
    /// One publisher, subscribers on `/room` (burst or paced).
    Broadcast(Fanout),
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

/// Sizes and times of a plan.
struct Sizes {
    rounds: usize,
    timing: Timing,
    short: Timing,
    paced: Timing,
    paced_rounds: usize,
    echo_conns: usize,
    pipe: (usize, usize),
    subs: (usize, usize),
    paced_subs: usize,
    workers: usize,
    idle: usize,
}

impl Sizes {
    fn of(mode: Mode) -> Sizes {
        let ms = Duration::from_millis;
        match mode {
            Mode::Full => Sizes {
                rounds: 5,
                timing: Timing { warmup: ms(500), measure: Duration::from_secs(2) },
                short: Timing { warmup: Duration::ZERO, measure: Duration::from_secs(2) },
                // 300 messages to 1000 subscribers per round; three rounds
                // (about a minute per server) keep the full run in bounds.
                paced: Timing { warmup: Duration::from_secs(1), measure: Duration::from_secs(15) },
                paced_rounds: 3,
                echo_conns: 50,
                pipe: (16, 32),
                subs: (100, 1000),
                paced_subs: 1000,
                workers: 16,
                idle: 10_000,
            },
            Mode::Smoke => Sizes {
                rounds: 1,
                timing: Timing { warmup: ms(50), measure: ms(150) },
                short: Timing { warmup: Duration::ZERO, measure: ms(150) },
                paced: Timing { warmup: ms(100), measure: Duration::from_secs(1) },
                paced_rounds: 1,
                echo_conns: 4,
                pipe: (2, 8),
                subs: (20, 50),
                paced_subs: 50,
                workers: 4,
                idle: 100,
            },
        }
    }
}

/// The paced broadcast's publishing rate (issue 19), messages a second.
const PACED_RATE: u32 = 20;

fn plan(mode: Mode) -> Vec<Scenario> {
    use Peer::*;
    // The histogram-less variant only where per-message costs show: echo, pipelined.
    // wirehub-history and wirehub-redis differ only in their room: they run broadcasts.
    let all: Vec<Peer> = Peer::ALL.into_iter().filter(|p| !matches!(p, WirehubHistory | WirehubRedis)).collect();
    let most: Vec<Peer> = all.iter().copied().filter(|p| *p != WirehubNoTiming).collect();
    let rooms = vec![Wirehub, WirehubHistory, Fastws, Baseline4k, Baseline2k, Baseline, Node];
    let paced = vec![Wirehub, Baseline4k, Baseline2k, Node];
    // In-process wirehub alongside, so that the ratio is taken round by round.
    let redis = vec![Wirehub, WirehubRedis];
    let sizes = Sizes::of(mode);
    let (subs_a, subs_b) = sizes.subs;
    let (pipe_conns, depth) = sizes.pipe;
    let scenario = |key, title: String, kind, servers: &Vec<Peer>, timing| Scenario {
        key,
        title,
        kind,
        servers: servers.clone(),
        timing,
        rounds: sizes.rounds,
    };
    let burst = |subs, window| Kind::Broadcast(Fanout { subs, window, rate: None });
    vec![
        scenario(
            "echo",
            format!("echo request/response: {} connections, 64 B binary", sizes.echo_conns),
            Kind::Echo { conns: sizes.echo_conns, size: 64 },
            &all,
            sizes.timing,
        ),
        scenario(
            "pipelined",
            format!("pipelined echo: {pipe_conns} connections x {depth} in flight, 64 B"),
            Kind::Pipelined { conns: pipe_conns, size: 64, depth },
            &all,
            sizes.timing,
        ),
        scenario(
            "broadcast-100",
            format!("broadcast fan-out: 1 publisher -> {subs_a} subscribers, 64 B"),
            burst(subs_a, 64),
            &rooms,
            sizes.timing,
        ),
        scenario(
            "broadcast-1000",
            format!("issue 3: 1 publisher -> {subs_b} subscribers in one room, 64 B"),
            burst(subs_b, 32),
            &rooms,
            sizes.timing,
        ),
        Scenario {
            rounds: sizes.paced_rounds,
            ..scenario(
                "broadcast-paced",
                format!(
                    "issue 19: 1 publisher at {PACED_RATE} msg/s -> {} subscribers for {} s, 64 B",
                    sizes.paced_subs,
                    sizes.paced.measure.as_secs_f64()
                ),
                Kind::Broadcast(Fanout { subs: sizes.paced_subs, window: 32, rate: Some(PACED_RATE) }),
                &paced,
                sizes.paced,
            )
        },
        scenario(
            "broadcast-redis",
            format!(
                "issue 19: 1 publisher on instance A -> {subs_b} subscribers on instance B through redis-server, 64 B"
            ),
            burst(subs_b, 32),
            &redis,
            sizes.timing,
        ),
        scenario(
            "connrate",
            format!("connection rate: {} workers, upgrade then close", sizes.workers),
            Kind::ConnRate { workers: sizes.workers },
            &most,
            sizes.short,
        ),
        Scenario {
            rounds: 1,
            ..scenario(
                "idle",
                format!("idle memory: {} open connections", sizes.idle),
                Kind::Idle { conns: sizes.idle },
                &most,
                sizes.short,
            )
        },
    ]
}

/// The scenarios' keys, in plan order (`--only`).
pub(crate) fn scenario_keys() -> Vec<&'static str> {
    plan(Mode::Full).iter().map(|s| s.key).collect()
}

/// Where a run's load goes: the port of the subscribers and echo clients,
/// the publisher's port, the room's path.
#[derive(Debug, Clone, Copy)]
struct Target<'a> {
    port: u16,
    publish_port: u16,
    room: &'a str,
}

/// Runs `kind` against `target`, reading the processes in `watch`.
async fn run_one(kind: Kind, timing: Timing, target: Target<'_>, watch: &Watch) -> Res<Vec<Figure>> {
    let port = target.port;
    match kind {
        Kind::Echo { conns, size } => load::echo(port, conns, size, timing, watch).await,
        Kind::Pipelined { conns, size, depth } => load::pipelined(port, (conns, size, depth), timing, watch).await,
        Kind::Broadcast(shape) => {
            fanout::broadcast((port, target.publish_port), target.room, shape, timing, watch).await
        }
        Kind::ConnRate { workers } => load::connrate(port, workers, timing.warmup + timing.measure, watch).await,
        Kind::Idle { conns } => match watch.rss {
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
    // Without redis-server the cross-instance scenario is left out whole
    // (its in-process half is broadcast-1000 again).
    scenarios.retain(|s| {
        let runs = !s.servers.contains(&Peer::WirehubRedis) || launcher.available(Peer::WirehubRedis);
        if !runs {
            println!("skipping {}: redis-server is not installed", s.key);
        }
        runs
    });
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
            let targets = crate::targets::targets(&summaries);
            crate::targets::print(&targets);
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
    let target = Target { port: server.port, publish_port: server.publish_port, room: peer.room_path() };
    let figures = run_one(scenario.kind, scenario.timing, target, &server.watch()).await;
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
    let fanout = |rate| {
        let subs = conns.unwrap_or(1000);
        Kind::Broadcast(Fanout { subs, window: if subs >= 1000 { 32 } else { 64 }, rate })
    };
    let kind = match flag(args, "--scenario").unwrap_or("echo") {
        "echo" => Kind::Echo { conns: conns.unwrap_or(50), size: 64 },
        "pipelined" => Kind::Pipelined { conns: conns.unwrap_or(16), size: 64, depth: 32 },
        "broadcast" => fanout(None),
        "broadcast-paced" => fanout(Some(flag(args, "--rate").map(str::parse).transpose()?.unwrap_or(PACED_RATE))),
        "connrate" => Kind::ConnRate { workers: conns.unwrap_or(16) },
        "idle" => Kind::Idle { conns: conns.unwrap_or(10_000) },
        other => return fail(format!("unknown scenario {other:?}")),
    };
    // --publish-port Q: the publisher on another instance (cross-instance fan-out).
    let publish_port: u16 = flag(args, "--publish-port").map(str::parse).transpose()?.unwrap_or(port);
    // --room /hroom: the room with history (bench_server).
    let room = flag(args, "--room").unwrap_or("/room");
    let figures = run_one(kind, timing, Target { port, publish_port, room }, &Watch::one(pid)).await?;
    println!("{}", report::inline(&figures));
    Ok(())
}
