//! Replies over real sockets: errors answered to the sender while the
//! connection stays open, the app's error body (for handler errors and
//! extractor refusals alike), the app-wide error policy and its metric,
//! per-message audiences on broadcast routes (`ToSender`, `ToRoom`, both in
//! order), `ToRoom` where there is no room, `Json` sends through the
//! connection and the hub (a value that does not serialize included), and
//! `anyhow::Error` and `Box<dyn Error + Send + Sync>` as handler errors.
//!
//! Every route of this file lives under `/replies/`.

mod common;

use common::{connect, expect_close, recv_text, scrape, send, spawn_prefix, Client};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use wirehub::prelude::*;
use wirehub::reply::{ErrorInfo, OnError, ToRoom, ToSender};
use wirehub::{SendError, Server};

// ---------------------------------------------------------------- handlers

/// Doubles a number; anything else is answered with an error, and the
/// connection stays open.
#[ws_route("/replies/double")]
async fn double(text: String) -> Result<String, ErrorReply> {
    let n: u32 = text.parse().map_err(|_| ErrorReply::new(format!("not a number: {text}")).with_code("nan"))?;
    Ok((n * 2).to_string())
}

#[derive(Deserialize)]
struct Order {
    qty: u32,
}

/// JSON in: a message that does not parse is refused by the extractor, a
/// zero quantity by the handler; both answers use the app's error body.
#[ws_route("/replies/order")]
async fn order(Json(order): Json<Order>) -> Result<String, ErrorReply> {
    if order.qty == 0 {
        return Err(ErrorReply::new("nothing to order").with_code("empty"));
    }
    Ok(format!("ordered {}", order.qty))
}

/// `Close` always closes, whatever the app's policy.
#[ws_route("/replies/policy")]
async fn policy(text: String) -> Result<String, wirehub::Close> {
    match text.as_str() {
        "close" => Err(wirehub::Close::new(CloseCode::Other(4001), "closed on purpose")),
        _ => Ok(format!("ok:{text}")),
    }
}

/// A plain `Result<_, String>`: the app's policy decides.
#[ws_route("/replies/plain")]
async fn plain(text: String) -> Result<String, String> {
    match text.as_str() {
        "fail" => Err("boom".to_owned()),
        _ => Ok(format!("ok:{text}")),
    }
}

/// A room per path: `private:X` answers the sender only, `ack:X` sends X to
/// the room and then `ack` to the sender, `bad` is an error answer, and
/// anything else goes to the room (the default of a broadcast route).
#[ws_route("/replies/room/{room}", broadcast = "replies:{room}")]
async fn room(text: String) -> Result<(Option<ToRoom<String>>, Option<ToSender<String>>), ErrorReply> {
    Ok(match text.split_once(':') {
        Some(("private", rest)) => (None, Some(ToSender(rest.to_owned()))),
        Some(("ack", rest)) => (Some(ToRoom(rest.to_owned())), Some(ToSender("ack".to_owned()))),
        _ if text == "bad" => return Err(ErrorReply::new("bad message")),
        _ => (Some(ToRoom(text)), None),
    })
}

/// Like `room`, without the sender in room replies.
#[ws_route("/replies/others/{room}", broadcast = "others:{room}", exclude_sender = true)]
async fn others(text: String) -> (ToRoom<String>, ToSender<&'static str>) {
    (ToRoom(text), ToSender("ack"))
}

/// `ToRoom` hidden behind `impl IntoReply` on a route without a room: the
/// macro cannot name the type, so the runtime refuses it.
#[ws_route("/replies/no-room")]
async fn no_room(text: String) -> impl wirehub::IntoReply {
    ToRoom(text)
}

/// A value whose serialization always fails.
struct Refuses;

impl Serialize for Refuses {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("refused on purpose"))
    }
}

