//! A ping flood from a peer that never reads (issue 18): the server's
//! resident memory must not follow the pongs it owes. Its own test binary,
//! one test, so nothing else in the process moves the RSS it measures.
//!
//! Two routes with `heartbeat = "off"` (no heartbeat write timeout ever
//! drops the peer): with the default control budget the flood is closed
//! with 1008 after a burst; with a budget too large to matter, tungstenite's
//! bounded write buffer (`max_write_buffer`) drops the pongs that do not fit.
//! Either way, 15 MB of pings grow the server by less than 4 MiB.

mod common;
mod raw;

use std::time::Duration;

use common::{sample, scrape, spawn_prefix, within};
use raw::{Client, Frame};
use wirehub::prelude::*;
use wirehub::Server;

#[ws_route("/flood/budget", heartbeat = "off")]
async fn flood_budget(_t: String) {}

#[ws_route("/flood/buffer", heartbeat = "off", control_rate = "1000000/s")]
async fn flood_buffer(t: String) -> String {
    t
}

/// What the flood sends: 15 MB of pings with 125-byte payloads.
const FLOOD: usize = 15_000_000;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS in /proc/self/status")
}

/// Writes `FLOOD` bytes of pings from one pre-encoded chunk (the client
/// allocates nothing per ping); returns the pings written before the server
/// closed the connection (a write error), or all of them.
async fn flood(client: &mut Client) -> usize {
    let one = Frame::ping(vec![b'p'; 125]).encode();
    let per_chunk = (64 * 1024) / one.len();
    let chunk: Vec<u8> = one.iter().copied().cycle().take(one.len() * per_chunk).collect();
    let mut sent = 0;
    while sent * one.len() < FLOOD {
        if client.write_raw(&chunk).await.is_err() {
            break;
        }
        sent += per_chunk;
    }
    sent
}

async fn pings_received(server: &Server, route: &str) -> f64 {
    let samples = scrape(server.local_addr()).await;
    sample(&samples, "wirehub_messages_received_total", &[("route", route), ("kind", "ping")]).unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_flood_from_a_peer_that_never_reads_keeps_the_server_small() {
    let server = spawn_prefix("/flood/", wirehub::App::new()).await;
    let addr = server.local_addr();
    // Warm up: the first connection, scrape and frame allocate what stays.
    let mut warm = Client::connect(addr, "/flood/buffer").await;
    warm.send(Frame::text("warm")).await;
    assert!(matches!(warm.recv_data().await, Ok(raw::Data::Text(_))));
    drop(warm);
    let _ = pings_received(&server, "/flood/buffer").await;

    // The default budget: closed with 1008 long before 15 MB.
    let before = rss_kib();
    let mut client = Client::connect(addr, "/flood/budget").await;
    let sent = flood(&mut client).await;
    eventually_closed(&server, "/flood/budget", "rate_limited").await;
    let grown = rss_kib().saturating_sub(before);
    println!("control budget: {sent} pings written before the close; server RSS grew {grown} KiB");
    assert!(grown < 4096, "RSS grew {grown} KiB under a ping flood closed by the control budget");
    drop(client);

    // No budget to speak of: the write buffer bound holds.
    let before = rss_kib();
    let mut client = Client::connect(addr, "/flood/buffer").await;
    let sent = flood(&mut client).await;
    assert!(sent * 131 >= FLOOD, "the whole flood was written: {sent} pings");
    within(async {
        while pings_received(&server, "/flood/buffer").await < sent as f64 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let grown = rss_kib().saturating_sub(before);
    println!("write buffer bound: {sent} pings read by the server; server RSS grew {grown} KiB");
    assert!(grown < 4096, "RSS grew {grown} KiB while the server owed {sent} pongs to a peer that never reads");
    drop(client);
}

async fn eventually_closed(server: &Server, route: &str, reason: &str) {
    let addr = server.local_addr();
    within(async {
        loop {
            let samples = scrape(addr).await;
            let closed = sample(&samples, "wirehub_connections_closed_total", &[("route", route), ("reason", reason)]);
            if closed == Some(1.0) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}
