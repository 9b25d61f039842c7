//! The contract of typed routes (feature `contract`): the AsyncAPI 3.0
//! document validates against the official schema and says what the
//! routes do (params, room, auth, query, subprotocols, tagged enums,
//! examples, a type without a schema), `App::asyncapi` serves it over
//! HTTP, and the committed TypeScript definitions match the Rust types.
//!
//! Every route of this file lives under `/asyncapi/`, apart from the chat
//! example's, compiled in here to write its definitions.

mod common;

#[allow(dead_code)]
#[path = "../examples/chat.rs"]
mod chat;

use std::path::PathBuf;

use common::{spawn, within};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wirehub::contract::{asyncapi, typescript, Info, Out};
use wirehub::prelude::*;
use wirehub::Position;

// ---------------------------------------------------------------- routes

/// What a member sends to its room.
#[derive(Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
enum RoomIn {
    /// A text for the room.
    Say { text: String },
    /// The member is typing.
    Typing,
}

/// What the room's members get.
#[derive(Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[schemars(example = RoomOut::Said { from: 7, text: "hi".into(), pos: None })]
enum RoomOut {
    /// A member's text.
    Said {
        /// The sender's connection id.
        from: u64,
        text: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pos: Option<Position>,
    },
    /// Someone joined.
    Joined { id: ConnId, members: usize },
}

/// The query of the rooms route.
#[derive(Deserialize)]
struct Nick {
    #[allow(dead_code)]
    nick: Option<String>,
}

struct User;

fn validate(hs: &Handshake) -> Result<User, Reject> {
    hs.bearer_token().map(|_| User).ok_or_else(|| Reject::unauthorized("token required"))
}

#[ws_route(
    "/asyncapi/rooms/{room}",
    broadcast = "rooms:{room}",
    history = 10,
    receives = RoomIn,
    sends = RoomOut,
    auth = validate,
    app_ping = "ping"
)]
async fn rooms(out: Out<RoomOut>, msg: RoomIn, _nick: Query<Nick>) {
    let said = match msg {
        RoomIn::Say { text } => RoomOut::Said { from: 0, text, pos: None },
        RoomIn::Typing => RoomOut::Joined { id: out.conn().id(), members: 1 },
    };
    out.to_room(said);
}

/// A message type without `JsonSchema`: the feature asks nothing of it.
#[derive(Deserialize, Serialize)]
struct Opaque {
    n: u8,
}

#[ws_route("/asyncapi/opaque", receives = Opaque, sends = Opaque, protocols = ["v1.opaque"])]
async fn opaque(msg: Opaque) -> Json<Opaque> {
    Json(msg)
}

#[ws_route("/asyncapi/plain")]
async fn plain(text: String) -> String {
    text
}

// ---------------------------------------------------------------- helpers

fn app() -> App {
    App::empty().route("/asyncapi/rooms/{room}").route("/asyncapi/opaque").route("/asyncapi/plain")
}

fn info() -> Info {
    Info::new("wirehub test app", "1.0.0").description("The routes of tests/asyncapi.rs.")
}

fn data(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(file)
}

