//! Room history over real sockets: positions on every room message,
//! recovery on reconnect with `?since=<pos>` (in order, exactly once, then
//! live), "not recovered" when the history cannot fill the gap (too old,
//! another epoch, not a position), the history bounded by its count under a
//! flood, and the seam between recovery and live under concurrent
//! publishing with random reconnects.
//!
//! Every route of this file lives under `/hist/`.

mod common;

use common::{connect, recv_text, send, spawn_prefix, within};
use serde_json::{json, Value};
use wirehub::prelude::*;
use wirehub::{Position, Server};

/// Publishes each text to the room with its position.
#[ws_route("/hist/room/{room}", broadcast = "hist:{room}", history = 5)]
async fn room(conn: Conn, text: String) {
    if let Some(room) = conn.room() {
        conn.hub().publish(room, |pos| Json(json!({"text": text, "pos": pos})));
    }
}

/// A room whose messages expire after 50 ms.
#[ws_route("/hist/aged/{room}", broadcast = "hist:aged:{room}", history = 100, history_ttl = "50ms")]
async fn aged(conn: Conn, text: String) {
    if let Some(room) = conn.room() {
        conn.hub().publish(room, |pos| Json(json!({"text": text, "pos": pos})));
    }
}

/// A room for floods: a short queue (room for a replay of 5), and drops
/// rather than closes.
#[ws_route("/hist/flood/{room}", broadcast = "hist:flood:{room}", history = 5, queue = 8, on_full = "drop")]
async fn flood(_text: String) {}

/// A history longer than the queue (8): a large replay cannot fit.
#[ws_route("/hist/small/{room}", broadcast = "hist:small:{room}", history = 20, queue = 8, on_full = "drop")]
async fn small(_text: String) {}

/// The seam: every message stays in history, and no queue overflows.
#[ws_route("/hist/seam", broadcast = "hist:seam", history = 20000, queue = 30000)]
async fn seam(_text: String) {}

async fn server() -> Server {
    spawn_prefix("/hist/", App::new()).await
}

async fn recv_json(ws: &mut common::Client) -> Value {
    let text = recv_text(ws).await;
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn pos_of(message: &Value) -> Position {
    message["pos"].as_str().and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("no position: {message}"))
}

/// Waits until `room` has `n` members (the connections are registered).
async fn members(server: &Server, room: &str, n: usize) {
    let hub = server.hub().clone();
    let room = room.to_owned();
    common::eventually(move || hub.members(&room).len() == n).await;
}

#[tokio::test]
async fn a_reconnecting_client_gets_what_it_missed_in_order_then_live() {
    let server = server().await;
    let addr = server.local_addr();
    let mut ann = connect(addr, "/hist/room/a").await;
    let mut bob = connect(addr, "/hist/room/a").await;
    members(&server, "hist:a", 2).await;
    send(&mut bob, "one").await;
    let one = recv_json(&mut ann).await;
    assert_eq!((&one["text"], pos_of(&one).offset()), (&json!("one"), 1), "{one}");
    within(ann.close(None)).await.expect("ann closes");
    members(&server, "hist:a", 1).await;
    for text in ["two", "three", "four"] {
        send(&mut bob, text).await;
    }
    for _ in 0..4 {
        recv_json(&mut bob).await; // bob's own copies, "one" included
    }
    let mut ann = connect(addr, &format!("/hist/room/a?since={}", pos_of(&one))).await;
    assert_eq!(recv_json(&mut ann).await, json!({"type": "recovered", "ok": true, "missed": 3}));
    for (text, offset) in [("two", 2), ("three", 3), ("four", 4)] {
        let missed = recv_json(&mut ann).await;
        assert_eq!((&missed["text"], pos_of(&missed).offset()), (&json!(text), offset), "{missed}");
    }
    send(&mut bob, "five").await;
    let live = recv_json(&mut ann).await;
    assert_eq!((&live["text"], pos_of(&live).offset()), (&json!("five"), 5), "{live}");
}

