//! Room chat: `cargo run --example chat`, then open http://127.0.0.1:8000/
//! in two browser tabs. `HOST` and `PORT` override the address.
//!
//! With `WIREHUB_REDIS_URL=redis://127.0.0.1:6379` (or `--redis URL`), rooms
//! span every instance on that Redis: run two instances on two ports and
//! chat across them.
//!
//! Each text a member sends (a plain text frame, or
//! `{"type":"message","text":..,"id":..}`) reaches every member of its room as
//! `{"type":"message","room":..,"from":..,"text":..,"pos":..}`, and a message
//! with an `"id"` is then acknowledged to its sender only with
//! `{"type":"ack","id":..,"pos":..}` (no `"id"`, no ack); a new member
//! gets `{"type":"welcome","id":..}` (its own id). Who is in the room comes
//! from the framework's presence events (`presence = true`; identities are
//! connection ids here, counted on every instance): a new member gets
//! `{"type":"presence_state","room":"chat:..","count":N,"members":{"<id>":null,..}}`,
//! then every member `{"type":"presence_diff","room":..,"count":N,"joins":{..},"leaves":{..},"updates":{}}`
//! at most every 100 ms (see `wirehub::hub::presence`).
//!
//! Every room message carries `"pos"`, an opaque position: a client that
//! reconnects to `/chat/{room}?since=<pos>` (the last one it saw) first gets
//! `{"type":"recovered","ok":true|false,"missed":N}`, then, when ok, the
//! messages it missed (as they were sent, each with its `pos`), then live
//! ones. The room keeps its last 100 messages, for at most 5 minutes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use wirehub::contract::Info;
use wirehub::prelude::*;
use wirehub::Position;

/// What a member sends: `{"type":"message","text":..}` (with an optional
/// `"id"`, acknowledged), or a plain text frame.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
enum ChatIn {
    Tagged(Tagged),
    /// A plain text frame: the message's text.
    Text(String),
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Tagged {
    /// A message for the room.
    #[schemars(example = example_message())]
    Message {
        /// What to say (trimmed; empty texts are ignored).
        text: String,
    },
}

fn example_message() -> serde_json::Value {
    serde_json::json!({"type": "message", "text": "hello", "id": "c1"})
}

/// What the server sends.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ChatOut {
    /// To a new member: its own connection id.
    Welcome { id: ConnId },
    /// A member's message, to the whole room (its sender included).
    Message { room: String, from: ConnId, text: String, pos: Option<Position> },
}

/// The acknowledgement's fields: where the message went in the room's history.
#[derive(Debug, Serialize, JsonSchema)]
struct Sent {
    pos: Option<Position>,
}

/// Relays a member's text to its room (the `broadcast` room, sender
/// included); a message with an `"id"` is then acknowledged to its sender
/// with `{"type":"ack","id":..,"pos":..}`.
#[ws_route(
    "/chat/{room}",
    broadcast = "chat:{room}",
    receives = ChatIn,
    sends = ChatOut,
    history = 100,
    history_ttl = "5m",
    presence = true,
    on_open = joined,
    on_close = left,
    app_ping = "ping"
)]
async fn chat(out: Out<ChatOut>, msg: ChatIn) -> Option<Ack<Sent>> {
    let (ChatIn::Tagged(Tagged::Message { text }) | ChatIn::Text(text)) = msg;
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let (room, from) = (out.conn().param("room").unwrap_or_default().to_owned(), out.conn().id());
    let pos = out.publish(|pos| ChatOut::Message { room, from, text: text.to_owned(), pos });
    Some(Ack(Sent { pos }))
}

async fn joined(out: Out<ChatOut>) {
    let _ = out.send(ChatOut::Welcome { id: out.conn().id() }).await;
}

async fn left(conn: Conn, reason: CloseReason) {
    println!("connection {} left {:?}: {reason}", conn.id(), conn.param("room"));
}

#[tokio::main]
async fn main() -> wirehub::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PORT").unwrap_or_else(|_| "8000".into());
    println!("chat on http://{host}:{port}/ (WebSocket: ws://{host}:{port}/chat/{{room}})");
    let mut app = wirehub::App::new();
    let flag = std::env::args().skip_while(|a| a != "--redis").nth(1);
    let redis = flag.map(wirehub::backplane::Redis::connect).or_else(wirehub::backplane::Redis::from_env);
    if let Some(redis) = redis {
        println!("rooms shared through Redis");
        app = app.backplane(redis);
    }
    app.bind(format!("{host}:{port}"))
        .page("/", "text/html; charset=utf-8", include_str!("chat.html"))
        .page("/wirehub.js", "text/javascript; charset=utf-8", include_str!("../clients/js/wirehub.js"))
        .asyncapi("/asyncapi.json", Info::new("wirehub chat", "1.0.0"))
        .get("/stats", |hub| format!("{} connections, {} rooms\n", hub.connections(), hub.rooms()))
        .serve()
        .await
}

