//! Every extractor, alone and combined.

use serde::Deserialize;
use wirehub::prelude::*;

#[derive(Deserialize)]
struct Command {
    name: String,
}

#[derive(Deserialize)]
struct RoomParams {
    room: String,
    id: u32,
}

#[derive(Deserialize)]
struct Filter {
    topic: Option<String>,
}

#[derive(Default)]
struct Counter(std::sync::atomic::AtomicU64);

#[ws_route("/x/conn")]
async fn conn(conn: Conn) {
    let _ = conn.id();
}

#[ws_route("/x/message")]
async fn message(msg: Message) {
    let _ = msg.kind();
}

#[ws_route("/x/string")]
async fn string(text: String) {
    let _ = text;
}

#[ws_route("/x/utf8")]
async fn utf8(text: Utf8Bytes) {
    let _ = text.as_str();
}

#[ws_route("/x/bytes")]
async fn bytes(data: Bytes) {
    let _ = data.len();
}

#[ws_route("/x/bytes-path")]
async fn bytes_full_path(data: bytes::Bytes) {
    let _ = data.len();
}

#[ws_route("/x/vec")]
async fn vec(data: Vec<u8>) {
    let _ = data.len();
}

#[ws_route("/x/json")]
async fn json(Json(command): Json<Command>) {
    let _ = command.name;
}

#[ws_route("/x/json-value")]
async fn json_value(Json(value): Json<serde_json::Value>) {
    let _ = value;
}

#[ws_route("/x/path-struct/{room}/{id}")]
async fn path_struct(Path(params): Path<RoomParams>) {
    let _ = (params.room, params.id);
}

#[ws_route("/x/path-tuple/{room}/{id}")]
async fn path_tuple(Path((room, id)): Path<(String, u32)>) {
    let _ = (room, id);
}

#[ws_route("/x/path-one-tuple/{room}")]
async fn path_one_tuple(Path((room,)): Path<(String,)>) {
    let _ = room;
}

#[ws_route("/x/path-single/{id}")]
async fn path_single(Path(id): Path<u64>) {
    let _ = id;
}

#[ws_route("/x/path-qualified/{a}/{b}")]
async fn path_qualified(wirehub::Path((a, b)): wirehub::Path<(u8, char)>) {
    let _ = (a, b);
}

#[ws_route("/x/query")]
async fn query(Query(filter): Query<Filter>) {
    let _ = filter.topic;
}

#[ws_route("/x/state")]
async fn state(counter: State<Counter>) {
    let Counter(hits) = &*counter;
    hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

#[ws_route("/x/headers")]
async fn headers(headers: Headers) {
    let _ = headers.get("user-agent");
}

#[ws_route("/x/all/{room}")]
async fn all(
    conn: Conn,
    Path(room): Path<String>,
    Query(filter): Query<Filter>,
    counter: State<Counter>,
    headers: Headers,
    Json(command): Json<Command>,
) {
    let Counter(hits) = &*counter;
    let _ = (conn.id(), room, filter.topic, hits.load(std::sync::atomic::Ordering::Relaxed));
    let _ = (headers.len(), command.name);
}

#[ws_route("/x/message-and-conn")]
async fn message_and_conn(msg: Message, conn: Conn) {
    let _ = (msg.len(), conn.route());
}

#[ws_route("/x/mut-binding")]
async fn mut_binding(mut text: String) -> String {
    text.push('!');
    text
}

#[ws_route("/x/no-args")]
async fn no_args() {}

fn main() {}