/// `Json` sends from a handler: `good` sends JSON through `send` and
/// `try_send`; `bad` tries a value that does not serialize through each
/// send method and reports what they said.
#[ws_route("/replies/json/{room}", broadcast = "json:{room}")]
async fn json_sends(conn: Conn, text: String) -> Option<ToSender<String>> {
    let room = format!("json:{}", conn.param("room").unwrap_or_default());
    match text.as_str() {
        "good" => {
            conn.send(Json(json!({ "via": "send", "id": conn.id() }))).await.ok()?;
            conn.try_send(Json(json!({ "via": "try_send" }))).ok()?;
            None
        }
        "bad" => {
            let send = conn.send(Json(Refuses)).await;
            let try_send = conn.try_send(Json(&Refuses));
            let to = conn.send_to(conn.id(), Json(Refuses));
            let counts = (conn.broadcast(&room, Json(Refuses)), conn.broadcast_others(&room, Json(Refuses)));
            let serialize =
                |r: &Result<(), SendError>| matches!(r, Err(SendError::Serialize(e)) if e.contains("refused"));
            let all = serialize(&send) && serialize(&try_send) && serialize(&to) && counts == (0, 0);
            Some(ToSender(format!("bad sends refused: {all}")))
        }
        _ => Some(ToSender(text)),
    }
}

/// `anyhow::Error` as the handler error: `?` on a parse error (the app's
/// policy), `ensure!` with an `ErrorReply` (answered).
#[ws_route("/replies/anyhow")]
async fn with_anyhow(text: String) -> anyhow::Result<String> {
    let n: u32 = text.parse()?;
    anyhow::ensure!(n != 0, ErrorReply::new("zero").with_code("zero"));
    Ok((n * 2).to_string())
}

/// The same with `Box<dyn Error + Send + Sync>`.
#[ws_route("/replies/boxed")]
async fn with_box(text: String) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let n: u32 = text.parse()?;
    if n == 0 {
        return Err(ErrorReply::new("zero").with_code("zero").into());
    }
    Ok((n * 2).to_string())
}

// ---------------------------------------------------------------- helpers

async fn server(app: App) -> Server {
    spawn_prefix("/replies/", app).await
}

