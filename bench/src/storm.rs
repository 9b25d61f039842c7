//! The presence storm (issue 20): `wirehub-bench storm [--members N]`.
//!
//! N members (10 000 by default) join one room of `bench_server`, then
//! leave, on three routes, each in a fresh server process:
//! `/storm-off` (no presence), `/storm` (`presence = true`, the default
//! `presence_limit` of 1000: counts only above it) and `/storm-lists`
//! (`presence_limit = 1000000`: every member is told every identity). Each
//! member's client reads everything the server sends and keeps the count
//! its last presence message gave; after the ramp every member's view must
//! be N (checked: the run fails otherwise).
//!
//! Figures per route: ramp rate (connections opened per second, 128
//! handshakes in flight), connect p99, the time until every view is right,
//! RSS with all open, RSS peak while they leave. The targets compare
//! `/storm` with `/storm-off`: ramp rate >= 50 %, RSS with all open <= 2x.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::load::connect;
use crate::procfs::rss_kib;
use crate::servers::{Launcher, Peer};
use crate::{fail, flag, Res};

/// What one route's storm measured.
#[derive(Debug, Clone, Copy)]
struct Storm {
    ramp_per_s: f64,
    connect_p99_ms: f64,
    settle_ms: f64,
    rss_open_mib: f64,
    rss_leave_peak_mib: f64,
    baseline_mib: f64,
}

/// `storm`: the three routes, then the ratios and whether the targets hold.
pub(crate) async fn run(args: &[String]) -> Res<()> {
    let members: usize = flag(args, "--members").unwrap_or("10000").parse()?;
    let routes: Vec<&str> = match flag(args, "--routes") {
        Some(list) => list.split(',').collect(),
        None => vec!["/storm-off", "/storm", "/storm-lists"],
    };
    let (launcher, _) = Launcher::prepare(false)?;
    let mut results = Vec::new();
    for route in &routes {
        let mut server = launcher.start(Peer::Wirehub).await?;
        let storm = storm(server.port, server.pid(), route, members).await;
        server.check_alive()?;
        match storm {
            Ok(s) => {
                println!(
                    "{route:<13} ramp {:>8.0}/s  connect p99 {:>7.1} ms  views right after {:>7.0} ms  RSS open {:>6.1} MiB (+{:.2} KiB/member)  leave peak {:>6.1} MiB",
                    s.ramp_per_s,
                    s.connect_p99_ms,
                    s.settle_ms,
                    s.rss_open_mib,
                    (s.rss_open_mib - s.baseline_mib) * 1024.0 / members as f64,
                    s.rss_leave_peak_mib
                );
                results.push((*route, s));
            }
            Err(e) => println!("{route:<13} FAILED: {e}"),
        }
    }
    let find = |r: &str| results.iter().find(|(route, _)| *route == r).map(|(_, s)| *s);
    let Some(off) = find("/storm-off") else { return Ok(()) };
    let mut failed = Vec::new();
    for route in ["/storm", "/storm-lists"] {
        let Some(on) = find(route) else { continue };
        let ramp = on.ramp_per_s / off.ramp_per_s;
        let rss = (on.rss_open_mib - on.baseline_mib) / (off.rss_open_mib - off.baseline_mib).max(0.001);
        println!("{route} vs /storm-off: ramp rate {:.0} % (target >= 50 %), RSS growth with all open {rss:.2}x (target <= 2x)", ramp * 100.0);
        if route == "/storm" && (ramp < 0.5 || rss > 2.0) {
            failed.push(format!("{route}: ramp {:.0} %, RSS {rss:.2}x", ramp * 100.0));
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        fail(format!("storm targets missed: {}", failed.join("; ")))
    }
}

/// One storm on `route`: ramp, settle (every view right), RSS, leave.
async fn storm(port: u16, pid: u32, route: &str, members: usize) -> Res<Storm> {
    tokio::time::sleep(Duration::from_millis(200)).await;
    let baseline = rss_kib(pid)?;
    let right = Arc::new(AtomicUsize::new(0));
    let presence = route != "/storm-off";
    let started = Instant::now();
    let mut connect_ms = Vec::with_capacity(members);
    let mut closers = Vec::with_capacity(members);
    let mut opening = futures_util::stream::iter(0..members)
        .map(|_| async {
            let t = Instant::now();
            let ws = connect(port, route).await;
            (t.elapsed(), ws)
        })
        .buffer_unordered(128);
    while let Some((took, ws)) = opening.next().await {
        connect_ms.push(took.as_secs_f64() * 1000.0);
        let (close, reader) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(member(ws?, members as u64, right.clone(), reader));
        closers.push(close);
    }
    let ramp = started.elapsed();
    if presence {
        let deadline = Instant::now() + Duration::from_secs(60);
        while right.load(Ordering::Acquire) < members {
            if Instant::now() > deadline {
                return fail(format!("{} of {members} views right after 60 s", right.load(Ordering::Acquire)));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let settle = started.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let open = rss_kib(pid)?;
    let leave_started = Instant::now();
    drop(closers);
    let mut peak = open;
    while leave_started.elapsed() < Duration::from_secs(3) {
        peak = peak.max(rss_kib(pid)?);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    connect_ms.sort_by(f64::total_cmp);
    let p99 = connect_ms.get(connect_ms.len() * 99 / 100).copied().unwrap_or_default();
    let mib = |kib: u64| kib as f64 / 1024.0;
    Ok(Storm {
        ramp_per_s: members as f64 / ramp.as_secs_f64(),
        connect_p99_ms: p99,
        settle_ms: settle.as_secs_f64() * 1000.0,
        rss_open_mib: mib(open),
        rss_leave_peak_mib: mib(peak),
        baseline_mib: mib(baseline),
    })
}

/// A member: reads everything, counts into `right` when its view reaches
/// `expected` identities, closes when `close` fires (or is dropped).
async fn member(
    mut ws: crate::load::Ws,
    expected: u64,
    right: Arc<AtomicUsize>,
    mut close: tokio::sync::oneshot::Receiver<()>,
) {
    let mut counted = false;
    loop {
        tokio::select! {
            _ = &mut close => break,
            message = ws.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let Some(count) = count_of(text.as_bytes()) else { continue };
                    if (count == expected) != counted {
                        counted = count == expected;
                        if counted { right.fetch_add(1, Ordering::AcqRel) } else { right.fetch_sub(1, Ordering::AcqRel) };
                    }
                }
                Some(Ok(_)) => {}
                _ => return,
            },
        }
    }
    let _ = ws.send(Message::Close(None)).await;
}

/// The `count` of a presence message (`"count":N`, always before the lists).
fn count_of(text: &[u8]) -> Option<u64> {
    let at = text.windows(8).position(|w| w == b"\"count\":")? + 8;
    let digits = text[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&text[at..at + digits]).ok()?.parse().ok()
}
