//! Every return type.

use serde::Serialize;
use wirehub::prelude::*;

#[derive(Serialize)]
struct Answer {
    text: String,
}

#[derive(Debug)]
struct MyErr(String);

impl std::fmt::Display for MyErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl HandlerError for MyErr {}

#[derive(Debug)]
struct PolicyErr;

impl std::fmt::Display for PolicyErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not allowed")
    }
}

impl HandlerError for PolicyErr {
    fn on_error(&self) -> Option<wirehub::reply::OnError> {
        Some(wirehub::reply::OnError::Close(CloseCode::Policy))
    }
}

#[ws_route("/r/unit")]
async fn unit(text: String) {
    let _ = text;
}

#[ws_route("/r/unit-explicit")]
async fn unit_explicit(text: String) -> () {
    let _ = text;
}

#[ws_route("/r/string")]
async fn string(text: String) -> String {
    text
}

#[ws_route("/r/static-str")]
async fn static_str(text: String) -> &'static str {
    let _ = text;
    "pong"
}

#[ws_route("/r/utf8")]
async fn utf8(text: Utf8Bytes) -> Utf8Bytes {
    text
}

#[ws_route("/r/vec")]
async fn vec(data: Vec<u8>) -> Vec<u8> {
    data
}

#[ws_route("/r/bytes")]
async fn bytes(data: Bytes) -> Bytes {
    data
}

#[ws_route("/r/message")]
async fn message(msg: Message) -> Message {
    msg
}

#[ws_route("/r/json")]
async fn json(text: String) -> Json<Answer> {
    Json(Answer { text })
}

#[ws_route("/r/json-value")]
async fn json_value(text: String) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "echo": text }))
}

#[ws_route("/r/option")]
async fn option(msg: Message) -> Option<Message> {
    Some(msg)
}

#[ws_route("/r/option-str")]
async fn option_str(text: String) -> Option<&'static str> {
    text.is_empty().then_some("empty")
}

#[ws_route("/r/result-string")]
async fn result_string(text: String) -> Result<String, String> {
    if text.is_empty() {
        Err("empty".to_owned())
    } else {
        Ok(text)
    }
}

#[ws_route("/r/result-close")]
async fn result_close(text: String) -> Result<String, wirehub::Close> {
    if text.is_empty() {
        return Err(Close::new(CloseCode::Policy, "empty"));
    }
    Ok(text)
}

#[ws_route("/r/result-custom")]
async fn result_custom(text: String) -> Result<Json<Answer>, MyErr> {
    if text.is_empty() {
        return Err(MyErr("empty".to_owned()));
    }
    Ok(Json(Answer { text }))
}

#[ws_route("/r/result-custom-code")]
async fn result_custom_code(text: String) -> Result<(), PolicyErr> {
    if text.is_empty() {
        return Err(PolicyErr);
    }
    Ok(())
}

#[ws_route("/r/result-option")]
async fn result_option(text: String) -> Result<Option<String>, std::io::Error> {
    Ok(Some(text))
}

#[ws_route("/r/result-serde")]
async fn result_serde(text: String) -> Result<Json<serde_json::Value>, serde_json::Error> {
    serde_json::from_str(&text).map(Json)
}

#[ws_route("/r/result-boxed")]
async fn result_boxed(text: String) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let n: u32 = text.parse()?;
    Ok(n.to_string())
}

#[ws_route("/r/option-result")]
async fn option_result(text: String) -> Option<Result<String, String>> {
    Some(Ok(text))
}

#[ws_route("/r/reply")]
async fn reply(text: String) -> wirehub::Reply {
    let _ = text;
    wirehub::Reply::None
}

#[ws_route("/r/error-reply")]
async fn error_reply(text: String) -> Result<String, ErrorReply> {
    if text.is_empty() {
        return Err(ErrorReply::new("empty").with_code("empty"));
    }
    Ok(text)
}

#[ws_route("/r/to-sender")]
async fn to_sender(text: String) -> wirehub::reply::ToSender<String> {
    wirehub::reply::ToSender(text)
}

#[ws_route("/r/room/{room}", broadcast = "{room}")]
async fn to_room_and_ack(text: String) -> Result<(wirehub::reply::ToRoom<String>, wirehub::reply::ToSender<&'static str>), ErrorReply> {
    Ok((wirehub::reply::ToRoom(text), wirehub::reply::ToSender("ack")))
}

#[ws_route("/r/three")]
async fn three(text: String) -> (String, Option<&'static str>, Json<Answer>) {
    (text.clone(), None, Json(Answer { text }))
}

fn main() {}