#[tokio::test]
async fn a_position_older_than_the_history_is_not_recovered() {
    let server = server().await;
    let addr = server.local_addr();
    let mut bob = connect(addr, "/hist/room/old").await;
    members(&server, "hist:old", 1).await;
    for i in 1..=8 {
        send(&mut bob, format!("m{i}")).await;
    }
    let mut first = None;
    for _ in 1..=8 {
        let m = recv_json(&mut bob).await;
        first.get_or_insert(pos_of(&m));
    }
    let first = first.expect("eight messages");
    // The history keeps 5 (4..=8): after 1, messages 2 and 3 are gone.
    let mut ann = connect(addr, &format!("/hist/room/old?since={first}")).await;
    assert_eq!(recv_json(&mut ann).await, json!({"type": "recovered", "ok": false, "missed": 7}));
    send(&mut bob, "live").await;
    assert_eq!(recv_json(&mut ann).await["text"], "live", "live follows, nothing replayed");
}

#[tokio::test]
async fn a_since_that_is_not_a_position_or_of_another_epoch_is_not_recovered() {
    let server = server().await;
    let addr = server.local_addr();
    let mut bob = connect(addr, "/hist/room/bad").await;
    members(&server, "hist:bad", 1).await;
    send(&mut bob, "m1").await;
    let m1 = pos_of(&recv_json(&mut bob).await);
    let not_recovered = json!({"type": "recovered", "ok": false, "missed": 0});
    for since in ["nonsense".to_owned(), "0-1".to_owned(), at(m1, 2)] {
        let mut ann = connect(addr, &format!("/hist/room/bad?since={since}")).await;
        assert_eq!(recv_json(&mut ann).await, not_recovered, "since={since}");
    }
    let mut ann = connect(addr, &format!("/hist/room/bad?since={}", at(m1, 0))).await;
    assert_eq!(recv_json(&mut ann).await, json!({"type": "recovered", "ok": true, "missed": 1}));
    assert_eq!(recv_json(&mut ann).await["text"], "m1");
}

#[tokio::test]
async fn without_since_the_first_message_is_live() {
    let server = server().await;
    let addr = server.local_addr();
    let mut bob = connect(addr, "/hist/room/plain").await;
    members(&server, "hist:plain", 1).await;
    send(&mut bob, "before").await;
    recv_json(&mut bob).await;
    let mut ann = connect(addr, "/hist/room/plain").await;
    members(&server, "hist:plain", 2).await;
    send(&mut bob, "after").await;
    assert_eq!(recv_json(&mut ann).await["text"], "after");
}

#[tokio::test]
async fn the_epoch_changes_once_the_history_is_lost() {
    let server = server().await;
    let addr = server.local_addr();
    let mut ann = connect(addr, "/hist/aged/e").await;
    members(&server, "hist:aged:e", 1).await;
    send(&mut ann, "soon gone").await;
    let gone = recv_json(&mut ann).await;
    // Liveness, not synchronisation: the message must outlive its 50 ms.
    tokio::time::sleep(std::time::Duration::from_millis(80)).await;
    within(ann.close(None)).await.expect("ann closes");
    members(&server, "hist:aged:e", 0).await; // the room is forgotten with its last member
    let mut ann = connect(addr, &format!("/hist/aged/e?since={}", pos_of(&gone))).await;
    assert_eq!(recv_json(&mut ann).await, json!({"type": "recovered", "ok": false, "missed": 0}));
    send(&mut ann, "new epoch").await;
    let fresh = recv_json(&mut ann).await;
    assert_eq!(pos_of(&fresh).offset(), 1, "{fresh}");
    assert_ne!(
        fresh["pos"].as_str().and_then(|p| p.split_once('-')),
        gone["pos"].as_str().and_then(|p| p.split_once('-'))
    );
}

#[tokio::test]
async fn a_flooded_room_keeps_only_its_limit() {
    let server = server().await;
    let addr = server.local_addr();
    let _member = connect(addr, "/hist/flood/f").await;
    members(&server, "hist:flood:f", 1).await;
    let hub = server.hub();
    const FLOOD: u64 = 1_000_000;
    let mut first = None;
    for i in 0..FLOOD {
        let pos = hub.publish("hist:flood:f", |pos| Json(json!({"i": i, "pos": pos})));
        first = first.or(pos);
    }
    let first = first.expect("the room has history");
    let mut late = connect(addr, &format!("/hist/flood/f?since={first}")).await;
    assert_eq!(recv_json(&mut late).await, json!({"type": "recovered", "ok": false, "missed": FLOOD - 1}));
    // Exactly the last five are kept: after FLOOD - 5 the gap is filled,
    // after FLOOD - 6 it is not.
    let mut recent = connect(addr, &format!("/hist/flood/f?since={}", at(first, FLOOD - 5))).await;
    assert_eq!(recv_json(&mut recent).await, json!({"type": "recovered", "ok": true, "missed": 5}));
    for i in FLOOD - 5..FLOOD {
        assert_eq!(recv_json(&mut recent).await["i"], json!(i));
    }
    let mut too_old = connect(addr, &format!("/hist/flood/f?since={}", at(first, FLOOD - 6))).await;
    assert_eq!(recv_json(&mut too_old).await, json!({"type": "recovered", "ok": false, "missed": 6}));
}

