//! The hub over real sockets: broadcast rooms and their isolation, sender
//! inclusion and exclusion, a static room, joins and leaves at run time,
//! presence, sends to one id, pushes from outside handlers, slow consumers
//! (closed with 1013, or dropped and counted), no loss or duplication under
//! concurrent publishers, and an empty registry after abrupt disconnects.
//!
//! Every route of this file lives under `/h/`.

mod common;

use std::time::Instant;

use common::{connect, eventually, recv, recv_text, send, spawn_prefix, within, Client};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::MaybeTlsStream;
use wirehub::prelude::*;
use wirehub::{ConnState, SendError, Server};

// ---------------------------------------------------------------- handlers

/// A chat room per path parameter; the reply goes to the whole room.
#[ws_route("/h/chat/{room}", broadcast = "chat:{room}")]
async fn h_chat(msg: String) -> String {
    msg
}

/// Like `h_chat`, but the sender does not get its own messages.
#[ws_route("/h/quiet/{room}", broadcast = "quiet:{room}", exclude_sender = true)]
async fn h_quiet(msg: String) -> String {
    msg
}

/// One static room for every connection of the route.
#[ws_route("/h/lobby/{name}", broadcast = "lobby")]
async fn h_lobby(conn: Conn, msg: String) -> String {
    format!("{}: {msg}", conn.param("name").unwrap_or("?"))
}

/// Text commands over the hub API:
/// `id`, `join:R`, `leave:R`, `rooms`, `say:R:TEXT`, `others:R:TEXT`,
/// `to:ID:TEXT`.
#[ws_route("/h/cmd")]
async fn h_cmd(conn: Conn, msg: String) -> Option<String> {
    let (verb, rest) = msg.split_once(':').unwrap_or((msg.as_str(), ""));
    let reply = match verb {
        "id" => conn.id().to_string(),
        "join" => {
            conn.join(rest);
            format!("joined:{rest}")
        }
        "leave" => {
            conn.leave(rest);
            format!("left:{rest}")
        }
        "rooms" => {
            let mut rooms = conn.rooms();
            rooms.sort();
            format!("rooms:{}", rooms.join(","))
        }
        "say" => {
            let (room, text) = rest.split_once(':')?;
            format!("said:{}", conn.broadcast(room, text.to_owned()))
        }
        "others" => {
            let (room, text) = rest.split_once(':')?;
            format!("said:{}", conn.broadcast_others(room, text.to_owned()))
        }
        "to" => {
            let (id, text) = rest.split_once(':')?;
            let id: ConnId = id.parse().ok()?;
            match conn.send_to(id, text.to_owned()) {
                Ok(()) => "sent".to_owned(),
                Err(e) => format!("error:{e}"),
            }
        }
        _ => format!("unknown:{msg}"),
    };
    Some(reply)
}

/// A room with a tiny outbound queue; slow members are closed (default `on_full`).
#[ws_route("/h/slow/{room}", broadcast = "slow:{room}", exclude_sender = true, queue = 8, write_timeout = "30s")]
async fn h_slow(msg: Bytes) -> Bytes {
    msg
}

/// A room with a tiny outbound queue; slow members miss messages.
#[ws_route(
    "/h/lossy/{room}",
    broadcast = "lossy:{room}",
    exclude_sender = true,
    queue = 8,
    on_full = "drop",
    write_timeout = "30s"
)]
async fn h_lossy(msg: Bytes) -> Bytes {
    msg
}

/// Members of a fan-out room (they never send). No heartbeat: under
/// AddressSanitizer on a loaded machine a member can read 40 s behind the
/// server, and its pong comes too late (a dead peer to the server, which is
/// right, but not what this route is for).
#[ws_route("/h/fan/{room}", broadcast = "fan:{room}", queue = 16384, heartbeat = "off")]
async fn h_fan_member(_msg: String) {}

/// Publishers into the fan-out room (not members themselves).
#[ws_route("/h/pub/{room}")]
async fn h_fan_publish(conn: Conn, msg: Utf8Bytes) {
    let room = format!("fan:{}", conn.param("room").unwrap_or_default());
    conn.broadcast(&room, msg);
}

