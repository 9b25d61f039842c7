//! `wirehub-bench kit`: the test kit (`wirehub::testing`, in-memory pipes)
//! against the same test over TCP, in one process.
//!
//! Both sides serve the same app (`/echo`, built the same way; the per-IP
//! handshake rate off, since thousands of connects a second from one
//! address are the point), and run the same test body on a tokio runtime
//! of the kind `#[tokio::test]` uses (current-thread; `--multi` for two
//! workers): connect, `--trips` echo round trips of a 64-byte text, close
//! with a close handshake. The TCP client is tokio-tungstenite on
//! 127.0.0.1:0 with TCP_NODELAY, as in the integration tests. A
//! connect-only pass (connect, close) separates the two costs. Each figure
//! is the median over `--rounds` rounds of `--conns` sequential tests,
//! the sides alternating within each round. TCP runs twice: with
//! tokio-tungstenite's default client config, as the integration tests
//! connect (`tcp`), and with the kit's client config (`tcp-4k`), so the
//! transport alone differs. `--profile kit|tcp|tcp-4k` runs one side only,
//! `--conns` x `--rounds` times, for `perf record`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use wirehub::testing::TestServer;
use wirehub::App;

use crate::{fail, flag, Res};

/// The route both transports serve.
#[wirehub::ws_route("/echo", heartbeat = "off")]
async fn echo(text: String) -> String {
    text
}

/// The payload of every round trip.
const PAYLOAD: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// Who runs the test body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// The test kit (in-memory pipe).
    Kit,
    /// TCP, tokio-tungstenite's default client config, as `tests/common`
    /// connects (its read chunk is 128 KiB, zero-filled before each read).
    Tcp,
    /// TCP with the kit's client config (a 4 KiB read chunk): the transport
    /// alone differs from the kit.
    TcpSmall,
}

impl Side {
    const ALL: [Side; 3] = [Side::Kit, Side::Tcp, Side::TcpSmall];

    fn name(self) -> &'static str {
        match self {
            Side::Kit => "kit",
            Side::Tcp => "tcp",
            Side::TcpSmall => "tcp-4k",
        }
    }
}

/// Nanoseconds per test, of one round: `[side][full, connect-only]`.
type Round = [[f64; 2]; 3];

/// Runs the comparison and prints it; fails when a kit round trip is not 5
/// times faster than the same over TCP as the integration tests connect.
pub(crate) fn run(args: &[String]) -> Res<()> {
    let conns: usize = flag(args, "--conns").map(str::parse).transpose()?.unwrap_or(200);
    let trips: usize = flag(args, "--trips").map(str::parse).transpose()?.unwrap_or(100);
    let rounds: usize = flag(args, "--rounds").map(str::parse).transpose()?.unwrap_or(5);
    let multi = args.iter().any(|a| a == "--multi");
    let runtime = match multi {
        true => tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?,
        false => tokio::runtime::Builder::new_current_thread().enable_all().build()?,
    };
    let servers = runtime.block_on(Servers::start())?;
    if let Some(name) = flag(args, "--profile") {
        let Some(side) = Side::ALL.into_iter().find(|s| s.name() == name) else {
            return fail(format!("--profile kit|tcp|tcp-4k, not {name:?}"));
        };
        return runtime.block_on(async {
            for _ in 0..conns * rounds {
                servers.test(side, trips).await?;
            }
            Ok(())
        });
    }
    let results = runtime.block_on(servers.measure(conns, trips, rounds))?;
    report(&results, conns, trips, multi)
}

fn app() -> App {
    App::empty().route("/echo").config(|c| c.handshake_rate_per_ip = None)
}

/// The same app, built for the kit and started on a port.
struct Servers {
    kit: TestServer,
    addr: SocketAddr,
    _tcp: wirehub::Server,
}

impl Servers {
    async fn start() -> Res<Servers> {
        let tcp = app().bind("127.0.0.1:0").start().await?;
        Ok(Servers { kit: TestServer::new(app()).await?, addr: tcp.local_addr(), _tcp: tcp })
    }

    /// One test body: connect, `trips` round trips, close.
    async fn test(&self, side: Side, trips: usize) -> Res<()> {
        match side {
            Side::Kit => kit_test(&self.kit, trips).await,
            Side::Tcp => tcp_test(self.addr, trips, None).await,
            Side::TcpSmall => tcp_test(self.addr, trips, Some(WebSocketConfig::default().read_buffer_size(4096))).await,
        }
    }

