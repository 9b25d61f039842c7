//! The AsyncAPI 3.0 document of an app's routes (feature `contract`).
//!
//! One channel per route: its address is the path template
//! (`/chat/{room}`), with a parameter per `{param}`; its `ws` binding tells
//! the handshake (GET, the query and headers the route reads, the
//! subprotocols); `x-wirehub-room` names its `broadcast` room. Operations
//! are from the server's side, as AsyncAPI 3.0 has them: the server
//! *receives* the client's messages (`<channel>.receive`, replied to with
//! an ack or an error when they carry an `"id"`) and *sends* its own
//! (`<channel>.send`). A route with `auth` requires the `auth` security
//! scheme. Payloads are the types' JSON Schemas (see [`schema`](super::schema)),
//! with their examples (`#[schemars(example = ..)]`); a type without
//! `JsonSchema` gets an open payload whose description says so.
//!
//! ```
//! # use wirehub::prelude::*;
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! #[serde(tag = "type", rename_all = "snake_case")]
//! enum Say { Say { text: String } }
//!
//! #[ws_route("/doc/{room}", broadcast = "doc:{room}", receives = Say)]
//! async fn room(msg: Say) {
//!     let Say::Say { text } = msg;
//!     let _ = text;
//! }
//!
//! let app = App::empty().route("/doc/{room}");
//! let doc = wirehub::contract::asyncapi(&app, &wirehub::contract::Info::new("Rooms", "1.0.0"));
//! assert_eq!(doc["channels"]["room"]["address"], "/doc/{room}");
//! assert_eq!(doc["operations"]["room.receive"]["action"], "receive");
//! ```

use std::collections::{HashMap, HashSet};

use serde_json::{json, Map, Value};

use super::schema::{RouteSet, Schemas, Way, DEFS};
use super::spec::MessageSpec;
use crate::route::RouteDef;
use crate::template::render_template;

/// The document's `info`: the API's title, version and description.
///
/// ```
/// let info = wirehub::contract::Info::new("Chat", "1.2.0").description("Rooms of people talking.");
/// # drop(info);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// The API's title.
    pub title: String,
    /// The API's version (yours, not AsyncAPI's).
    pub version: String,
    /// A longer description (CommonMark), if any.
    pub description: Option<String>,
}

impl Info {
    /// An `info` with this title and version.
    ///
    /// ```
    /// let info = wirehub::contract::Info::new("Chat", "1.0.0");
    /// assert_eq!(info.title, "Chat");
    /// ```
    pub fn new(title: impl Into<String>, version: impl Into<String>) -> Self {
        Info { title: title.into(), version: version.into(), description: None }
    }

    /// With this description.
    ///
    /// ```
    /// let info = wirehub::contract::Info::new("Chat", "1.0.0").description("Rooms.");
    /// assert_eq!(info.description.as_deref(), Some("Rooms."));
    /// ```
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }
}

/// The AsyncAPI 3.0 document of the routes `app` serves, to write to a
/// file or serve ([`App::asyncapi`](crate::App::asyncapi) serves it at a path).
///
/// One channel per route: its address is the path template
/// (`/chat/{room}`), with a parameter per `{param}`; its `ws` binding tells
/// the handshake (GET, the query and headers the route reads, the
/// subprotocols); `x-wirehub-room` names its `broadcast` room. Operations
/// are from the server's side, as AsyncAPI 3.0 has them: the server
/// *receives* the client's messages (`<channel>.receive`, replied to with
/// an ack or an error when they carry an `"id"`) and *sends* its own
/// (`<channel>.send`). A route with `auth` requires the `auth` security
/// scheme. Payloads are the types' JSON Schemas (`receives` types as they
/// deserialize, `sends` types as they serialize) under
/// `components.schemas`, with their examples (`#[schemars(example = ..)]`);
/// a type without `JsonSchema` gets an open payload whose description says so.
///
/// ```no_run
/// use wirehub::contract::{asyncapi, Info};
///
/// let doc = asyncapi(&wirehub::App::new(), &Info::new("Chat", "1.0.0"));
/// std::fs::write("asyncapi.json", serde_json::to_string_pretty(&doc)?)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn asyncapi(app: &impl RouteSet, info: &Info) -> Value {
    document(app.route_defs(), info)
}