/// In the room of its path, and in a second room named by the message; the
/// answer comes once the join is done.
#[ws_route("/h/gone/{room}", broadcast = "gone:{room}")]
async fn h_gone(conn: Conn, msg: String) {
    conn.join(&msg);
    let _ = conn.send(format!("in:{msg}")).await;
}

// ---------------------------------------------------------------- helpers

async fn start() -> Server {
    spawn_prefix("/h/", App::new()).await
}

/// Waits until `room` has one member more than `before`, and returns it.
async fn new_member(hub: &Hub, room: &str, before: &[ConnId]) -> ConnId {
    eventually(|| hub.members(room).len() == before.len() + 1).await;
    let members = hub.members(room);
    *members.iter().find(|id| !before.contains(id)).expect("a new member")
}

/// Connects to `path` and waits until the connection is in `room`.
async fn join(server: &Server, path: &str, room: &str) -> (Client, ConnId) {
    let before = server.hub().members(room);
    let ws = connect(server.local_addr(), path).await;
    let id = new_member(server.hub(), room, &before).await;
    (ws, id)
}

fn sorted(mut ids: Vec<ConnId>) -> Vec<ConnId> {
    ids.sort();
    ids
}

/// Sends a command to the `/h/cmd` route and returns the reply.
async fn ask(ws: &mut Client, command: &str) -> String {
    send(ws, command).await;
    recv_text(ws).await
}

async fn cmd_client(server: &Server) -> (Client, ConnId) {
    let mut ws = connect(server.local_addr(), "/h/cmd").await;
    let id: ConnId = ask(&mut ws, "id").await.parse().expect("an id");
    (ws, id)
}

/// A 64 KiB binary message whose first 8 bytes are `seq`.
fn big(seq: u64) -> WsMessage {
    let mut payload = vec![0xA5u8; 64 * 1024];
    payload[..8].copy_from_slice(&seq.to_be_bytes());
    WsMessage::Binary(payload.into())
}

/// The sequence number of a message made by [`big`].
fn seq_of(msg: &WsMessage) -> u64 {
    match msg {
        WsMessage::Binary(b) if b.len() == 64 * 1024 => u64::from_be_bytes(b[..8].try_into().expect("8 bytes")),
        other => panic!("expected a 64 KiB binary message, got {} bytes of {other:?}", other.len()),
    }
}

/// Reads until the peer closes the TCP connection (after a close frame).
async fn until_end(ws: &mut Client) {
    loop {
        match within(ws.next()).await {
            None | Some(Err(_)) => return,
            Some(Ok(_)) => {}
        }
    }
}

// ---------------------------------------------------------------- rooms

#[tokio::test]
async fn broadcast_rooms_are_isolated() {
    let server = start().await;
    let (mut a1, _) = join(&server, "/h/chat/a", "chat:a").await;
    let (mut a2, _) = join(&server, "/h/chat/a", "chat:a").await;
    let (mut b1, _) = join(&server, "/h/chat/b", "chat:b").await;
    assert_eq!(server.hub().rooms(), 2);
    assert_eq!(server.hub().connections(), 3);

    send(&mut a1, "to-a").await;
    assert_eq!(recv_text(&mut a1).await, "to-a");
    assert_eq!(recv_text(&mut a2).await, "to-a");

    // The A message never reached B: B's first message is its own marker.
    send(&mut b1, "marker-b").await;
    assert_eq!(recv_text(&mut b1).await, "marker-b");

    // And the B marker never reached A.
    send(&mut a2, "second-a").await;
    assert_eq!(recv_text(&mut a1).await, "second-a");
    assert_eq!(recv_text(&mut a2).await, "second-a");
}

#[tokio::test]
async fn sender_gets_its_own_broadcast_by_default() {
    let server = start().await;
    let (mut s, _) = join(&server, "/h/chat/self", "chat:self").await;
    let (mut o, _) = join(&server, "/h/chat/self", "chat:self").await;

    send(&mut s, "one").await;
    assert_eq!(recv_text(&mut s).await, "one");
    assert_eq!(recv_text(&mut o).await, "one");
    send(&mut o, "two").await;
    assert_eq!(recv_text(&mut s).await, "two");
    assert_eq!(recv_text(&mut o).await, "two");
}

