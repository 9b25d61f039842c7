//! Presence events over real sockets (route option `presence`): one join
//! and one leave per identity however many tabs it has, metadata in the
//! events, batching, the count under concurrent joins and leaves, and
//! across two instances on a real `redis-server` (started per test on a
//! free port; without the binary those tests print one line and pass,
//! except under CI).
//!
//! Every route of this file lives under `/presence/`.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::redis::RedisServer;
use common::{connect, recv_text, send, spawn_prefix, user_of, within, Client};
use futures_util::future::join_all;
use serde_json::{json, Value};
use wirehub::prelude::*;
use wirehub::Server;

/// Identities are `?user=`; a text sets the sender's status.
#[ws_route(
    "/presence/user/{room}",
    auth = user_of,
    broadcast = "pu:{room}",
    presence = true,
    presence_interval = "20ms",
    on_open = named
)]
async fn user_room(conn: Conn, text: String) {
    let _ = conn.set_presence_meta(&json!({"name": conn.principal(), "status": text}));
}

/// Sets the metadata in `on_open`: it is in the identity's join.
async fn named(conn: Conn) {
    let _ = conn.set_presence_meta(&json!({"name": conn.principal()}));
}

/// A long interval: joins pile up in one batch.
#[ws_route("/presence/batch/{room}", broadcast = "pb:{room}", presence = true, presence_interval = "300ms")]
async fn batch_room(_text: String) {}

/// Identities are connection ids.
#[ws_route("/presence/anon/{room}", broadcast = "pa:{room}", presence = true, presence_interval = "5ms")]
async fn anon_room(_text: String) {}

/// A room of 3 identities at most listed.
#[ws_route(
    "/presence/small/{room}",
    broadcast = "ps:{room}",
    presence = true,
    presence_interval = "5ms",
    presence_limit = 3
)]
async fn small_room(_text: String) {}

/// The same room without presence: nothing but room messages.
#[ws_route("/presence/off/{room}", broadcast = "pa:{room}")]
async fn off_room(text: String) -> String {
    text
}

async fn server() -> Server {
    spawn_prefix("/presence/", App::new()).await
}

/// A client's view of a room's presence, built from the messages it got.
#[derive(Debug, Default)]
struct View {
    members: HashMap<String, Value>,
    count: u64,
    states: usize,
    diffs: Vec<Value>,
}

impl View {
    /// Reads the next presence message (skipping others) and applies it.
    async fn next(&mut self, ws: &mut Client) -> Value {
        loop {
            let message: Value = serde_json::from_str(&recv_text(ws).await).expect("JSON");
            match message["type"].as_str() {
                Some("presence_state") => {
                    assert!(self.states == 0 || message.get("members").is_some(), "one state first: {message}");
                    self.states += 1;
                    self.members = entries(&message["members"]);
                }
                Some("presence_diff") => {
                    assert_eq!(self.states, 1, "a diff before the state: {message}");
                    for (k, _) in entries(&message["leaves"]) {
                        assert!(self.members.remove(&k).is_some(), "{k} left without being here: {message}");
                    }
                    for (k, v) in entries(&message["joins"]) {
                        assert!(self.members.insert(k.clone(), v).is_none(), "{k} joined twice: {message}");
                    }
                    for (k, v) in entries(&message["updates"]) {
                        assert!(self.members.insert(k.clone(), v).is_some(), "{k} updated, not here: {message}");
                    }
                    self.diffs.push(message.clone());
                }
                _ => continue,
            }
            self.count = message["count"].as_u64().expect("a count");
            if message.get("members").is_some() || message.get("joins").is_some() {
                assert_eq!(self.members.len() as u64, self.count, "the lists add up to the count: {message}");
            }
            return message;
        }
    }

    /// Reads until the view holds `count` identities.
    async fn until_count(&mut self, ws: &mut Client, count: u64) {
        while self.count != count || self.states == 0 {
            self.next(ws).await;
        }
    }
}

fn entries(map: &Value) -> HashMap<String, Value> {
    map.as_object().map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
}

/// Connects and reads up to its first presence state.
async fn joined(server: &Server, path: &str) -> (Client, View) {
    let mut ws = connect(server.local_addr(), path).await;
    let mut view = View::default();
    let first = view.next(&mut ws).await;
    assert_eq!(first["type"], "presence_state", "{first}");
    (ws, view)
}