/// The AsyncAPI 3.0 document of these routes.
pub(crate) fn document(routes: &[&'static RouteDef], info: &Info) -> Value {
    let schemas = Schemas::of(routes);
    let mut doc = Doc { schemas: &schemas, messages: Map::new(), keys: HashMap::new(), taken: HashSet::new() };
    let (mut channels, mut operations) = (Map::new(), Map::new());
    let mut names = HashSet::new();
    let mut auth = false;
    for route in routes {
        let name = unique(&mut names, &component_key(route.handler));
        channels.insert(name.clone(), doc.channel(route));
        for (key, operation) in operations_of(route, &name) {
            operations.insert(key, operation);
        }
        auth |= route.options.auth.is_some();
    }
    let mut info_value = json!({ "title": info.title, "version": info.version });
    if let Some(description) = &info.description {
        info_value["description"] = json!(description);
    }
    let mut components = json!({ "schemas": schemas.defs, "messages": doc.messages });
    if auth {
        components["securitySchemes"] = json!({ "auth": security_scheme() });
    }
    json!({
        "asyncapi": "3.0.0",
        "info": info_value,
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": components,
    })
}

/// The document being written: its messages, named once per type and way.
struct Doc<'a> {
    schemas: &'a Schemas,
    messages: Map<String, Value>,
    keys: HashMap<(std::any::TypeId, Way), String>,
    taken: HashSet<String>,
}

impl Doc<'_> {
    /// A route's channel.
    fn channel(&mut self, route: &RouteDef) -> Value {
        let mut channel = json!({
            "address": route.path,
            "title": route.handler,
            "description": channel_description(route),
            "messages": self.channel_messages(route),
            "bindings": { "ws": ws_binding(route) },
        });
        if !route.params.is_empty() {
            let params: Map<String, Value> = route
                .params
                .iter()
                .map(|p| (p.to_string(), json!({ "description": format!("The `{{{p}}}` path segment.") })))
                .collect();
            channel["parameters"] = Value::Object(params);
        }
        if let Some(room) = route.options.broadcast {
            channel["x-wirehub-room"] = json!(room_template(route, room));
        }
        if let Some(history) = route.options.history {
            channel["x-wirehub-history"] = json!(history);
        }
        channel
    }

    /// The channel's messages: the route's types (or open payloads), the
    /// envelopes, the application ping.
    fn channel_messages(&mut self, route: &RouteDef) -> Value {
        let mut messages = Map::new();
        for (way, key) in [(Way::Receives, RECEIVES), (Way::Sends, SENDS)] {
            let spec = match way {
                Way::Receives => route.options.receives,
                Way::Sends => route.options.sends,
            };
            let message = match spec {
                Some(spec) => self.typed(&spec(), way),
                None => untyped(way),
            };
            messages.insert(key.to_owned(), message);
        }
        for envelope in envelopes_of(route) {
            let message = self.envelope(envelope);
            messages.insert(envelope.to_owned(), message);
        }
        if let Some(ping) = route.options.app_ping {
            let pong = route.options.app_pong.unwrap_or(r#"{"type":"pong"}"#);
            messages.insert(
                PING.to_owned(),
                text_message("ping", ping, "The application ping, answered with the pong without calling the handler."),
            );
            messages.insert(PONG.to_owned(), text_message("pong", pong, "The answer to the application ping."));
        }
        Value::Object(messages)
    }

    /// A reference to the message of `spec`'s type travelling `way`, made once.
    fn typed(&mut self, spec: &MessageSpec, way: Way) -> Value {
        if let Some(key) = self.keys.get(&(spec.type_id, way)) {
            return message_ref(key);
        }
        let payload = self.schemas.payload(spec, way).cloned();
        let named = payload.as_ref().and_then(|p| self.schemas.named(p));
        let base = named.map_or_else(|| component_key(spec.short_name()), |(name, _)| name.to_owned());
        let key = unique(&mut self.taken, &base);
        let mut message = json!({
            "name": spec.short_name(),
            "title": spec.short_name(),
            "contentType": "application/json",
            "correlationId": { "location": "$message.payload#/id", "description": CORRELATION },
        });
        match payload {
            Some(payload) => {
                if let Some(examples) = named.and_then(|(_, schema)| schema.get("examples")).and_then(Value::as_array) {
                    let examples: Vec<Value> = examples.iter().map(|e| json!({ "payload": e })).collect();
                    message["examples"] = json!(examples);
                }
                message["payload"] = payload;
            }
            None => {
                let why = format!(
                    "`{}` does not implement `schemars::JsonSchema` (derive it, with wirehub's feature `contract`, \
                     to describe these messages): any JSON value.",
                    spec.short_name()
                );
                message["payload"] = json!({ "description": why });
                message["description"] = json!(why);
            }
        }
        self.messages.insert(key.clone(), message);
        self.keys.insert((spec.type_id, way), key.clone());
        message_ref(&key)
    }

    /// A reference to an envelope's message, made once.
    fn envelope(&mut self, name: &'static str) -> Value {
        let key = format!("wirehub.{name}");
        if self.taken.insert(key.clone()) {
            let description = self.schemas.defs.get(name).and_then(|s| s.get("description")).cloned();
            let mut message = json!({
                "name": name,
                "title": name,
                "contentType": "application/json",
                "payload": { "$ref": format!("{DEFS}{name}") },
            });
            if let Some(description) = description {
                message["description"] = description;
            }
            self.messages.insert(key.clone(), message);
        }
        message_ref(&key)
    }
}