#[tokio::test]
async fn exclude_sender_skips_only_the_sender() {
    let server = start().await;
    let (mut s, _) = join(&server, "/h/quiet/q", "quiet:q").await;
    let (mut o1, _) = join(&server, "/h/quiet/q", "quiet:q").await;
    let (mut o2, _) = join(&server, "/h/quiet/q", "quiet:q").await;

    send(&mut s, "from-s").await;
    assert_eq!(recv_text(&mut o1).await, "from-s");
    assert_eq!(recv_text(&mut o2).await, "from-s");

    // s did not get "from-s": the first message it sees is o1's marker.
    send(&mut o1, "marker-o1").await;
    assert_eq!(recv_text(&mut s).await, "marker-o1");
    assert_eq!(recv_text(&mut o2).await, "marker-o1");

    // o1 did not get its own marker either: its next message is from s.
    send(&mut s, "again-s").await;
    assert_eq!(recv_text(&mut o1).await, "again-s");
    assert_eq!(recv_text(&mut o2).await, "again-s");
}

#[tokio::test]
async fn static_room_takes_every_connection_of_the_route() {
    let server = start().await;
    let (mut ann, ann_id) = join(&server, "/h/lobby/ann", "lobby").await;
    let (mut bob, bob_id) = join(&server, "/h/lobby/bob", "lobby").await;
    let (mut cy, cy_id) = join(&server, "/h/lobby/cy", "lobby").await;
    assert_eq!(sorted(server.hub().members("lobby")), sorted(vec![ann_id, bob_id, cy_id]));
    assert_eq!(server.hub().rooms(), 1);

    send(&mut bob, "hi").await;
    for ws in [&mut ann, &mut bob, &mut cy] {
        assert_eq!(recv_text(ws).await, "bob: hi");
    }

    // A member that leaves is no longer in the room; the room stays.
    within(cy.close(None)).await.expect("close");
    until_end(&mut cy).await;
    eventually(|| server.hub().members("lobby").len() == 2).await;
    assert_eq!(sorted(server.hub().members("lobby")), sorted(vec![ann_id, bob_id]));
    assert_eq!(server.hub().rooms(), 1);
    send(&mut ann, "bye").await;
    assert_eq!(recv_text(&mut ann).await, "ann: bye");
    assert_eq!(recv_text(&mut bob).await, "ann: bye");
}

// ---------------------------------------------------------------- run-time rooms, presence, ids

