//! Typed routes over real sockets: `receives` decodes every message (and
//! answers what is not one, staying open), plain text through a string
//! variant, acknowledgements (exactly one answer per message with an
//! `"id"`, after its room message; errors with the id), and the server's
//! requests to a client (answer, refusal, timeout, disconnect).
//!
//! Every route of this file lives under `/contract/`.

mod common;

use std::time::Duration;

use common::{connect, recv_text, send, spawn_prefix, within, Client};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use wirehub::contract::{Out, RequestError};
use wirehub::prelude::*;
use wirehub::Server;

// ---------------------------------------------------------------- routes

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum CalcIn {
    Add { a: i64, b: i64 },
    Divide { a: i64, b: i64 },
}

#[derive(Serialize)]
struct Result1 {
    value: i64,
}

/// Answers through acks only: `{"type":"add","a":1,"b":2,"id":"q"}` →
/// `{"type":"ack","id":"q","value":3}`; dividing by zero is an error answer.
#[ws_route("/contract/calc", receives = CalcIn)]
async fn calc(msg: CalcIn) -> Result<Ack<Result1>, ErrorReply> {
    Ok(Ack(Result1 {
        value: match msg {
            CalcIn::Add { a, b } => a + b,
            CalcIn::Divide { a, b } => {
                a.checked_div(b).ok_or_else(|| ErrorReply::new("division by zero").with_code("div0"))?
            }
        },
    }))
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ChatIn {
    Tagged(Tagged),
    Text(String),
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Tagged {
    Message { text: String },
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ChatOut {
    Message { text: String },
}

/// The room gets each message; a message with an id is acked after it.
#[ws_route("/contract/chat", broadcast = "contract-chat", receives = ChatIn, sends = ChatOut)]
async fn chat(msg: ChatIn) -> Json<ChatOut> {
    let text = match msg {
        ChatIn::Tagged(Tagged::Message { text }) | ChatIn::Text(text) => text,
    };
    Json(ChatOut::Message { text })
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum AskIn {
    Ask { timeout_ms: u64 },
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum AskOut {
    Question { text: &'static str },
}

#[derive(Deserialize, Debug)]
struct Answer {
    yes: bool,
}

/// Where the requests' outcomes go (each test reads its own).
struct Outcomes(mpsc::UnboundedSender<Result<bool, RequestError>>);

/// `{"type":"ask","timeout_ms":N}`: asks the client a question from a task
/// of its own and reports the outcome to the test.
#[ws_route("/contract/ask", receives = AskIn, sends = AskOut)]
async fn ask(out: Out<AskOut>, msg: AskIn, outcomes: State<Outcomes>) {
    let AskIn::Ask { timeout_ms } = msg;
    let report = outcomes.0 .0.clone();
    tokio::spawn(async move {
        let asked = out.request::<Answer>(AskOut::Question { text: "ok?" }, Duration::from_millis(timeout_ms)).await;
        let _ = report.send(asked.map(|a| a.yes));
    });
}

async fn server() -> (Server, mpsc::UnboundedReceiver<Result<bool, RequestError>>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (spawn_prefix("/contract/", App::new().state(Outcomes(tx))).await, rx)
}

async fn json(ws: &mut Client) -> Value {
    let text = recv_text(ws).await;
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

// ---------------------------------------------------------------- acks

#[tokio::test]
async fn a_message_with_an_id_gets_its_ack_with_the_id_as_written() {
    let (server, _) = server().await;
    let mut ws = connect(server.local_addr(), "/contract/calc").await;
    send(&mut ws, r#"{"type":"add","a":1,"b":2,"id":"q1"}"#).await;
    assert_eq!(json(&mut ws).await, json!({"type": "ack", "id": "q1", "value": 3}));
    send(&mut ws, r#"{"id":42,"type":"add","a":40,"b":2}"#).await;
    assert_eq!(json(&mut ws).await, json!({"type": "ack", "id": 42, "value": 42}));
}

#[tokio::test]
async fn a_message_without_an_id_gets_no_answer() {
    let (server, _) = server().await;
    let mut ws = connect(server.local_addr(), "/contract/calc").await;
    send(&mut ws, r#"{"type":"add","a":1,"b":1}"#).await;
    send(&mut ws, r#"{"type":"add","a":2,"b":2,"id":"second"}"#).await;
    // Messages are handled in order: the first answer is the second's.
    assert_eq!(json(&mut ws).await, json!({"type": "ack", "id": "second", "value": 4}));
}

#[tokio::test]
async fn errors_answer_with_the_id_instead_of_an_ack_and_the_connection_stays_open() {
    let (server, _) = server().await;
    let mut ws = connect(server.local_addr(), "/contract/calc").await;
    send(&mut ws, r#"{"type":"divide","a":1,"b":0,"id":"d"}"#).await;
    assert_eq!(json(&mut ws).await, json!({"type": "error", "id": "d", "error": "division by zero", "code": "div0"}));
    // Not a `CalcIn`: the extractor's refusal, with the id.
    send(&mut ws, r#"{"type":"multiply","a":1,"b":2,"id":"m"}"#).await;
    let refused = json(&mut ws).await;
    assert_eq!((&refused["type"], &refused["id"]), (&json!("error"), &json!("m")), "{refused}");
    let text = refused["error"].as_str().unwrap_or_default();
    assert!(text.starts_with("this endpoint receives `CalcIn` messages: unknown variant `multiply`"), "{text}");
    // An id that is neither a string nor an integer.
    send(&mut ws, r#"{"type":"add","a":1,"b":2,"id":{"no":1}}"#).await;
    assert_eq!(json(&mut ws).await, json!({"type": "error", "error": "`id` must be a string or an integer"}));
    send(&mut ws, r#"{"type":"add","a":1,"b":2,"id":"still"}"#).await;
    assert_eq!(json(&mut ws).await["id"], "still");
}

#[tokio::test]
async fn the_room_gets_the_message_before_the_sender_gets_its_ack_and_plain_text_still_works() {
    let (server, _) = server().await;
    let addr = server.local_addr();
    let mut ann = connect(addr, "/contract/chat").await;
    let mut bob = connect(addr, "/contract/chat").await;
    // Bob is in the room once his own message comes back.
    send(&mut bob, "ready").await;
    assert_eq!(json(&mut bob).await, json!({"type": "message", "text": "ready"}));
    assert_eq!(json(&mut ann).await, json!({"type": "message", "text": "ready"}));

    send(&mut ann, r#"{"type":"message","text":"hi","id":"c1"}"#).await;
    assert_eq!(json(&mut ann).await, json!({"type": "message", "text": "hi"}));
    assert_eq!(json(&mut ann).await, json!({"type": "ack", "id": "c1"}));
    assert_eq!(json(&mut bob).await, json!({"type": "message", "text": "hi"}));
    // Bob's next message is the next thing he reads: no ack of Ann's reached him.
    send(&mut bob, "plain").await;
    assert_eq!(json(&mut bob).await, json!({"type": "message", "text": "plain"}));
}

// ---------------------------------------------------------------- requests

/// Sends an ask and returns the question the server sent (with its id).
async fn asked(ws: &mut Client, timeout_ms: u64) -> Value {
    send(ws, json!({"type": "ask", "timeout_ms": timeout_ms}).to_string()).await;
    let question = json(ws).await;
    assert_eq!(question["type"], "question", "{question}");
    assert!(question["id"].as_str().is_some_and(|id| id.starts_with('s')), "{question}");
    question
}

async fn outcome(rx: &mut mpsc::UnboundedReceiver<Result<bool, RequestError>>) -> Result<bool, RequestError> {
    within(rx.recv()).await.expect("the request task reports")
}

#[tokio::test]
async fn a_server_request_resolves_with_the_clients_answer() {
    let (server, mut rx) = server().await;
    let mut ws = connect(server.local_addr(), "/contract/ask").await;
    let question = asked(&mut ws, 5_000).await;
    send(&mut ws, json!({"type": "ack", "id": question["id"], "yes": true}).to_string()).await;
    assert_eq!(outcome(&mut rx).await, Ok(true));

    let question = asked(&mut ws, 5_000).await;
    send(&mut ws, json!({"type": "error", "id": question["id"], "error": "nope", "code": "no"}).to_string()).await;
    assert_eq!(outcome(&mut rx).await, Err(RequestError::Refused { message: "nope".into(), code: Some("no".into()) }));

    let question = asked(&mut ws, 5_000).await;
    send(&mut ws, json!({"type": "ack", "id": question["id"], "yes": "maybe"}).to_string()).await;
    assert!(matches!(outcome(&mut rx).await, Err(RequestError::Invalid(_))));
}

#[tokio::test]
async fn a_request_times_out_and_its_late_answer_is_ignored() {
    let (server, mut rx) = server().await;
    let mut ws = connect(server.local_addr(), "/contract/ask").await;
    let question = asked(&mut ws, 50).await;
    assert_eq!(outcome(&mut rx).await, Err(RequestError::Timeout));
    // The late answer reaches neither a waiter nor the handler; the next request works.
    send(&mut ws, json!({"type": "ack", "id": question["id"], "yes": true}).to_string()).await;
    let question = asked(&mut ws, 5_000).await;
    send(&mut ws, json!({"type": "ack", "id": question["id"], "yes": false}).to_string()).await;
    assert_eq!(outcome(&mut rx).await, Ok(false));
}

#[tokio::test]
async fn a_request_resolves_as_closed_when_the_client_leaves() {
    let (server, mut rx) = server().await;
    let mut ws = connect(server.local_addr(), "/contract/ask").await;
    asked(&mut ws, 60_000).await;
    drop(ws);
    assert_eq!(outcome(&mut rx).await, Err(RequestError::Closed));
}

/// Awaits its request in the handler itself: the answer is read while the
/// handler runs.
#[ws_route("/contract/inline", receives = AskIn, sends = AskOut)]
async fn inline(out: Out<AskOut>, msg: AskIn) -> Result<Ack<Value>, ErrorReply> {
    let AskIn::Ask { timeout_ms } = msg;
    let answer = out
        .request::<Answer>(AskOut::Question { text: "sure?" }, Duration::from_millis(timeout_ms))
        .await
        .map_err(|e| ErrorReply::new(e.to_string()))?;
    Ok(Ack(json!({"yes": answer.yes})))
}

#[tokio::test]
async fn a_handler_can_await_its_own_request() {
    let (server, _) = server().await;
    let mut ws = connect(server.local_addr(), "/contract/inline").await;
    send(&mut ws, r#"{"type":"ask","timeout_ms":5000,"id":"a1"}"#).await;
    let question = json(&mut ws).await;
    send(&mut ws, json!({"type": "ack", "id": question["id"], "yes": true}).to_string()).await;
    assert_eq!(json(&mut ws).await, json!({"type": "ack", "id": "a1", "yes": true}));
}