/// The channel's message keys of the route's own messages.
const RECEIVES: &str = "receives";
const SENDS: &str = "sends";
const PING: &str = "ping";
const PONG: &str = "pong";

/// The description of every typed message's correlation id.
const CORRELATION: &str = "A client message carrying \"id\" gets exactly one answer with it: an ack or an error. \
                           The server's requests carry \"id\":\"s<n>\", answered the same way by the client.";

/// The envelopes a route's channel carries: acks and errors on typed
/// routes (both ways: the client's answers to the server's requests use
/// them too), errors on every route, `Recovered` with `history`.
fn envelopes_of(route: &RouteDef) -> Vec<&'static str> {
    let typed = route.options.receives.is_some() || route.options.sends.is_some();
    let mut envelopes = if typed { vec!["Ack", "ErrorAnswer"] } else { vec!["ErrorAnswer"] };
    if route.options.history.is_some() {
        envelopes.push("Recovered");
    }
    envelopes
}

/// The server's `receive` and `send` operations on a route's channel.
fn operations_of(route: &RouteDef, channel: &str) -> Vec<(String, Value)> {
    let channel_ref = json!({ "$ref": format!("#/channels/{channel}") });
    let message = |key: &str| json!({ "$ref": format!("#/channels/{channel}/messages/{key}") });
    let typed = route.options.receives.is_some() || route.options.sends.is_some();
    let mut receives = vec![message(RECEIVES)];
    let mut sends = vec![message(SENDS), message("ErrorAnswer")];
    if typed {
        receives.extend([message("Ack"), message("ErrorAnswer")]);
        sends.push(message("Ack"));
    }
    if route.options.history.is_some() {
        sends.push(message("Recovered"));
    }
    if route.options.app_ping.is_some() {
        receives.push(message(PING));
        sends.push(message(PONG));
    }
    let mut receive = json!({
        "action": "receive",
        "channel": channel_ref,
        "summary": format!("What a client sends on `{}`.", route.path),
        "messages": receives,
    });
    if route.options.receives.is_some() {
        receive["reply"] = json!({
            "channel": channel_ref,
            "messages": [message("Ack"), message("ErrorAnswer")],
        });
    }
    let mut send = json!({
        "action": "send",
        "channel": channel_ref,
        "summary": format!("What the server sends on `{}`.", route.path),
        "messages": sends,
    });
    if route.options.auth.is_some() {
        for operation in [&mut receive, &mut send] {
            operation["security"] = json!([{ "$ref": "#/components/securitySchemes/auth" }]);
        }
    }
    vec![(format!("{channel}.receive"), receive), (format!("{channel}.send"), send)]
}