async fn recv_json(ws: &mut Client) -> Value {
    let text = recv_text(ws).await;
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

async fn ask(ws: &mut Client, text: &str) -> String {
    send(ws, WsMessage::text(text)).await;
    recv_text(ws).await
}

async fn errors_counted(server: &Server, route: &str) -> (f64, f64) {
    let samples = scrape(server.local_addr()).await;
    let count = |action| {
        common::sample(&samples, "wirehub_handler_errors_total", &[("route", route), ("action", action)])
            .unwrap_or_else(|| panic!("no {action} series for {route}"))
    };
    (count("close"), count("reply"))
}

// ---------------------------------------------------------------- errors

#[tokio::test]
async fn an_error_reply_keeps_the_connection_open() {
    let server = server(App::new()).await;
    let mut ws = connect(server.local_addr(), "/replies/double").await;
    assert_eq!(ask(&mut ws, "21").await, "42");
    send(&mut ws, WsMessage::text("many")).await;
    assert_eq!(recv_json(&mut ws).await, json!({"type": "error", "error": "not a number: many", "code": "nan"}));
    assert_eq!(ask(&mut ws, "4").await, "8", "the connection still answers");
    assert_eq!(errors_counted(&server, "/replies/double").await, (0.0, 1.0));
}

#[tokio::test]
async fn the_apps_error_body_answers_handler_errors_and_extractor_refusals() {
    let app = App::new().error_body(|e: &ErrorInfo<'_>| {
        Json(json!({ "event": "oops", "why": e.message, "code": e.code, "from": format!("{:?}", e.source) }))
    });
    let server = server(app).await;
    let mut ws = connect(server.local_addr(), "/replies/order").await;
    send(&mut ws, WsMessage::text("{not json")).await;
    let refused = recv_json(&mut ws).await;
    assert_eq!((refused["event"].as_str(), refused["from"].as_str()), (Some("oops"), Some("Extractor")), "{refused}");
    assert!(refused["why"].as_str().is_some_and(|why| why.starts_with("invalid JSON")), "{refused}");
    assert_eq!(refused["code"], Value::Null);

    send(&mut ws, WsMessage::text(r#"{"qty":0}"#)).await;
    let failed = recv_json(&mut ws).await;
    assert_eq!(failed, json!({"event": "oops", "why": "nothing to order", "code": "empty", "from": "Handler"}));
    assert_eq!(ask(&mut ws, r#"{"qty":2}"#).await, "ordered 2");
}

#[tokio::test]
async fn extractor_refusals_keep_the_default_body() {
    let server = server(App::new()).await;
    let mut ws = connect(server.local_addr(), "/replies/order").await;
    send(&mut ws, WsMessage::text("[]")).await;
    let body = recv_json(&mut ws).await;
    assert_eq!(body["type"], "error");
    assert!(body["error"].as_str().is_some_and(|e| e.starts_with("invalid JSON")), "{body}");
    assert_eq!(body.as_object().map(|o| o.len()), Some(2), "no code: {body}");
}

#[tokio::test]
async fn errors_that_do_not_choose_close_with_1011_by_default() {
    let server = server(App::new()).await;
    let mut ws = connect(server.local_addr(), "/replies/plain").await;
    assert_eq!(ask(&mut ws, "a").await, "ok:a");
    send(&mut ws, WsMessage::text("fail")).await;
    assert_eq!(expect_close(&mut ws).await, (1011, "boom".to_owned()));
    assert_eq!(errors_counted(&server, "/replies/plain").await, (1.0, 0.0));
}

#[tokio::test]
async fn the_app_wide_policy_can_answer_instead_and_close_still_closes() {
    let server = server(App::new().config(|c| c.on_error = OnError::reply())).await;
    let mut ws = connect(server.local_addr(), "/replies/plain").await;
    send(&mut ws, WsMessage::text("fail")).await;
    assert_eq!(recv_json(&mut ws).await, json!({"type": "error", "error": "boom"}));
    assert_eq!(ask(&mut ws, "b").await, "ok:b", "the connection stays open");

    let mut ws = connect(server.local_addr(), "/replies/policy").await;
    send(&mut ws, WsMessage::text("close")).await;
    assert_eq!(expect_close(&mut ws).await, (4001, "closed on purpose".to_owned()), "an explicit Close wins");
    assert_eq!(errors_counted(&server, "/replies/plain").await, (0.0, 1.0));
    assert_eq!(errors_counted(&server, "/replies/policy").await, (1.0, 0.0));
}

// ---------------------------------------------------------------- audiences

/// Two members of one room, both past their join: each got an answer on
/// the route, which runs after the join.
async fn pair(server: &Server, path: &str) -> (Client, Client) {
    let mut alice = connect(server.local_addr(), path).await;
    let mut bob = connect(server.local_addr(), path).await;
    for ws in [&mut alice, &mut bob] {
        send(ws, WsMessage::text("private:ready")).await;
        assert_eq!(recv_text(ws).await, "ready");
    }
    (alice, bob)
}

#[tokio::test]
async fn sender_only_replies_and_error_answers_never_reach_the_room() {
    let server = server(App::new()).await;
    let (mut alice, mut bob) = pair(&server, "/replies/room/a").await;
    assert_eq!(ask(&mut alice, "private:secret").await, "secret");
    send(&mut alice, WsMessage::text("bad")).await;
    assert_eq!(recv_json(&mut alice).await, json!({"type": "error", "error": "bad message"}));
    send(&mut alice, WsMessage::text("public")).await;
    assert_eq!(recv_text(&mut alice).await, "public", "a plain reply goes to the room, sender included");
    // Bob's next message is the room's: the secret and the error never came.
    assert_eq!(recv_text(&mut bob).await, "public");
}

#[tokio::test]
async fn a_room_message_and_an_ack_arrive_in_order() {
    let server = server(App::new()).await;
    let (mut alice, mut bob) = pair(&server, "/replies/room/b").await;
    send(&mut alice, WsMessage::text("ack:hello")).await;
    assert_eq!(recv_text(&mut alice).await, "hello");
    assert_eq!(recv_text(&mut alice).await, "ack");
    send(&mut alice, WsMessage::text("next")).await;
    assert_eq!(recv_text(&mut bob).await, "hello");
    assert_eq!(recv_text(&mut bob).await, "next", "bob got no ack");
}

#[tokio::test]
async fn exclude_sender_applies_to_room_replies() {
    let server = server(App::new()).await;
    let mut alice = connect(server.local_addr(), "/replies/others/c").await;
    assert_eq!(ask(&mut alice, "a1").await, "ack", "alice joined; the room was empty");
    let mut bob = connect(server.local_addr(), "/replies/others/c").await;
    assert_eq!(ask(&mut bob, "b1").await, "ack", "bob joined");
    assert_eq!(recv_text(&mut alice).await, "b1");
    assert_eq!(ask(&mut alice, "a2").await, "ack", "alice never gets her own messages");
    assert_eq!(recv_text(&mut bob).await, "a2", "nor bob his");
}

#[tokio::test]
async fn to_room_without_a_room_closes_with_1011() {
    let server = server(App::new()).await;
    let mut ws = connect(server.local_addr(), "/replies/no-room").await;
    send(&mut ws, WsMessage::text("hi")).await;
    assert_eq!(expect_close(&mut ws).await, (1011, "reply to a room on a route without a room".to_owned()));
}

// ---------------------------------------------------------------- JSON sends

#[tokio::test]
async fn json_sends_through_the_connection() {
    let server = server(App::new()).await;
    let mut ws = connect(server.local_addr(), "/replies/json/d").await;
    send(&mut ws, WsMessage::text("good")).await;
    let first = recv_json(&mut ws).await;
    assert_eq!(first["via"], "send");
    assert!(first["id"].is_u64(), "ConnId serializes as a number: {first}");
    assert_eq!(recv_json(&mut ws).await, json!({"via": "try_send"}));
    assert_eq!(ask(&mut ws, "bad").await, "bad sends refused: true");
    assert_eq!(ask(&mut ws, "still open").await, "still open");
}

#[tokio::test]
async fn json_sends_through_the_hub() {
    #[derive(Serialize)]
    struct Event<'a> {
        kind: &'a str,
        n: u32,
    }
    let server = server(App::new()).await;
    let hub = server.hub().clone();
    let mut ws = connect(server.local_addr(), "/replies/json/e").await;
    assert_eq!(ask(&mut ws, "joined").await, "joined");
    let id = hub.members("json:e").first().copied().expect("a member");

    assert_eq!(hub.broadcast("json:e", Json(Refuses)), 0, "nothing sent, logged");
    assert_eq!(hub.broadcast_except("json:e", Json(Refuses), id), 0);
    assert_eq!(hub.send_to_principal("nobody", Json(Refuses)), 0);
    assert!(matches!(hub.send_to(id, Json(Refuses)), Err(SendError::Serialize(e)) if e.contains("refused on purpose")));

    let event = Event { kind: "tick", n: 1 };
    assert_eq!(hub.broadcast("json:e", Json(&event)), 1);
    assert_eq!(hub.send_to(id, Json(json!({"kind": "direct"}))), Ok(()));
    // The first message after the failed sends is the good broadcast.
    assert_eq!(recv_json(&mut ws).await, json!({"kind": "tick", "n": 1}));
    assert_eq!(recv_json(&mut ws).await, json!({"kind": "direct"}));
}

// ---------------------------------------------------------------- error types

async fn check_error_type(path: &str) {
    let server = server(App::new()).await;
    let mut ws = connect(server.local_addr(), path).await;
    assert_eq!(ask(&mut ws, "3").await, "6");
    send(&mut ws, WsMessage::text("0")).await;
    assert_eq!(recv_json(&mut ws).await, json!({"type": "error", "error": "zero", "code": "zero"}), "{path}");
    assert_eq!(ask(&mut ws, "5").await, "10", "{path}: still open after the error answer");
    send(&mut ws, WsMessage::text("x")).await;
    assert_eq!(expect_close(&mut ws).await, (1011, "invalid digit found in string".to_owned()), "{path}");
}

#[tokio::test]
async fn anyhow_errors_work_with_question_mark() {
    check_error_type("/replies/anyhow").await;
}

#[tokio::test]
async fn boxed_errors_work_with_question_mark() {
    check_error_type("/replies/boxed").await;
}
