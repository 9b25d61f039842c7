//! Room history shared through Redis Streams, against a real `redis-server`
//! started by each test on a free port (skipped, with one line, when it is
//! not installed outside CI): recovery on another instance, the epoch kept
//! across an instance restart and changed when the stream is lost, the
//! seam under concurrent publishing on two instances with reconnects, and
//! live delivery (with "not recovered") once Redis is killed.
//!
//! Every route of this file lives under `/hr/`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::redis::{prefix, RedisServer};
use common::{connect, recv_text, send, within, Client};
use serde_json::{json, Value};
use tokio::sync::Semaphore;
use wirehub::backplane::Redis;
use wirehub::prelude::*;
use wirehub::{Position, Server};

/// Publishes each text to the room with its position.
#[ws_route("/hr/room/{room}", broadcast = "hr:{room}", history = 50, history_ttl = "5m")]
async fn room(conn: Conn, text: String) {
    if let Some(room) = conn.room() {
        conn.hub().publish(room, |pos| Json(json!({"text": text, "pos": pos})));
    }
}

/// The seam: every message stays in history, and no queue overflows.
#[ws_route("/hr/seam", broadcast = "hr:seam", history = 5000, queue = 8000)]
async fn seam(conn: Conn, text: String) {
    if let Some(room) = conn.room() {
        conn.hub().publish(room, |pos| Json(json!({"text": text, "pos": pos})));
    }
}

async fn instance(url: &str, prefix: &str) -> Server {
    let backplane = Redis::connect(url).prefix(prefix);
    let app = App::new().routes(|p| p.starts_with("/hr/")).backplane(backplane).config(|c| c.heartbeat = None);
    common::spawn(app).await
}

async fn recv_json(ws: &mut Client) -> Value {
    let text = recv_text(ws).await;
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn pos_of(message: &Value) -> Position {
    message["pos"].as_str().and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("no position: {message}"))
}

fn epoch_of(pos: Position) -> String {
    pos.to_string().split_once('-').map(|(e, _)| e.to_owned()).unwrap_or_default()
}