#[tokio::test]
async fn a_replay_larger_than_the_queue_is_not_recovered_rather_than_cut() {
    let server = server().await;
    let addr = server.local_addr();
    let _member = connect(addr, "/hist/small/q").await;
    members(&server, "hist:small:q", 1).await;
    let hub = server.hub();
    let first = hub.publish("hist:small:q", |pos| Json(json!({"i": 0, "pos": pos}))).expect("a position");
    for i in 1..15 {
        hub.publish("hist:small:q", |pos| Json(json!({"i": i, "pos": pos})));
    }
    // 14 missed, all kept, but the notice and 14 messages exceed the queue of 8.
    let mut late = connect(addr, &format!("/hist/small/q?since={first}")).await;
    assert_eq!(recv_json(&mut late).await, json!({"type": "recovered", "ok": false, "missed": 14}));
    hub.publish("hist:small:q", |pos| Json(json!({"i": "live", "pos": pos})));
    assert_eq!(recv_json(&mut late).await["i"], "live", "live follows, nothing replayed");
    // A replay that fits is whole.
    let mut recent = connect(addr, &format!("/hist/small/q?since={}", at(first, 11))).await;
    assert_eq!(recv_json(&mut recent).await, json!({"type": "recovered", "ok": true, "missed": 5}));
    for i in [json!(11), json!(12), json!(13), json!(14), json!("live")] {
        assert_eq!(recv_json(&mut recent).await["i"], i);
    }
}

/// A client reading a room while two tasks publish 10 000 messages, closing
/// and reconnecting with `?since=` after a random number of messages: it
/// sees every offset once, in order, whatever the seam between recovered
/// and live messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seam_has_no_gap_and_no_duplicate_under_concurrent_publishing() {
    const TOTAL: u64 = 10_000;
    let server = server().await;
    let addr = server.local_addr();
    let mut ws = connect(addr, "/hist/seam").await;
    members(&server, "hist:seam", 1).await;
    let publishers: Vec<_> = (0..2)
        .map(|_| {
            let hub = server.hub().clone();
            tokio::spawn(async move {
                for _ in 0..TOTAL / 2 {
                    hub.publish("hist:seam", |pos| Json(json!({"pos": pos})));
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    let mut rng = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = 1;
    let mut last = None;
    let (mut reconnects, mut recovered) = (0, 0);
    while next <= TOTAL {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let mut budget = rng % 400 + 1;
        while budget > 0 && next <= TOTAL {
            let message = recv_json(&mut ws).await;
            if message["type"] == "recovered" {
                assert_eq!(message["ok"], true, "{message}");
                recovered += message["missed"].as_u64().unwrap_or_default();
                continue;
            }
            let pos = pos_of(&message);
            assert_eq!(pos.offset(), next, "a gap or a duplicate: {message}");
            last = Some(pos);
            next += 1;
            budget -= 1;
        }
        if next <= TOTAL {
            let last = last.expect("a message was read");
            within(ws.close(None)).await.expect("closes");
            ws = connect(addr, &format!("/hist/seam?since={last}")).await;
            reconnects += 1;
        }
    }
    for p in publishers {
        within(p).await.expect("publisher");
    }
    println!("{reconnects} reconnects, {recovered} messages recovered");
    assert!(reconnects > 10, "{reconnects} reconnects");
}

/// `pos` with another offset: `"<epoch>-<offset>"`.
fn at(pos: Position, offset: u64) -> String {
    let text = pos.to_string();
    let epoch = text.split_once('-').map_or("", |(e, _)| e);
    format!("{epoch}-{offset}")
}