#[tokio::test]
async fn two_tabs_of_one_user_join_once_and_leave_when_the_last_closes() {
    let server = server().await;
    let (mut obs, mut view) = joined(&server, "/presence/user/a?user=obs").await;
    assert_eq!(view.members, HashMap::from([("obs".to_owned(), json!({"name": "obs"}))]));

    let (mut tab1, _) = joined(&server, "/presence/user/a?user=ada").await;
    let diff = view.next(&mut obs).await;
    assert_eq!(diff["joins"], json!({"ada": {"name": "ada"}}), "the metadata set in on_open: {diff}");
    let (mut tab2, tab2_view) = joined(&server, "/presence/user/a?user=ada").await;
    assert_eq!(tab2_view.count, 2, "the second tab gets the state: {tab2_view:?}");
    // Had the second tab been a join, it would come before bob's.
    let (mut bob, _) = joined(&server, "/presence/user/a?user=bob").await;
    assert_eq!(view.next(&mut obs).await["joins"], json!({"bob": {"name": "bob"}}));

    send(&mut tab1, "typing").await;
    let diff = view.next(&mut obs).await;
    assert_eq!(diff["updates"], json!({"ada": {"name": "ada", "status": "typing"}}), "{diff}");

    within(tab1.close(None)).await.expect("closes");
    let hub = server.hub().clone();
    common::eventually(move || hub.count("pu:a") == 3).await;
    within(bob.close(None)).await.expect("closes");
    let diff = view.next(&mut obs).await;
    assert_eq!((&diff["leaves"], &diff["joins"]), (&json!({"bob": {"name": "bob"}}), &json!({})), "{diff}");
    assert_eq!(server.hub().identities("pu:a"), 2);

    within(tab2.close(None)).await.expect("closes");
    let diff = view.next(&mut obs).await;
    assert_eq!(diff["leaves"], json!({"ada": {"name": "ada", "status": "typing"}}), "the last tab: {diff}");
    assert_eq!(view.members.keys().collect::<Vec<_>>(), ["obs"]);
    assert_eq!(server.hub().present("pu:a"), vec![("obs".to_owned(), Some(json!({"name": "obs"})))]);
}

#[tokio::test]
async fn joins_within_an_interval_come_in_fewer_diffs_and_all_of_them() {
    let server = server().await;
    let (mut obs, mut view) = joined(&server, "/presence/batch/b").await;
    let n = 20;
    let clients = join_all((0..n).map(|_| joined(&server, "/presence/batch/b"))).await;
    view.until_count(&mut obs, n + 1).await;
    assert!(view.diffs.len() < n as usize / 2, "{} diffs for {n} joins", view.diffs.len());
    let joined_ids: usize = view.diffs.iter().map(|d| entries(&d["joins"]).len()).sum();
    assert_eq!(joined_ids, n as usize, "every join is in a diff");
    for (_, own) in &clients {
        assert!(own.count >= 1 && own.members.len() as u64 == own.count, "{own:?}");
    }
}

#[tokio::test]
async fn every_member_sees_the_right_count_after_concurrent_joins_and_leaves() {
    let server = server().await;
    let (mut obs, mut view) = joined(&server, "/presence/anon/c").await;
    let server = &server;
    let storm = (0..60).map(|i| async move {
        let (mut ws, view) = joined(server, "/presence/anon/c").await;
        if i % 2 == 0 {
            within(ws.close(None)).await.expect("closes");
            None
        } else {
            Some((ws, view))
        }
    });
    let stayed: Vec<(Client, View)> = join_all(storm).await.into_iter().flatten().collect();
    let expected = 1 + stayed.len() as u64;
    view.until_count(&mut obs, expected).await;
    for (mut ws, mut view) in stayed {
        view.until_count(&mut ws, expected).await;
    }
    assert_eq!(server.hub().identities("pa:c") as u64, expected);
    assert_eq!(server.hub().count("pa:c") as u64, expected);
}

#[tokio::test]
async fn a_room_over_the_limit_sends_counts_then_lists_again_under_it() {
    let server = server().await;
    let (mut obs, mut view) = joined(&server, "/presence/small/d").await;
    let mut others = Vec::new();
    for _ in 0..3 {
        others.push(joined(&server, "/presence/small/d").await);
    }
    view.until_count(&mut obs, 4).await;
    assert!(view.diffs.last().is_some_and(|d| d.get("joins").is_none()), "counts only: {:?}", view.diffs.last());
    let (mut last, _) = others.pop().expect("three");
    within(last.close(None)).await.expect("closes");
    let state = view.next(&mut obs).await;
    assert_eq!((&state["type"], &state["count"]), (&json!("presence_state"), &json!(3)), "{state}");
    assert_eq!(view.members.len(), 3);
}

