//! Benchmark target: `cargo run --release --example bench_server` serves on
//! 127.0.0.1:8000 (env `HOST` and `PORT` override), with the runtime's production
//! defaults (heartbeat, timeouts, `on_full = "close"`, 4 KiB read chunk):
//!
//! - `/echo`: every text and binary message echoed back unchanged (up to 16 MiB);
//! - `/room`: one room; every text or binary message reaches every *other*
//!   connection on `/room` unchanged (same frame kind, same bytes);
//! - `/storm`, `/storm-lists`, `/storm-off`: one room each, with presence
//!   events (counts only above 1000 identities; always lists) and without.
//! - `/hroom`: the same with room history (`history = 100`).
//!
//! With `WIREHUB_MOUNT=axum` the same app is mounted in an axum router
//! (`Embedded::router`, served by `axum::serve` with connect info and
//! TCP_NODELAY, as an axum app would): what embedding costs.
//!
//! The load generator in `bench/` (`cargo run --release -p wirehub-bench -- full`)
//! starts this binary as a child process so that its RSS can be measured.

use wirehub::prelude::*;

/// Echoes every text and binary message back unchanged.
#[ws_route("/echo", max_message = "16MiB")]
async fn echo(msg: Message) -> Option<Message> {
    match msg {
        Message::Text(_) | Message::Binary(_) => Some(msg),
        _ => None,
    }
}

/// Relays every text and binary message to the other members of the room.
///
/// `queue = 65536`: the fan-out benchmarks publish as fast as the slowest
/// subscriber keeps up (a bounded window of messages in flight), but with a
/// thousand subscribers on two shared cores one subscriber's task can be
/// descheduled for a while and fall tens of thousands of messages behind the
/// publisher's connection for a moment. With the default queue (1024) and
/// `on_full = "close"`, the runtime would rightly close that slow consumer
/// with 1013, and the benchmark would measure drops instead of throughput.
/// The naive peers it is compared with use unbounded queues, so a large
/// bound keeps the comparison about fan-out speed. Memory is not at stake:
/// the queue is a bound, not a preallocation.
#[ws_route("/room", broadcast = "room", exclude_sender = true, queue = 65536)]
async fn room(msg: Message) -> Option<Message> {
    match msg {
        Message::Text(_) | Message::Binary(_) => Some(msg),
        _ => None,
    }
}

/// The presence storm (issue 20, `wirehub-bench storm`): one room with
/// presence events (the default `presence_limit`: counts only above 1000
/// identities).
#[ws_route("/storm", broadcast = "storm", presence = true)]
async fn storm(_text: String) {}

/// The same room listing every identity to every member, however many.
#[ws_route("/storm-lists", broadcast = "storm-lists", presence = true, presence_limit = 1000000)]
async fn storm_lists(_text: String) {}

/// The same room without presence.
#[ws_route("/storm-off", broadcast = "storm-off")]
async fn storm_off(_text: String) {}

/// `/room` with room history: every message gets a position and the room
/// keeps its last 100 (what history costs a broadcast: the benchmark's
/// `wirehub-history` server).
#[ws_route("/hroom", broadcast = "hroom", exclude_sender = true, queue = 65536, history = 100)]
async fn history_room(msg: Message) -> Option<Message> {
    match msg {
        Message::Text(_) | Message::Binary(_) => Some(msg),
        _ => None,
    }
}

#[tokio::main]
async fn main() -> wirehub::Result<()> {
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PORT").unwrap_or_else(|_| "8000".into());
    println!("bench server on ws://{host}:{port}/echo and ws://{host}:{port}/room");
    // WIREHUB_METRICS=off: the same server without metrics, to measure their cost.
    let metrics = std::env::var("WIREHUB_METRICS").map_or(true, |v| v != "off");
    // WIREHUB_HANDLER_TIMING=off: metrics without the handler duration histogram.
    let timing = std::env::var("WIREHUB_HANDLER_TIMING").map_or(true, |v| v != "off");
    let mut app = wirehub::App::new().bind(format!("{host}:{port}")).config(|c| {
        c.metrics = metrics;
        c.handler_timing = timing;
        // The load generator opens every connection from 127.0.0.1 (connrate, idle).
        c.handshake_rate_per_ip = None;
    });
    // WIREHUB_REDIS_URL: share `/room` with other instances (cross-instance fan-out).
    if let Some(redis) = wirehub::backplane::Redis::from_env() {
        app = app.backplane(redis);
    }
    if std::env::var("WIREHUB_MOUNT").is_ok_and(|v| v == "axum") {
        return serve_in_axum(app, &format!("{host}:{port}")).await;
    }
    app.serve().await
}

/// The app's routes merged into an axum router on an axum-owned listener.
async fn serve_in_axum(app: wirehub::App, addr: &str) -> wirehub::Result<()> {
    use axum::serve::ListenerExt;

    let ws = app.build().await?;
    let router: axum::Router = axum::Router::new().merge(ws.router());
    let listener = tokio::net::TcpListener::bind(addr).await?.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service).with_graceful_shutdown(wirehub::shutdown_signal()).await?;
    ws.shutdown().await;
    Ok(())
}