/// Sends `text` and reads it back from the room: its position.
async fn say(ws: &mut Client, text: &str) -> Position {
    send(ws, text).await;
    let echo = recv_json(ws).await;
    assert_eq!(echo["text"], text, "{echo}");
    pos_of(&echo)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_recovers_on_another_instance_then_goes_live() {
    let Some(redis) = RedisServer::start().await else { return };
    let p = prefix();
    let (a, b) = (instance(&redis.url(), &p).await, instance(&redis.url(), &p).await);
    let mut ann = connect(a.local_addr(), "/hr/room/x").await;
    let one = say(&mut ann, "one").await;
    assert_eq!(one.offset(), 1);
    for (text, offset) in [("two", 2), ("three", 3)] {
        assert_eq!(say(&mut ann, text).await.offset(), offset);
    }
    let mut bob = connect(b.local_addr(), &format!("/hr/room/x?since={one}")).await;
    assert_eq!(recv_json(&mut bob).await, json!({"type": "recovered", "ok": true, "missed": 2}));
    for (text, offset) in [("two", 2), ("three", 3)] {
        let missed = recv_json(&mut bob).await;
        assert_eq!((&missed["text"], pos_of(&missed)), (&json!(text), at(one, offset)), "{missed}");
    }
    let four = say(&mut ann, "four").await;
    assert_eq!(four, at(one, 4), "one offset sequence across instances");
    assert_eq!(pos_of(&recv_json(&mut bob).await), four, "live follows on the other instance");
    let five = say(&mut bob, "five").await;
    assert_eq!(five, at(one, 5));
    assert_eq!(pos_of(&recv_json(&mut ann).await), five);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_epoch_outlives_an_instance_restart_but_not_the_stream() {
    let Some(redis) = RedisServer::start().await else { return };
    let p = prefix();
    let a = instance(&redis.url(), &p).await;
    let mut ann = connect(a.local_addr(), "/hr/room/e").await;
    let first = say(&mut ann, "first").await;
    let second = say(&mut ann, "second").await;
    drop(ann);
    within(a.shutdown()).await.expect("a stops");

    let a = instance(&redis.url(), &p).await;
    let mut ann = connect(a.local_addr(), &format!("/hr/room/e?since={first}")).await;
    assert_eq!(recv_json(&mut ann).await, json!({"type": "recovered", "ok": true, "missed": 1}));
    assert_eq!(pos_of(&recv_json(&mut ann).await), second);
    assert_eq!(say(&mut ann, "third").await, at(first, 3), "same epoch, next offset");

    // The stream alone is lost: a new epoch, from offset 1.
    let deleted = redis.command(&["DEL", &format!("{p}:hs:hr:e")]).await;
    assert_eq!(deleted.trim(), ":1");
    let fresh = say(&mut ann, "fresh").await;
    assert_eq!(fresh.offset(), 1);
    assert_ne!(epoch_of(fresh), epoch_of(first));
    let mut bob = connect(a.local_addr(), &format!("/hr/room/e?since={second}")).await;
    assert_eq!(recv_json(&mut bob).await, json!({"type": "recovered", "ok": false, "missed": 0}));

    // Everything is lost: another epoch again.
    assert!(redis.command(&["FLUSHALL"]).await.starts_with("+OK"));
    let flushed = say(&mut ann, "after the flush").await;
    assert_eq!(flushed.offset(), 1);
    assert_ne!(epoch_of(flushed), epoch_of(fresh));
    let mut carl = connect(a.local_addr(), &format!("/hr/room/e?since={fresh}")).await;
    assert_eq!(recv_json(&mut carl).await, json!({"type": "recovered", "ok": false, "missed": 0}));
    let mut dora = connect(a.local_addr(), &format!("/hr/room/e?since={}", at(flushed, 0))).await;
    assert_eq!(recv_json(&mut dora).await, json!({"type": "recovered", "ok": true, "missed": 1}));
    assert_eq!(pos_of(&recv_json(&mut dora).await), flushed);
}

/// A client reading the room while both instances publish, closing and
/// reconnecting with `?since=` to either instance after a random number of
/// messages: it sees every offset once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seam_has_no_gap_and_no_duplicate_across_instances() {
    const TOTAL: u64 = 2_000;
    let Some(redis) = RedisServer::start().await else { return };
    let p = prefix();
    let servers = [instance(&redis.url(), &p).await, instance(&redis.url(), &p).await];
    // A member on each instance keeps its room (and history) there; its
    // own message, back from Redis, shows the subscription is up.
    let mut anchors = Vec::new();
    for server in &servers {
        let mut anchor = connect(server.local_addr(), "/hr/seam").await;
        say(&mut anchor, "anchor").await;
        anchors.push(anchor);
    }
    let mut ws = connect(servers[0].local_addr(), "/hr/seam").await;
    say(&mut ws, "reader").await;
    // The offsets so far: the anchors' and the reader's.
    let base = anchors.len() as u64 + 1;
    // The publishers stay at most a window ahead of the reader, so that
    // messages are published while it reconnects, all along.
    let window = Arc::new(Semaphore::new(32));
    let publishers: Vec<_> = servers
        .iter()
        .map(|server| {
            let (hub, window) = (server.hub().clone(), window.clone());
            tokio::spawn(async move {
                for _ in 0..TOTAL / 2 {
                    within(window.acquire()).await.expect("a permit").forget();
                    hub.publish("hr:seam", |pos| Json(json!({"pos": pos})));
                }
            })
        })
        .collect();
    let mut rng = 0x9E37_79B9_7F4A_7C15_u64;
    let (mut next, mut last, mut reconnects) = (base + 1, None, 0);
    while next <= base + TOTAL {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let mut budget = rng % 150 + 1;
        while budget > 0 && next <= base + TOTAL {
            let message = recv_json(&mut ws).await;
            if message["type"] == "recovered" {
                assert_eq!(message["ok"], true, "{message}");
                continue;
            }
            let pos = pos_of(&message);
            assert_eq!(pos.offset(), next, "a gap or a duplicate: {message}");
            last = Some(pos);
            next += 1;
            budget -= 1;
            window.add_permits(1);
        }
        if next <= base + TOTAL {
            let last = last.expect("a message was read");
            within(ws.close(None)).await.expect("closes");
            let server = &servers[(rng % 2) as usize];
            ws = connect(server.local_addr(), &format!("/hr/seam?since={last}")).await;
            reconnects += 1;
        }
    }
    for p in publishers {
        within(p).await.expect("publisher");
    }
    println!("{reconnects} reconnects");
    assert!(reconnects > 5, "{reconnects} reconnects");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_killed_live_delivery_goes_on_and_recovery_says_not_recovered() {
    let Some(mut redis) = RedisServer::start().await else { return };
    let p = prefix();
    let a = instance(&redis.url(), &p).await;
    let mut ann = connect(a.local_addr(), "/hr/room/k").await;
    let mut bob = connect(a.local_addr(), "/hr/room/k").await;
    let hub = a.hub().clone();
    common::eventually(move || hub.count("hr:k") == 2).await;
    let before = say(&mut ann, "before").await;
    assert_eq!(pos_of(&recv_json(&mut bob).await), before);

    redis.kill();
    let addr = a.local_addr();
    within(async {
        while common::sample(&common::scrape(addr).await, "wirehub_backplane_up", &[]) != Some(0.0) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let started = std::time::Instant::now();
    let during = say(&mut ann, "during").await;
    assert_eq!(recv_json(&mut bob).await["text"], "during", "live delivery on the instance goes on");
    let mut carl = connect(addr, &format!("/hr/room/k?since={before}")).await;
    assert_eq!(recv_json(&mut carl).await, json!({"type": "recovered", "ok": false, "missed": 0}));
    send(&mut bob, "still live").await;
    for ws in [&mut ann, &mut bob, &mut carl] {
        assert_eq!(recv_json(ws).await["text"], "still live");
    }
    assert!(started.elapsed() < Duration::from_secs(1), "nothing waited for Redis: {:?}", started.elapsed());
    assert_ne!(epoch_of(during), epoch_of(before), "positions of this instance's own history meanwhile");
}

/// `pos` with another offset.
fn at(pos: Position, offset: u64) -> Position {
    format!("{}-{offset}", epoch_of(pos)).parse().expect("a position")
}