/// The chat's behaviour, tested in memory with `wirehub::testing`
/// (run by `tests/chat_example.rs`, which compiles this file in: `cargo test --test chat_example`).
/// Messages are compared as parsed JSON, never as strings.
#[cfg(test)]
mod tests {
    use serde_json::{json, Value};
    use wirehub::testing::{TestClient, TestError, TestServer};
    use wirehub::App;

    async fn chat() -> TestServer {
        TestServer::new(App::empty().route("/chat/{room}")).await.expect("the chat builds")
    }

    /// Connects to `room`, takes its welcome and the room's presence state
    /// (listing itself), and returns the client with its id.
    async fn join(server: &TestServer, room: &str) -> Result<(TestClient, Value), TestError> {
        let client = server.connect(&format!("/chat/{room}")).await?;
        welcomed(client, room).await
    }

    async fn welcomed(mut client: TestClient, room: &str) -> Result<(TestClient, Value), TestError> {
        let (one, two): (Value, Value) = (client.recv_json().await?, client.recv_json().await?);
        let (welcome, state) = if one["type"] == "welcome" { (one, two) } else { (two, one) };
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        let id = welcome["id"].clone();
        assert!(!id.is_null(), "{welcome}");
        let room = format!("chat:{room}");
        assert_eq!((&state["type"], &state["room"]), (&json!("presence_state"), &json!(room)), "{state}");
        assert!(state["members"].get(id.to_string()).is_some(), "it is listed: {state}");
        Ok((client, id))
    }

    /// Drops the `pos` of a room message (compared apart).
    fn without_pos(mut message: Value) -> Value {
        assert!(message["pos"].is_string(), "a room message carries its position: {message}");
        message.as_object_mut().map(|m| m.remove("pos"));
        message
    }

    #[tokio::test]
    async fn a_new_member_is_welcomed_with_its_id() -> Result<(), TestError> {
        let server = chat().await;
        let (_ann, ann_id) = join(&server, "lobby").await?;
        let (_bob, bob_id) = join(&server, "lobby").await?;
        assert_ne!(ann_id, bob_id);
        Ok(())
    }

    #[tokio::test]
    async fn a_message_reaches_every_member_of_the_room_only() -> Result<(), TestError> {
        let server = chat().await;
        let (mut ann, ann_id) = join(&server, "lobby").await?;
        let (mut bob, _) = join(&server, "lobby").await?;
        let (mut eve, _) = join(&server, "elsewhere").await?;
        ann.recv_json::<Value>().await?; // bob's join (a presence diff)
        ann.send_text("  hello  ").await?;
        let expected = json!({"type": "message", "room": "lobby", "from": ann_id, "text": "hello"});
        assert_eq!(without_pos(bob.recv_json().await?), expected);
        assert_eq!(without_pos(ann.recv_json().await?), expected);
        eve.send_text("only here").await?;
        let own: Value = eve.recv_json().await?;
        assert_eq!(own["text"], "only here");
        // Eve's room got her message before she did: had it reached bob,
        // it would come before this one.
        ann.send_text("next").await?;
        let next: Value = bob.recv_json().await?;
        assert_eq!(next["text"], "next", "{next}");
        Ok(())
    }

    /// A presence diff with `joins` and `leaves` by id (no metadata), and the count.
    fn diff(joins: &[&Value], leaves: &[&Value], count: usize) -> Value {
        let ids =
            |ids: &[&Value]| ids.iter().map(|id| (id.to_string(), Value::Null)).collect::<serde_json::Map<_, _>>();
        json!({"type": "presence_diff", "room": "chat:lobby", "count": count, "joins": ids(joins), "leaves": ids(leaves), "updates": {}})
    }

    #[tokio::test]
    async fn presence_diffs_tell_who_joins_and_leaves_and_count_the_members() -> Result<(), TestError> {
        let server = chat().await;
        let (mut ann, _) = join(&server, "lobby").await?;
        let (mut bob, bob_id) = join(&server, "lobby").await?;
        assert_eq!(ann.recv_json::<Value>().await?, diff(&[&bob_id], &[], 2));
        bob.close().await?;
        assert_eq!(ann.recv_json::<Value>().await?, diff(&[], &[&bob_id], 1));
        Ok(())
    }