#[tokio::test]
async fn join_and_leave_at_run_time_with_presence() {
    let server = start().await;
    let hub = server.hub();
    let (mut c1, id1) = cmd_client(&server).await;
    let (mut c2, id2) = cmd_client(&server).await;
    let (mut c3, id3) = cmd_client(&server).await;
    assert_ne!(id1, id2);
    assert_ne!(id2, id3);
    assert_eq!(hub.connections(), 3);
    assert_eq!(hub.rooms(), 0);
    assert!(hub.members("red").is_empty());

    assert_eq!(ask(&mut c1, "join:red").await, "joined:red");
    assert_eq!(ask(&mut c2, "join:red").await, "joined:red");
    assert_eq!(ask(&mut c3, "join:blue").await, "joined:blue");
    assert_eq!(ask(&mut c1, "join:blue").await, "joined:blue");
    // Joining twice is a no-op.
    assert_eq!(ask(&mut c1, "join:red").await, "joined:red");
    assert_eq!(sorted(hub.members("red")), sorted(vec![id1, id2]));
    assert_eq!(sorted(hub.members("blue")), sorted(vec![id1, id3]));
    assert_eq!(hub.rooms(), 2);
    assert_eq!(ask(&mut c1, "rooms").await, "rooms:blue,red");
    assert_eq!(ask(&mut c2, "rooms").await, "rooms:red");

    // c3 is not in red: it can still say something there, and does not hear it.
    assert_eq!(ask(&mut c3, "say:red:hello red").await, "said:2");
    assert_eq!(recv_text(&mut c1).await, "hello red");
    assert_eq!(recv_text(&mut c2).await, "hello red");
    assert_eq!(ask(&mut c3, "id").await, id3.to_string());

    // A member saying something hears it too (before its own reply).
    send(&mut c1, "say:blue:hello blue").await;
    assert_eq!(recv_text(&mut c1).await, "hello blue");
    assert_eq!(recv_text(&mut c1).await, "said:2");
    assert_eq!(recv_text(&mut c3).await, "hello blue");
    // broadcast_others skips the caller.
    assert_eq!(ask(&mut c1, "others:blue:psst").await, "said:1");
    assert_eq!(recv_text(&mut c3).await, "psst");

    // c2 leaves red: it no longer hears red.
    assert_eq!(ask(&mut c2, "leave:red").await, "left:red");
    assert_eq!(hub.members("red"), vec![id1]);
    assert_eq!(ask(&mut c2, "rooms").await, "rooms:");
    assert_eq!(ask(&mut c3, "say:red:only c1").await, "said:1");
    assert_eq!(recv_text(&mut c1).await, "only c1");
    assert_eq!(ask(&mut c2, "id").await, id2.to_string());
    // Leaving a room one is not in is a no-op.
    assert_eq!(ask(&mut c2, "leave:red").await, "left:red");
    assert_eq!(hub.rooms(), 2);

    // The last member leaving removes the room.
    assert_eq!(ask(&mut c1, "leave:red").await, "left:red");
    assert!(hub.members("red").is_empty());
    assert_eq!(hub.rooms(), 1);
    assert_eq!(ask(&mut c3, "say:red:nobody").await, "said:0");

    // A connection that goes leaves its rooms.
    within(c3.close(None)).await.expect("close");
    until_end(&mut c3).await;
    eventually(|| hub.connections() == 2).await;
    assert_eq!(hub.members("blue"), vec![id1]);
    assert_eq!(hub.rooms(), 1);
    assert!(hub.get(id3).is_none());
    assert_eq!(hub.get(id1).map(|c| c.id()), Some(id1));
    drop(c1);
    eventually(|| hub.connections() == 1 && hub.rooms() == 0).await;
    assert!(hub.members("blue").is_empty());
    drop(c2);
    eventually(|| hub.connections() == 0).await;
}

#[tokio::test]
async fn send_to_an_id_reaches_that_connection_only() {
    let server = start().await;
    let (mut alice, alice_id) = cmd_client(&server).await;
    let (mut bob, bob_id) = cmd_client(&server).await;
    let (mut carol, _) = cmd_client(&server).await;

    assert_eq!(ask(&mut bob, &format!("to:{alice_id}:psst alice")).await, "sent");
    assert_eq!(recv_text(&mut alice).await, "psst alice");
    assert_eq!(ask(&mut alice, &format!("to:{bob_id}:hi bob")).await, "sent");
    assert_eq!(recv_text(&mut bob).await, "hi bob");
    // Carol got neither: her first message is the answer to her own question.
    assert_eq!(ask(&mut carol, "rooms").await, "rooms:");
    // The id a handler reports is the hub's id of that connection.
    let carol_id: ConnId = ask(&mut carol, "id").await.parse().expect("an id");
    assert_eq!(server.hub().get(carol_id).map(|c| (c.id(), c.route())), Some((carol_id, "/h/cmd")));

    // An id that is not open is an error, not a hang.
    assert_eq!(ask(&mut alice, "to:999999999:nobody").await, "error:the connection is closed");
    within(bob.close(None)).await.expect("close");
    until_end(&mut bob).await;
    eventually(|| server.hub().get(bob_id).is_none()).await;
    assert_eq!(ask(&mut alice, &format!("to:{bob_id}:gone")).await, "error:the connection is closed");
}

