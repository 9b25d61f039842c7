//! `wirehub-bench`: the benchmark suite of wirehub.
//!
//! A load generator (tokio + tokio-tungstenite) drives servers that run as
//! separate child processes (so that their memory and CPU time can be read
//! from `/proc`): wirehub's `bench_server` example (also as two instances
//! on a `redis-server`), a naive plain tokio-tungstenite server, a
//! fastwebsockets server and an axum server (subcommands of this binary),
//! and Node's `ws` (`bench/node/server.js`). Every scenario alternates the
//! servers round by round in one invocation and reports medians and the
//! median of the per-round wirehub/peer ratios.
//!
//! ```text
//! cargo run --release -p wirehub-bench -- full     # ~12 min: bench/results/results.md + chart.svg
//! cargo run --release -p wirehub-bench -- smoke    # a few seconds, for CI: prints "smoke ok"
//! wirehub-bench full --only echo,broadcast-1000 --servers wirehub,tokio-tungstenite
//! wirehub-bench drive --port 8000 --scenario echo --secs 10   # load an external server (profiling)
//! wirehub-bench serve-baseline --port 9000          # the plain tokio-tungstenite peer
//! wirehub-bench serve-fastws --port 9002            # the fastwebsockets peer
//! wirehub-bench serve-axum --port 9001              # the axum peer
//! wirehub-bench kit                                 # the test kit vs the same test over TCP
//! wirehub-bench storm                               # presence storm: 10 000 join one room, on vs off
//! ```

mod fanout;
mod fastws;
mod kit;
mod load;
mod peers;
mod procfs;
mod redis;
mod report;
mod servers;
mod storm;
mod suite;
mod targets;

use std::process::ExitCode;

/// Boxed error used throughout the bench.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// Result with a boxed error.
pub(crate) type Res<T> = Result<T, BoxError>;

/// Builds an error from a message.
pub(crate) fn fail<T>(message: impl Into<String>) -> Res<T> {
    Err(message.into().into())
}

const USAGE: &str = "usage: wirehub-bench <command>
  full  [--only s1,s2] [--servers a,b] [--rounds N] [--out DIR]
                                                      run every scenario, write bench/results/ (or DIR)
  smoke                                               a few seconds, asserts correctness, prints \"smoke ok\"
  drive --port P --scenario echo|pipelined|broadcast|broadcast-paced|connrate|idle [--secs S] [--conns N]
        [--pid PID] [--publish-port Q] [--room /hroom] [--rate MSGS_PER_S]
                                                      load an already running server (for profiling;
                                                      --pid adds its CPU time and memory)
  serve-baseline --port P [--read-buffer BYTES] [--fault drop|duplicate|echo-sender]
                                                      plain tokio-tungstenite server (/echo, /room);
                                                      --fault breaks its room on the 50th binary message
  serve-fastws --port P                               fastwebsockets server (/echo, /room)
  serve-axum --port P                                 axum WebSocket server (/echo)
  storm [--members N] [--routes /storm-off,/storm,/storm-lists]
                                                      issue 20: N members join one room then leave, presence
                                                      on vs off; ramp rate and RSS ratios, every view checked
  kit [--conns N] [--trips N] [--rounds N] [--multi] [--profile kit|tcp]
                                                      the test kit (wirehub::testing) vs the same test
                                                      over TCP, in process; fails below 5x per round trip";

/// The usage text, with the scenarios and servers as the plan and the
/// server table name them.
fn usage() -> String {
    format!("{USAGE}\n\nscenarios: {}\nservers:   {}", suite::scenario_keys().join(", "), servers::Peer::names())
}

fn main() -> ExitCode {
    // 10 000 idle connections need file descriptors on both sides; the
    // server processes inherit the raised limit from this one.
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("warning: could not raise RLIMIT_NOFILE: {e}");
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = args.first() else {
        eprintln!("{}", usage());
        return ExitCode::from(2);
    };
    let rest = &args[1..];
    let result = match command.as_str() {
        "full" => runtime().and_then(|rt| rt.block_on(suite::run(suite::Mode::Full, rest))),
        "smoke" => runtime().and_then(|rt| rt.block_on(suite::run(suite::Mode::Smoke, rest))),
        "drive" => runtime().and_then(|rt| rt.block_on(suite::drive(rest))),
        "serve-baseline" => port_arg(rest).and_then(|port| {
            let read_buffer = flag(rest, "--read-buffer").map(str::parse).transpose()?;
            let fault = flag(rest, "--fault").map(peers::Fault::parse).transpose()?.unwrap_or(peers::Fault::None);
            runtime()?.block_on(peers::serve_baseline(port, read_buffer, fault))
        }),
        "kit" => kit::run(rest),
        "storm" => runtime().and_then(|rt| rt.block_on(storm::run(rest))),
        "serve-fastws" => port_arg(rest).and_then(|port| runtime()?.block_on(fastws::serve_fastws(port))),
        "serve-axum" => port_arg(rest).and_then(|port| runtime().and_then(|rt| rt.block_on(peers::serve_axum(port)))),
        "-h" | "--help" | "help" => {
            println!("{}", usage());
            Ok(())
        }
        other => {
            eprintln!("unknown command {other:?}\n{}", usage());
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wirehub-bench: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A multi-threaded tokio runtime with the default number of workers (one
/// per core), like `#[tokio::main]` in the servers under test.
fn runtime() -> Res<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

/// The value following `name` in `args`.
pub(crate) fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(String::as_str)
}

fn port_arg(args: &[String]) -> Res<u16> {
    match flag(args, "--port") {
        Some(port) => Ok(port.parse()?),
        None => fail("--port P is required"),
    }
}