#[tokio::test]
async fn a_route_without_presence_gets_no_presence_messages() {
    let server = server().await;
    let addr = server.local_addr();
    let mut off = connect(addr, "/presence/off/e").await;
    let (_anon, _) = joined(&server, "/presence/anon/e").await;
    send(&mut off, "marker").await;
    // The anon member's presence batch ran before its state reached it;
    // nothing but the room's own message reaches the member without presence.
    assert_eq!(recv_text(&mut off).await, "marker");
    assert_eq!(server.hub().identities("pa:e"), 1, "only the tracked member");
    assert_eq!(server.hub().count("pa:e"), 2);
}

// ------------------------------------------------------------ across instances

async fn instance(url: &str, prefix: &str) -> Server {
    let backplane = wirehub::backplane::Redis::connect(url).prefix(prefix).presence_ttl(Duration::from_millis(300));
    let app = App::new().routes(|p| p.starts_with("/presence/")).backplane(backplane).config(|c| c.heartbeat = None);
    common::spawn(app).await
}

#[tokio::test]
async fn two_tabs_of_one_user_on_two_instances_join_once_and_leave_once() {
    let Some(redis) = RedisServer::start().await else { return };
    let (a, b) = (instance(&redis.url(), "p2").await, instance(&redis.url(), "p2").await);
    let (mut obs, mut view) = joined(&a, "/presence/user/x?user=obs").await;
    let (mut tab1, _) = joined(&a, "/presence/user/x?user=ada").await;
    assert_eq!(view.next(&mut obs).await["joins"], json!({"ada": {"name": "ada"}}));
    let (mut tab2, mut far) = joined(&b, "/presence/user/x?user=ada").await;
    far.until_count(&mut tab2, 2).await; // instance b learnt obs (and its own ada) from a
                                         // Had ada's tab on b been a second join on a, it would come before bob's.
    let (mut bob, _) = joined(&b, "/presence/user/x?user=bob").await;
    assert_eq!(view.next(&mut obs).await["joins"], json!({"bob": {"name": "bob"}}));
    far.until_count(&mut tab2, 3).await;

    within(tab1.close(None)).await.expect("closes");
    let hub = a.hub().clone();
    common::eventually(move || hub.count("pu:x") == 1).await;
    within(bob.close(None)).await.expect("closes");
    let diff = view.next(&mut obs).await;
    assert_eq!((&diff["leaves"], &diff["joins"]), (&json!({"bob": {"name": "bob"}}), &json!({})), "{diff}");
    within(tab2.close(None)).await.expect("closes");
    let diff = view.next(&mut obs).await;
    assert_eq!(diff["leaves"], json!({"ada": {"name": "ada"}}), "the last tab, on the other instance: {diff}");
    assert_eq!(a.hub().identities("pu:x"), 1);
}

#[tokio::test]
async fn the_identities_of_an_instance_that_died_leave_after_its_lease() {
    let Some(redis) = RedisServer::start().await else { return };
    let a = instance(&redis.url(), "p3").await;
    let (mut obs, mut view) = joined(&a, "/presence/user/y?user=obs").await;
    // What a crashed instance (number 4242) last said: "ghost is here".
    let delta = br#"{"s":true,"a":false,"j":[["ghost",{"name":"ghost"}]],"l":[]}"#;
    let mut frame = vec![1u8];
    frame.extend_from_slice(&4242u32.to_be_bytes());
    frame.extend_from_slice(&[0; 8]);
    frame.extend_from_slice(&[5, 0, 0]); // kind 5: a presence delta, no key
    frame.extend_from_slice(delta);
    let hub = a.hub().clone();
    common::eventually(move || hub.identities("pu:y") == 1).await; // a is subscribed once obs is listed
    redis.publish("p3:r:pu:y", &frame).await;
    assert_eq!(view.next(&mut obs).await["joins"], json!({"ghost": {"name": "ghost"}}));
    let diff = view.next(&mut obs).await;
    assert_eq!(diff["leaves"], json!({"ghost": {"name": "ghost"}}), "no ghost after the lease: {diff}");
    assert_eq!(a.hub().identities("pu:y"), 1);
}