    async fn measure(&self, conns: usize, trips: usize, rounds: usize) -> Res<Vec<Round>> {
        // Warm-up: allocators, lazy statics, the first connection's metric handles.
        for _ in 0..20 {
            for side in Side::ALL {
                self.test(side, trips).await?;
            }
        }
        let mut results = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let mut round = Round::default();
            for (i, side) in Side::ALL.into_iter().enumerate() {
                round[i] =
                    [per_test(conns, || self.test(side, trips)).await?, per_test(conns, || self.test(side, 0)).await?];
            }
            results.push(round);
        }
        Ok(results)
    }
}

/// Nanoseconds per test, over `conns` tests run one after the other.
async fn per_test<F, Fut>(conns: usize, test: F) -> Res<f64>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Res<()>>,
{
    let start = Instant::now();
    for _ in 0..conns {
        test().await?;
    }
    Ok(start.elapsed().as_nanos() as f64 / conns as f64)
}

/// The test body with the kit.
async fn kit_test(kit: &TestServer, trips: usize) -> Res<()> {
    let mut client = kit.connect("/echo").await?;
    for _ in 0..trips {
        client.send_text(PAYLOAD).await?;
        if client.recv_text().await? != PAYLOAD {
            return fail("kit: wrong echo");
        }
    }
    client.close().await?;
    Ok(())
}

/// The same test body over TCP.
async fn tcp_test(addr: SocketAddr, trips: usize, config: Option<WebSocketConfig>) -> Res<()> {
    let limit = Duration::from_secs(5);
    let url = format!("ws://{addr}/echo");
    let connect = tokio_tungstenite::connect_async_with_config(url, config, true);
    let (mut ws, _) = tokio::time::timeout(limit, connect).await??;
    for _ in 0..trips {
        tokio::time::timeout(limit, ws.send(WsMessage::text(PAYLOAD))).await??;
        match tokio::time::timeout(limit, ws.next()).await? {
            Some(Ok(WsMessage::Text(text))) if text.as_str() == PAYLOAD => {}
            other => return fail(format!("tcp: wrong echo {other:?}")),
        }
    }
    tokio::time::timeout(limit, ws.close(None)).await??;
    // Until the server's close answer (and its end of the stream).
    while let Some(frame) = tokio::time::timeout(limit, ws.next()).await? {
        if frame.is_err() {
            break;
        }
    }
    Ok(())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn report(results: &[Round], conns: usize, trips: usize, multi: bool) -> Res<()> {
    let pick = |side: usize, what: usize| median(results.iter().map(|r| r[side][what]).collect());
    let per_trip = |side: usize| (pick(side, 0) - pick(side, 1)).max(0.0) / trips.max(1) as f64;
    let runtime = if multi { "multi-thread, 2 workers" } else { "current-thread, as #[tokio::test]" };
    println!("test kit (in-memory) vs TCP (127.0.0.1), {runtime} runtime; medians of {} rounds", results.len());
    println!("{conns} sequential tests each: connect, {trips} echo round trips of {} bytes, close", PAYLOAD.len());
    println!(
        "tcp: tokio-tungstenite's default client (as tests/common); tcp-4k: the kit's client config (4 KiB reads)"
    );
    println!("{:<32} {:>11} {:>11} {:>11} {:>8} {:>8}", "", "kit", "tcp", "tcp-4k", "tcp/kit", "4k/kit");
    let row = |name: &str, [kit, tcp, small]: [f64; 3]| {
        let us = |ns: f64| format!("{:.1} µs", ns / 1e3);
        println!(
            "{name:<32} {:>11} {:>11} {:>11} {:>7.1}x {:>7.1}x",
            us(kit),
            us(tcp),
            us(small),
            tcp / kit,
            small / kit
        );
    };
    row(&format!("connect + {trips} round trips + close"), [pick(0, 0), pick(1, 0), pick(2, 0)]);
    row("connect + close", [pick(0, 1), pick(1, 1), pick(2, 1)]);
    let trip = [per_trip(0), per_trip(1), per_trip(2)];
    row("one round trip", trip);
    if trips > 0 && trip[1] / trip[0] < 5.0 {
        return fail(format!("a kit round trip is only {:.1}x faster than over TCP (the goal: 5x)", trip[1] / trip[0]));
    }
    Ok(())
}