/// The handshake, as the `ws` channel binding.
fn ws_binding(route: &RouteDef) -> Value {
    let mut binding = json!({ "method": "GET", "bindingVersion": "0.1.0" });
    let mut query = Map::new();
    if route.options.history.is_some() {
        query.insert(
            "since".to_owned(),
            json!({ "$ref": format!("{DEFS}Position"), "description": "The last position seen: the messages missed since then come first." }),
        );
    }
    let reads_query = route.needs.contains(crate::extract::Needs::QUERY);
    if reads_query || !query.is_empty() {
        let mut schema = json!({ "type": "object", "properties": query });
        if reads_query {
            schema["description"] = json!("The route's extractors (`Query<T>`) read the query string.");
        }
        binding["query"] = schema;
    }
    let mut headers = Map::new();
    if let Some(protocols) = route.options.protocols.filter(|p| !p.is_empty()) {
        headers.insert(
            "Sec-WebSocket-Protocol".to_owned(),
            json!({
                "type": "string",
                "description": format!("The subprotocols offered; the server picks the first of {protocols:?} it is offered, and refuses (400) an offer of none."),
            }),
        );
    }
    let reads_headers = route.needs.contains(crate::extract::Needs::HEADERS);
    if reads_headers || !headers.is_empty() {
        let mut schema = json!({ "type": "object", "properties": headers });
        if reads_headers {
            schema["description"] = json!("The route's extractors (`Headers`) read the request headers.");
        }
        binding["headers"] = schema;
    }
    binding
}

/// The `auth` security scheme: what `Handshake::token()` reads.
fn security_scheme() -> Value {
    json!({
        "type": "http",
        "scheme": "bearer",
        "description": "The route's `auth` validator judges the handshake before the upgrade (401/403 refuse it). \
                        `Handshake::token()` reads `Authorization: Bearer <token>`, `?token=` or the subprotocol \
                        offer `bearer, <token>`; a validator may read other parts of the request.",
    })
}

/// `chat:{room}` from the route's room template.
fn room_template(route: &RouteDef, room: &[crate::template::TemplatePart]) -> String {
    let params: Vec<Box<str>> = route.params.iter().map(|p| format!("{{{p}}}").into_boxed_str()).collect();
    render_template(room, &params)
}

/// The channel's description: the handler, where it is, its room.
fn channel_description(route: &RouteDef) -> String {
    let mut text = format!("Served by `{}` ({}).", route.handler, route.location());
    if let Some(room) = route.options.broadcast {
        text.push_str(&format!(
            " Every connection joins the room `{}`; what the handler returns goes to the room{}.",
            room_template(route, room),
            if route.options.exclude_sender == Some(true) { " (the sender excluded)" } else { "" }
        ));
    }
    text
}

/// The message of a route without `receives` or `sends`: any message.
fn untyped(way: Way) -> Value {
    let (name, who) = match way {
        Way::Receives => ("anyIn", "The route declares no `receives` type: any text or binary message."),
        Way::Sends => ("anyOut", "The route declares no `sends` type: any text or binary message."),
    };
    json!({ "name": name, "title": name, "description": who, "payload": { "description": who } })
}

/// A fixed text message (the application ping and pong).
fn text_message(name: &str, text: &str, description: &str) -> Value {
    json!({
        "name": name,
        "title": name,
        "description": description,
        "contentType": "text/plain",
        "payload": { "type": "string", "const": text },
        "examples": [{ "payload": text }],
    })
}

/// `{"$ref": "#/components/messages/<key>"}`.
fn message_ref(key: &str) -> Value {
    json!({ "$ref": format!("#/components/messages/{key}") })
}

/// A name as a component key (`[\w.-]+`).
fn component_key(name: &str) -> String {
    let key: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "_.-".contains(c) { c } else { '_' }).collect();
    if key.is_empty() {
        "route".to_owned()
    } else {
        key
    }
}

/// `base`, or `base2`, `base3`... whichever is not taken yet (then taken).
fn unique(taken: &mut HashSet<String>, base: &str) -> String {
    let name = std::iter::once(base.to_owned())
        .chain((2..).map(|i| format!("{base}{i}")))
        .find(|n| !taken.contains(n))
        .unwrap_or_else(|| base.to_owned());
    taken.insert(name.clone());
    name
}