#[tokio::test]
async fn hub_pushes_from_outside_reach_members() {
    let server = start().await;
    let hub = server.hub().clone();
    let (mut m1, id1) = join(&server, "/h/chat/out", "chat:out").await;
    let (mut m2, id2) = join(&server, "/h/chat/out", "chat:out").await;
    let (mut other, other_id) = join(&server, "/h/chat/elsewhere", "chat:elsewhere").await;

    assert_eq!(hub.broadcast("chat:out", "from outside"), 2);
    assert_eq!(recv_text(&mut m1).await, "from outside");
    assert_eq!(recv_text(&mut m2).await, "from outside");
    assert_eq!(hub.broadcast("chat:nobody", "lost"), 0);

    assert_eq!(hub.broadcast_except("chat:out", "not for m1", id1), 1);
    assert_eq!(recv_text(&mut m2).await, "not for m1");

    hub.send_to(id1, "just m1").expect("send_to an open connection");
    assert_eq!(recv_text(&mut m1).await, "just m1");
    hub.send_to(other_id, Message::binary(vec![1u8, 2, 3])).expect("send_to");
    assert_eq!(recv(&mut other).await, WsMessage::Binary(vec![1u8, 2, 3].into()));
    assert_eq!(hub.send_to(u64::MAX.to_string().parse().expect("an id"), "nobody"), Err(SendError::Closed));

    // From a task, while clients talk: everything arrives, in order.
    let pusher = tokio::spawn({
        let hub = hub.clone();
        async move {
            for i in 0..100 {
                assert_eq!(hub.broadcast("chat:out", format!("push {i}")), 2);
                tokio::task::yield_now().await;
            }
        }
    });
    for i in 0..100 {
        assert_eq!(recv_text(&mut m1).await, format!("push {i}"));
        assert_eq!(recv_text(&mut m2).await, format!("push {i}"));
    }
    within(pusher).await.expect("pusher");

    // Nothing of that reached the other room.
    send(&mut other, "marker").await;
    assert_eq!(recv_text(&mut other).await, "marker");
    // A Conn handle taken from the hub sends too.
    hub.get(id2).expect("m2 open").send("via handle").await.expect("send");
    assert_eq!(recv_text(&mut m2).await, "via handle");
}

// ---------------------------------------------------------------- slow consumers

/// How many 64 KiB messages the slow-consumer tests publish: 25 MiB, far
/// more than the loopback socket buffers of a peer that does not read
/// (`tcp_wmem` max is 4 MiB here; the receive window of a peer that never
/// reads does not grow) plus a queue of 8.
const FLOOD: u64 = 400;