/// The errors of `doc` against the official AsyncAPI 3.0.0 schema.
fn asyncapi_errors(doc: &Value) -> Vec<String> {
    let text = std::fs::read_to_string(data("tests/data/asyncapi/asyncapi-3.0.0.schema.json")).expect("schema file");
    let schema: Value = serde_json::from_str(&text).expect("schema JSON");
    let validator = jsonschema::draft7::new(&schema).expect("the official schema compiles");
    validator.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

/// Compares generated text with a committed file (`WIREHUB_BLESS=1` writes it).
fn matches_committed(file: &str, generated: &str) {
    let path = data(file);
    if std::env::var_os("WIREHUB_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&path, generated).expect("write");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{file} is not what the Rust types say: regenerate it with `WIREHUB_BLESS=1 cargo test --test asyncapi` \
         and commit it.\n--- generated:\n{generated}"
    );
}

// ---------------------------------------------------------------- tests

#[test]
fn the_document_validates_against_the_official_asyncapi_3_schema() {
    let doc = asyncapi(&app(), &info());
    let errors = asyncapi_errors(&doc);
    assert!(errors.is_empty(), "{errors:#?}\n{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    let chat = asyncapi(&App::empty().route("/chat/{room}"), &Info::new("Chat", "1.0.0"));
    let errors = asyncapi_errors(&chat);
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn the_validation_catches_a_broken_document() {
    let mut doc = asyncapi(&app(), &info());
    doc["operations"]["rooms.receive"]["action"] = json!("publish"); // AsyncAPI 2's word
    assert!(!asyncapi_errors(&doc).is_empty());
}

#[test]
fn a_channel_tells_the_handshake_the_room_and_the_security() {
    let doc = asyncapi(&app(), &info());
    let rooms = &doc["channels"]["rooms"];
    assert_eq!(rooms["address"], "/asyncapi/rooms/{room}");
    assert!(rooms["parameters"]["room"]["description"].is_string());
    assert_eq!(rooms["x-wirehub-room"], "rooms:{room}");
    assert_eq!(rooms["x-wirehub-history"], 10);
    let ws = &rooms["bindings"]["ws"];
    assert_eq!(ws["method"], "GET");
    assert_eq!(ws["query"]["properties"]["since"]["$ref"], "#/components/schemas/Position");
    assert!(ws["query"]["description"].as_str().is_some_and(|d| d.contains("Query<T>")), "{ws}");
    assert_eq!(doc["components"]["securitySchemes"]["auth"]["scheme"], "bearer");
    let receive = &doc["operations"]["rooms.receive"];
    assert_eq!(receive["action"], "receive");
    assert_eq!(receive["security"][0]["$ref"], "#/components/securitySchemes/auth");
    assert_eq!(receive["reply"]["messages"][0]["$ref"], "#/channels/rooms/messages/Ack");
    assert_eq!(doc["operations"]["rooms.send"]["action"], "send");
    assert_eq!(rooms["messages"]["ping"]["payload"]["const"], "ping");
    let opaque = &doc["channels"]["opaque"];
    assert!(opaque["bindings"]["ws"]["headers"]["properties"]["Sec-WebSocket-Protocol"]["description"]
        .as_str()
        .is_some_and(|d| d.contains("v1.opaque")));
    assert!(doc["operations"]["opaque.receive"].get("security").is_none());
}

#[test]
fn payloads_are_the_types_schemas_with_their_examples() {
    let doc = asyncapi(&app(), &info());
    let messages = &doc["components"]["messages"];
    assert_eq!(messages["RoomIn"]["payload"]["$ref"], "#/components/schemas/RoomIn");
    let room_in = &doc["components"]["schemas"]["RoomIn"]["oneOf"];
    assert_eq!(room_in[0]["properties"]["type"]["const"], "say");
    assert_eq!(room_in[0]["description"], "A text for the room.");
    assert_eq!(messages["RoomOut"]["examples"][0]["payload"], json!({"type": "said", "from": 7, "text": "hi"}));
    // Serialized: `pos` is skipped when empty, so it is optional.
    let said = &doc["components"]["schemas"]["RoomOut"]["oneOf"][0];
    assert!(!said["required"].as_array().expect("required").contains(&json!("pos")), "{said}");
    assert_eq!(doc["components"]["schemas"]["ConnId"]["type"], "integer");
    let opaque = &messages["Opaque"];
    assert!(opaque["description"].as_str().is_some_and(|d| d.contains("does not implement `schemars::JsonSchema`")));
    assert!(opaque["payload"].get("type").is_none(), "an open schema: {opaque}");
    let plain = &doc["channels"]["plain"]["messages"];
    assert_eq!(plain["receives"]["name"], "anyIn");
    assert!(plain.get("Ack").is_none(), "an untyped route answers no ids: {plain}");
}

#[test]
fn the_committed_typescript_definitions_match_the_rust_types() {
    let ts = typescript(&app());
    assert!(ts.contains("export type RoomsReceives = RoomIn;"), "{ts}");
    assert!(ts.contains("export type OpaqueReceives = unknown;"), "{ts}");
    assert!(ts.contains("\"/asyncapi/plain\": { receives: PlainReceives; sends: PlainSends };"), "{ts}");
    matches_committed("tests/data/asyncapi/test-app.d.ts", &ts);
    matches_committed("clients/js/types/chat.d.ts", &typescript(&App::empty().route("/chat/{room}")));
}

#[test]
fn the_readme_shows_the_test_apps_document_as_a_table() {
    let table = table(&asyncapi(&app(), &info()));
    let readme = std::fs::read_to_string(data("README.md")).expect("README.md");
    let (start, end) = ("<!-- asyncapi-table: generated by tests/asyncapi.rs -->\n", "<!-- asyncapi-table end -->");
    let (before, rest) = readme.split_once(start).expect("README.md has the table's start marker");
    let (shown, after) = rest.split_once(end).expect("README.md has the table's end marker");
    if std::env::var_os("WIREHUB_BLESS").is_some() {
        std::fs::write(data("README.md"), format!("{before}{start}{table}{end}{after}")).expect("write README.md");
        return;
    }
    assert_eq!(
        shown, table,
        "README.md's table of routes and messages is not the document's: regenerate it with \
         `WIREHUB_BLESS=1 cargo test --test asyncapi`"
    );
}

/// The document as a Markdown table, a row per channel: its room and
/// security, and each way's messages with their payloads' variants (tag
/// and fields). The envelopes every typed route has (`Ack`,
/// `ErrorAnswer`) are left to the text around it.
fn table(doc: &Value) -> String {
    let mut out = String::from("| route | handshake, room | client → server | server → client |\n|---|---|---|---|\n");
    for (name, channel) in doc["channels"].as_object().into_iter().flatten() {
        let ways = ["receive", "send"].map(|way| {
            let messages = doc["operations"][format!("{name}.{way}")]["messages"].as_array().cloned();
            let each = messages.into_iter().flatten().filter_map(|reference| {
                let key = reference["$ref"].as_str().and_then(|r| r.rsplit('/').next()).unwrap_or_default();
                let message = resolve(doc, &channel["messages"][key]);
                let name = message["name"].as_str().unwrap_or(key).to_owned();
                let shown = !["Ack", "ErrorAnswer"].contains(&name.as_str());
                shown.then(|| format!("`{name}`: {}", variants(doc, &resolve(doc, &message["payload"]))))
            });
            each.collect::<Vec<_>>().join("; ")
        });
        let mut notes = Vec::new();
        if let Some(room) = channel["x-wirehub-room"].as_str() {
            notes.push(format!("room `{room}`"));
        }
        if doc["operations"][format!("{name}.receive")].get("security").is_some() {
            notes.push("auth (bearer)".to_owned());
        }
        let ws = &channel["bindings"]["ws"];
        for (part, label) in [("query", "query"), ("headers", "headers")] {
            let names: Vec<String> =
                ws[part]["properties"].as_object().into_iter().flatten().map(|(k, _)| format!("`{k}`")).collect();
            if ws.get(part).is_some() {
                notes.push(if names.is_empty() { label.to_owned() } else { format!("{label} {}", names.join(", ")) });
            }
        }
        let route = channel["address"].as_str().unwrap_or_default();
        out.push_str(&format!("| `{route}` | {} | {} | {} |\n", notes.join(", "), ways[0], ways[1]));
    }
    out
}

/// The object a `$ref` points at (in this document), or the value itself.
fn resolve(doc: &Value, value: &Value) -> Value {
    match value["$ref"].as_str().and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => doc.pointer(pointer).cloned().unwrap_or(Value::Null),
        None => value.clone(),
    }
}

/// `` `say` (text), `typing` `` for a tagged enum; the fields of an object.
fn variants(doc: &Value, schema: &Value) -> String {
    let members =
        schema["oneOf"].as_array().or(schema["anyOf"].as_array()).cloned().unwrap_or_else(|| vec![schema.clone()]);
    let each = members.iter().map(|member| {
        let member = resolve(doc, member);
        let Some(properties) = member["properties"].as_object() else {
            return member["const"].as_str().map_or_else(|| "any".to_owned(), |c| format!("`{c:?}`"));
        };
        let tag = properties.values().find_map(|p| p["const"].as_str());
        let fields: Vec<&str> =
            properties.iter().filter(|(_, p)| p.get("const").is_none()).map(|(k, _)| k.as_str()).collect();
        match (tag, fields.is_empty()) {
            (Some(tag), true) => format!("`{tag}`"),
            (Some(tag), false) => format!("`{tag}` ({})", fields.join(", ")),
            (None, _) => format!("({})", fields.join(", ")),
        }
    });
    each.collect::<Vec<_>>().join(", ")
}

#[tokio::test]
async fn the_app_serves_its_document_over_http() {
    let served = app().asyncapi("/asyncapi.json", info());
    let server = spawn(served).await;
    let response = get(server.local_addr(), "/asyncapi.json").await;
    let (head, body) = response.split_once("\r\n\r\n").expect("a response head");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.to_ascii_lowercase().contains("content-type: application/json"), "{head}");
    let doc: Value = serde_json::from_str(body).expect("a JSON body");
    assert_eq!(doc, asyncapi(&app(), &info()));
    within(server.shutdown()).await.expect("shuts down");
}

#[tokio::test]
async fn an_embedded_app_describes_the_routes_it_was_built_with() {
    let embedded = within(app().build()).await.expect("builds");
    assert_eq!(asyncapi(&embedded, &info()), asyncapi(&app(), &info()));
    assert_eq!(typescript(&embedded), typescript(&app()));
    within(embedded.shutdown()).await;
}

#[test]
fn the_document_path_is_a_page_that_check_sees() {
    let err = app().asyncapi("/asyncapi/plain", info()).check().expect_err("a page on a route's path");
    assert!(err.to_string().contains("/asyncapi/plain"), "{err}");
}

/// `GET path` over TCP with `Connection: close`; the whole response.
async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut tcp = within(tokio::net::TcpStream::connect(addr)).await.expect("connects");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    within(tcp.write_all(request.as_bytes())).await.expect("writes");
    let mut response = Vec::new();
    within(tcp.read_to_end(&mut response)).await.expect("reads");
    String::from_utf8(response).expect("UTF-8")
}