    #[tokio::test]
    async fn a_json_message_with_an_id_is_acked_to_its_sender_after_the_room_got_it() -> Result<(), TestError> {
        let server = chat().await;
        let (mut ann, ann_id) = join(&server, "lobby").await?;
        let (mut bob, _) = join(&server, "lobby").await?;
        ann.recv_json::<Value>().await?; // bob's join
        ann.send_text(r#"{"type":"message","text":"hi","id":"c1"}"#).await?;
        let relayed: Value = ann.recv_json().await?;
        let expected = json!({"type": "message", "room": "lobby", "from": ann_id, "text": "hi"});
        assert_eq!(without_pos(relayed.clone()), expected);
        ann.expect_json_eq(&json!({"type": "ack", "id": "c1", "pos": relayed["pos"]})).await;
        assert_eq!(without_pos(bob.recv_json().await?), expected);
        // Without an id, no ack: Ann's next message is the room's.
        ann.send_text(r#"{"type":"message","text":"no id"}"#).await?;
        ann.send_text(r#"{"type":"message","text":"again","id":"c2"}"#).await?;
        assert_eq!(ann.recv_json::<Value>().await?["text"], "no id");
        assert_eq!(ann.recv_json::<Value>().await?["text"], "again");
        assert_eq!(ann.recv_json::<Value>().await?["id"], "c2");
        Ok(())
    }

    #[tokio::test]
    async fn a_message_that_is_not_a_chat_message_is_refused_and_the_member_stays() -> Result<(), TestError> {
        let server = chat().await;
        let (mut ann, _) = join(&server, "lobby").await?;
        ann.send_text(r#"{"type":"shout","text":"x","id":"bad"}"#).await?;
        let refused: Value = ann.recv_json().await?;
        assert_eq!((&refused["type"], &refused["id"]), (&json!("error"), &json!("bad")), "{refused}");
        ann.send_text("still here").await?;
        assert_eq!(ann.recv_json::<Value>().await?["text"], "still here");
        Ok(())
    }

    #[tokio::test]
    async fn empty_texts_are_ignored() -> Result<(), TestError> {
        let server = chat().await;
        let (mut ann, _) = join(&server, "lobby").await?;
        ann.send_text("").await?;
        ann.send_text("   ").await?;
        ann.send_text("real").await?;
        // Messages are handled in order: the next one is the third's.
        let next: Value = ann.recv_json().await?;
        assert_eq!((&next["type"], &next["text"]), (&json!("message"), &json!("real")), "{next}");
        Ok(())
    }

    #[tokio::test]
    async fn app_ping_is_answered_to_the_sender_only() -> Result<(), TestError> {
        let server = chat().await;
        let (mut ann, _) = join(&server, "lobby").await?;
        let (mut bob, _) = join(&server, "lobby").await?;
        ann.recv_json::<Value>().await?; // bob's join
        ann.send_text("ping").await?;
        ann.expect_json_eq(&json!({"type": "pong"})).await;
        ann.send_text("after the ping").await?;
        // Bob's next message is the text, not a pong nor a relayed "ping".
        let next: Value = bob.recv_json().await?;
        assert_eq!(next["text"], "after the ping", "{next}");
        Ok(())
    }

    #[tokio::test]
    async fn a_member_reconnecting_with_since_gets_what_it_missed_then_live() -> Result<(), TestError> {
        let server = chat().await;
        let (mut ann, _) = join(&server, "lobby").await?;
        let (mut bob, bob_id) = join(&server, "lobby").await?;
        ann.recv_json::<Value>().await?; // bob's join
        ann.send_text("seen").await?;
        let seen: Value = bob.recv_json().await?;
        let since = seen["pos"].as_str().unwrap_or_default().to_owned();
        ann.recv_json::<Value>().await?; // its own "seen"
        bob.close().await?;
        assert_eq!(ann.recv_json::<Value>().await?, diff(&[], &[&bob_id], 1));
        ann.send_text("missed").await?;
        ann.recv_json::<Value>().await?; // its own "missed"
        let mut bob = server.connect(&format!("/chat/lobby?since={since}")).await?;
        // Presence is not history: the state after the recovery says who is here.
        bob.expect_json_eq(&json!({"type": "recovered", "ok": true, "missed": 1})).await;
        let missed = without_pos(bob.recv_json().await?);
        assert_eq!((&missed["type"], &missed["text"]), (&json!("message"), &json!("missed")), "{missed}");
        let (mut bob, new_id) = welcomed(bob, "lobby").await?;
        assert_ne!(new_id, bob_id);
        ann.send_text("live").await?;
        let live = without_pos(bob.recv_json().await?);
        assert_eq!(live["text"], "live", "{live}");
        Ok(())
    }

    #[tokio::test]
    async fn a_position_of_another_epoch_is_not_recovered() -> Result<(), TestError> {
        let server = chat().await;
        let mut ann = server.connect("/chat/lobby?since=0-7").await?;
        ann.expect_json_eq(&json!({"type": "recovered", "ok": false, "missed": 0})).await;
        welcomed(ann, "lobby").await?;
        Ok(())
    }
}