/// Publishes `big(0..FLOOD)` through `publisher` (excluded from its own
/// messages), paced by the fast member, which must get each one in order.
async fn publish_paced(publisher: &mut Client, fast: &mut Client) {
    for seq in 0..FLOOD {
        send(publisher, big(seq)).await;
        assert_eq!(seq_of(&recv(fast).await), seq, "the fast member gets every message in order");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_consumer_is_closed_with_1013_and_the_fast_member_gets_everything() {
    let server = start().await;
    let hub = server.hub().clone();
    let (mut publisher, _) = join(&server, "/h/slow/r", "slow:r").await;
    let (mut fast, fast_id) = join(&server, "/h/slow/r", "slow:r").await;
    // Never read (until the end of the test).
    let (mut slow, slow_id) = join(&server, "/h/slow/r", "slow:r").await;
    let slow_conn = hub.get(slow_id).expect("slow is open");

    publish_paced(&mut publisher, &mut fast).await;
    let sent = FLOOD;
    // A close was requested: nothing more can be queued for slow.
    assert_eq!(slow_conn.try_send("probe"), Err(SendError::Closed));

    // The slow member gets what was queued before the overflow, in order and
    // without gaps, then a close frame with 1013.
    let mut next = 0u64;
    let (code, reason) = loop {
        match recv(&mut slow).await {
            WsMessage::Close(Some(frame)) => break (u16::from(frame.code), frame.reason.as_str().to_owned()),
            WsMessage::Close(None) => break (1005, String::new()),
            other => {
                assert_eq!(seq_of(&other), next, "the slow member's messages are in order, without gaps");
                next += 1;
            }
        }
    };
    eprintln!("slow got {next} of {sent} messages before its close");
    assert_eq!(code, 1013, "closed as a slow consumer (reason {reason:?})");
    assert_eq!(reason, "slow consumer: outbound queue full");
    assert!(next < sent, "the slow member cannot have got all {sent} messages (got {next})");
    until_end(&mut slow).await;

    eventually(|| hub.get(slow_id).is_none()).await;
    assert!(!hub.members("slow:r").contains(&slow_id));
    assert_eq!(hub.members("slow:r").len(), 2);
    assert!(hub.members("slow:r").contains(&fast_id));
    assert_eq!(hub.dropped(), 0, "on_full = close drops nothing");

    // The fast member is still served.
    send(&mut publisher, big(sent)).await;
    assert_eq!(seq_of(&recv(&mut fast).await), sent);
    assert_eq!(hub.get(fast_id).map(|c| c.state()), Some(ConnState::Open));
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_consumer_with_on_full_drop_misses_messages_but_stays_open() {
    let server = start().await;
    let hub = server.hub().clone();
    let (mut publisher, _) = join(&server, "/h/lossy/r", "lossy:r").await;
    let (mut fast, fast_id) = join(&server, "/h/lossy/r", "lossy:r").await;
    let (mut slow, slow_id) = join(&server, "/h/lossy/r", "lossy:r").await;

    publish_paced(&mut publisher, &mut fast).await;
    let sent = FLOOD;
    let dropped = hub.dropped();
    assert!(dropped > 0);

    // A message behind everything queued for slow (Conn::send waits for room).
    let slow_conn = hub.get(slow_id).expect("slow is still open");
    assert_eq!(slow_conn.state(), ConnState::Open);
    let end = tokio::spawn(async move { slow_conn.send("end").await });

    let mut got = 0u64;
    let mut last = None;
    loop {
        match recv(&mut slow).await {
            WsMessage::Text(t) if t.as_str() == "end" => break,
            other => {
                let seq = seq_of(&other);
                assert!(last.is_none_or(|l| seq > l), "in order, no duplicates: {seq} after {last:?}");
                last = Some(seq);
                got += 1;
            }
        }
    }
    within(end).await.expect("join").expect("end queued");
    eprintln!("slow got {got} of {sent} messages, {dropped} dropped");
    assert!(got < sent, "some messages were dropped (got {got} of {sent})");
    assert_eq!(got + dropped, sent, "every message was either delivered or counted as dropped");
    assert_eq!(hub.dropped(), dropped);

    // Still open and still a member: what it sends reaches the others.
    assert_eq!(hub.members("lossy:r").len(), 3);
    send(&mut slow, WsMessage::Binary(b"alive".as_slice().into())).await;
    assert_eq!(recv(&mut fast).await, WsMessage::Binary(b"alive".as_slice().into()));
    assert_eq!(recv(&mut publisher).await, WsMessage::Binary(b"alive".as_slice().into()));
    assert_eq!(hub.get(slow_id).map(|c| c.state()), Some(ConnState::Open));
    assert_eq!(hub.get(fast_id).map(|c| c.state()), Some(ConnState::Open));
}

// ---------------------------------------------------------------- concurrency

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_publishers_lose_and_duplicate_nothing() {
    const PUBLISHERS: usize = 8;
    const PER: usize = 1000;
    const MEMBERS: usize = 100;
    let server = start().await;
    let addr = server.local_addr();
    let hub = server.hub().clone();

    let mut members = Vec::with_capacity(MEMBERS);
    for _ in 0..MEMBERS {
        members.push(connect(addr, "/h/fan/r").await);
    }
    eventually(|| hub.members("fan:r").len() == MEMBERS).await;
    let mut publishers = Vec::with_capacity(PUBLISHERS);
    for _ in 0..PUBLISHERS {
        publishers.push(connect(addr, "/h/pub/r").await);
    }
    let started = Instant::now();

    let readers: Vec<_> = members
        .into_iter()
        .map(|mut ws| {
            tokio::spawn(async move {
                let mut next = [0usize; PUBLISHERS];
                for _ in 0..PUBLISHERS * PER {
                    let text = recv_text(&mut ws).await;
                    let (p, seq) = text
                        .strip_prefix('p')
                        .and_then(|t| t.split_once(':'))
                        .and_then(|(p, s)| Some((p.parse::<usize>().ok()?, s.parse::<usize>().ok()?)))
                        .unwrap_or_else(|| panic!("unexpected message {text:?}"));
                    assert!(p < PUBLISHERS, "unexpected publisher in {text:?}");
                    assert_eq!(seq, next[p], "publisher {p}'s messages in order, none lost or repeated");
                    next[p] += 1;
                }
                assert_eq!(next, [PER; PUBLISHERS]);
                ws
            })
        })
        .collect();

    let writers: Vec<_> = publishers
        .into_iter()
        .enumerate()
        .map(|(p, mut ws)| {
            tokio::spawn(async move {
                for seq in 0..PER {
                    within(ws.feed(WsMessage::text(format!("p{p}:{seq}")))).await.expect("feed");
                    if seq % 64 == 63 {
                        within(ws.flush()).await.expect("flush");
                    }
                }
                within(ws.flush()).await.expect("flush");
                ws
            })
        })
        .collect();

    let mut publishers = Vec::new();
    for w in writers {
        publishers.push(within(w).await.expect("publisher task"));
    }
    let mut members = Vec::new();
    for r in readers {
        members.push(within(r).await.expect("member task"));
    }
    let elapsed = started.elapsed();
    eprintln!("{} messages delivered in {elapsed:?}", PUBLISHERS * PER * MEMBERS);

    // Nothing more is pending for anyone: the next message is the marker.
    assert_eq!(hub.broadcast("fan:r", "end"), MEMBERS);
    for ws in &mut members {
        assert_eq!(recv_text(ws).await, "end");
    }
    assert_eq!(hub.dropped(), 0);
    assert_eq!(hub.connections(), MEMBERS + PUBLISHERS);
    drop(publishers);
}

// ---------------------------------------------------------------- abrupt disconnects

#[tokio::test(flavor = "multi_thread")]
async fn registry_empties_after_10000_abrupt_disconnects() {
    common::raise_fd_limit();
    const TOTAL: usize = 10_000;
    const BATCH: usize = 200;
    const PATH_ROOMS: usize = 40;
    const EXTRA_ROOMS: usize = 97;
    // 10 000 connections from one address in seconds: a load test, not a
    // client the per-IP handshake rate is meant for.
    let app = App::new().config(|c| {
        c.heartbeat = None;
        c.handshake_rate_per_ip = None;
    });
    let server = spawn_prefix("/h/", app).await;
    let addr = server.local_addr();
    let hub = server.hub().clone();
    let started = Instant::now();

    for batch in 0..TOTAL / BATCH {
        let mut opening = tokio::task::JoinSet::new();
        for i in 0..BATCH {
            opening.spawn(async move {
                let n = batch * BATCH + i;
                let mut ws = connect(addr, &format!("/h/gone/{}", n % PATH_ROOMS)).await;
                let extra = format!("extra:{}", n % EXTRA_ROOMS);
                send(&mut ws, extra.as_str()).await;
                assert_eq!(recv_text(&mut ws).await, format!("in:{extra}"));
                ws
            });
        }
        let mut clients = Vec::with_capacity(BATCH);
        while let Some(ws) = within(opening.join_next()).await {
            clients.push(ws.expect("client task"));
        }
        assert!(hub.connections() >= BATCH);
        if batch == 0 {
            assert_eq!(hub.connections(), BATCH);
            assert_eq!(hub.rooms(), PATH_ROOMS + EXTRA_ROOMS);
        }
        // Gone without a close frame: half with a FIN, half with a RST.
        for (i, ws) in clients.into_iter().enumerate() {
            if i % 2 == 0 {
                if let MaybeTlsStream::Plain(tcp) = ws.get_ref() {
                    tcp.set_zero_linger().expect("SO_LINGER 0");
                }
            }
            drop(ws);
        }
    }
    let opened = started.elapsed();
    eventually(|| hub.connections() == 0 && hub.rooms() == 0).await;
    eprintln!("{TOTAL} connections opened and dropped in {opened:?}, registry empty after {:?}", started.elapsed());
    for r in 0..PATH_ROOMS {
        assert!(hub.members(&format!("gone:{r}")).is_empty());
    }
    for r in 0..EXTRA_ROOMS {
        assert!(hub.members(&format!("extra:{r}")).is_empty());
    }

    // The server still serves.
    let mut ws = connect(addr, "/h/gone/after").await;
    send(&mut ws, "extra:after").await;
    assert_eq!(recv_text(&mut ws).await, "in:extra:after");
    assert_eq!(hub.connections(), 1);
    assert_eq!(hub.rooms(), 2);
    within(ws.close(None)).await.expect("close");
    until_end(&mut ws).await;
    eventually(|| hub.connections() == 0 && hub.rooms() == 0).await;
}
