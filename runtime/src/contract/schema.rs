//! The JSON Schemas of an app's message types (feature `contract`): one
//! set of named schemas (the runtime's envelopes and every type's
//! definitions, under `#/components/schemas/`), and each route type's
//! payload schema, a `$ref` into them or inline. The AsyncAPI document and
//! the TypeScript definitions are both written from it.
//!
//! `receives` types are described as they deserialize, `sends` types as
//! they serialize (schemars' two contracts: `#[serde(default)]` fields are
//! optional in the first, `skip_serializing_if` ones in the second). A
//! name two different schemas claim is kept by the first; the other gets
//! a number (`ChatIn2`), and every `$ref` to it follows.
//!
//! ```
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! #[serde(tag = "type", rename_all = "snake_case")]
//! enum In { Say { text: String } }
//!
//! #[wirehub::ws_route("/schema-doc", receives = In)]
//! async fn said(msg: In) {
//!     let In::Say { text } = msg;
//!     let _ = text;
//! }
//!
//! let app = wirehub::App::empty().route("/schema-doc");
//! let doc = wirehub::contract::asyncapi(&app, &wirehub::contract::Info::new("Doc", "1.0.0"));
//! assert!(doc["components"]["schemas"]["In"]["oneOf"].is_array());
//! ```

use std::any::TypeId;
use std::collections::HashMap;

use schemars::generate::SchemaSettings;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

use super::spec::MessageSpec;
use crate::route::RouteDef;

/// What the contract is written from: the routes an [`App`](crate::App)
/// serves, or those an [`Embedded`](crate::Embedded) was built with.
///
/// ```
/// fn routes_of(app: &impl wirehub::contract::RouteSet) -> usize {
///     wirehub::contract::asyncapi(app, &wirehub::contract::Info::new("API", "1"))["channels"]
///         .as_object()
///         .map_or(0, |channels| channels.len())
/// }
/// assert_eq!(routes_of(&wirehub::App::empty()), 0);
/// ```
pub trait RouteSet {
    /// The routes, in path order.
    #[doc(hidden)]
    fn route_defs(&self) -> &[&'static RouteDef];
}

/// Where the named schemas are: the AsyncAPI document's components.
pub(crate) const DEFS: &str = "#/components/schemas/";

/// Which way a type travels, hence which serde contract describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Way {
    /// A `receives` type: the client sends it, the server deserializes it.
    Receives,
    /// A `sends` type: the server serializes it.
    Sends,
}

/// The named schemas and each route type's payload schema.
#[derive(Debug, Default)]
pub(crate) struct Schemas {
    /// Named schemas, by name.
    pub(crate) defs: Map<String, Value>,
    payloads: HashMap<(TypeId, Way), Value>,
}

impl Schemas {
    /// The schemas of every `receives` and `sends` type of these routes.
    pub(crate) fn of(routes: &[&'static RouteDef]) -> Schemas {
        let mut schemas = Schemas { defs: envelopes(), payloads: HashMap::new() };
        for way in [Way::Receives, Way::Sends] {
            let settings = SchemaSettings::draft07().with(|s| s.definitions_path = "/components/schemas".into());
            let mut generator =
                if way == Way::Receives { settings.for_deserialize() } else { settings.for_serialize() }
                    .into_generator();
            let mut payloads = Vec::new();
            for spec in routes.iter().filter_map(|route| message(route, way)) {
                let Some(schema_fn) = spec.schema else { continue };
                if payloads.iter().any(|(id, _)| *id == spec.type_id) {
                    continue;
                }
                let mut schema = schema_fn(&mut generator);
                for transform in generator.transforms_mut() {
                    transform.transform(&mut schema);
                }
                payloads.push((spec.type_id, schema.to_value()));
            }
            let renames = schemas.merge(generator.take_definitions(true));
            for (id, mut payload) in payloads {
                rename_refs(&mut payload, &renames);
                schemas.payloads.insert((id, way), payload);
            }
        }
        schemas
    }

    /// The payload schema of `spec` travelling `way`; `None` when its type
    /// has no schema.
    pub(crate) fn payload(&self, spec: &MessageSpec, way: Way) -> Option<&Value> {
        self.payloads.get(&(spec.type_id, way))
    }

    /// The named schema a payload refers to, when it is a `$ref`.
    pub(crate) fn named<'a>(&'a self, payload: &Value) -> Option<(&'a str, &'a Value)> {
        let name = payload.get("$ref")?.as_str()?.strip_prefix(DEFS)?;
        self.defs.get_key_value(name).map(|(name, schema)| (name.as_str(), schema))
    }

    /// Adds one generator's definitions, renaming those whose name is taken
    /// by another schema or is not a valid component name, and rewriting
    /// the `$ref`s among them; returns the renames for their payloads.
    fn merge(&mut self, mut incoming: Map<String, Value>) -> HashMap<String, String> {
        let mut renames = HashMap::new();
        let mut claimed = std::collections::HashSet::new();
        for (name, schema) in &incoming {
            let clean = component_name(name);
            let free = |n: &str| {
                self.defs.get(n).is_none_or(|taken| taken == schema)
                    && !claimed.contains(n)
                    && (n == name || !incoming.contains_key(n))
            };
            let chosen = if free(&clean) {
                clean
            } else {
                (2..).map(|i| format!("{clean}{i}")).find(|n| free(n)).unwrap_or(clean)
            };
            claimed.insert(chosen.clone());
            if chosen != *name {
                renames.insert(name.clone(), chosen);
            }
        }
        for schema in incoming.values_mut() {
            rename_refs(schema, &renames);
        }
        for (name, schema) in incoming {
            let name = renames.get(&name).cloned().unwrap_or(name);
            self.defs.entry(name).or_insert(schema);
        }
        renames
    }
}

/// The route's `receives` or `sends` spec.
fn message(route: &RouteDef, way: Way) -> Option<MessageSpec> {
    let spec = match way {
        Way::Receives => route.options.receives,
        Way::Sends => route.options.sends,
    };
    spec.map(|spec| spec())
}

/// A schemars name as an AsyncAPI component name (`[\w.-]+`).
fn component_name(name: &str) -> String {
    let clean: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "_.-".contains(c) { c } else { '_' }).collect();
    if clean.is_empty() {
        "Schema".to_owned()
    } else {
        clean
    }
}

/// Rewrites every `$ref` to a renamed schema.
fn rename_refs(value: &mut Value, renames: &HashMap<String, String>) {
    if renames.is_empty() {
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                let target = item.as_str().and_then(|r| r.strip_prefix(DEFS)).and_then(|n| renames.get(n));
                match target {
                    Some(new) if key == "$ref" => *item = Value::String(format!("{DEFS}{new}")),
                    _ => rename_refs(item, renames),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| rename_refs(item, renames)),
        _ => {}
    }
}

/// The runtime's own messages (the wire rules of [`crate::contract`]): the
/// one description of them that the document and the definitions share.
fn envelopes() -> Map<String, Value> {
    let id = |what: &str| json!({ "$ref": format!("{DEFS}MessageId"), "description": what });
    let entries = [
        (
            "MessageId",
            json!({
                "description": "A message's correlation id: a string or an integer, unique among the sender's \
                                pending ones; the server's requests use \"s<n>\".",
                "type": ["string", "integer"]
            }),
        ),
        (
            "Ack",
            json!({
                "description": "The one success answer to a message that carried an \"id\" (and a client's \
                                answer to the server's request): the id, and the fields of the handler's `Ack`.",
                "type": "object",
                "required": ["type", "id"],
                "properties": { "type": { "type": "string", "const": "ack" }, "id": id("the answered message's id") },
                "additionalProperties": true
            }),
        ),
        (
            "ErrorAnswer",
            json!({
                "description": "An error answer: to a message that carried an \"id\" (then with it), to a \
                                message the route refused, or a client's refusal of the server's request. \
                                Its shape is the app's error body (`App::error_body` changes it).",
                "type": "object",
                "required": ["type", "error"],
                "properties": {
                    "type": { "type": "string", "const": "error" },
                    "id": id("the answered message's id, when it carried one"),
                    "error": { "type": "string", "description": "What went wrong." },
                    "code": { "type": "string", "description": "A machine-readable code, when the error has one." }
                },
                "additionalProperties": true
            }),
        ),
        ("Position", position()),
        (
            "Recovered",
            json!({
                "description": "First message to a client reconnecting with ?since=<pos> on a route with \
                                history: whether the missed messages follow, and how many were missed.",
                "type": "object",
                "required": ["type", "ok", "missed"],
                "properties": {
                    "type": { "type": "string", "const": "recovered" },
                    "ok": { "type": "boolean" },
                    "missed": { "type": "integer", "minimum": 0 }
                }
            }),
        ),
    ];
    entries.into_iter().map(|(name, schema)| (name.to_owned(), schema)).collect()
}

impl JsonSchema for crate::ConnId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ConnId".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A connection's id, unique in the app (across instances with a backplane).",
            "type": "integer",
            "format": "uint64",
            "minimum": 0
        })
    }
}

impl JsonSchema for crate::Position {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Position".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        Schema::try_from(position()).unwrap_or_default()
    }
}

/// The schema of [`Position`](crate::Position), one of the envelopes.
fn position() -> Value {
    json!({
        "description": "A message's position in its room's history: send the last one seen as \
                        ?since=<pos> when reconnecting.",
        "type": "string",
        "pattern": "^[0-9a-f]+-[0-9]+$"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_name_gets_a_number_and_its_refs_follow() {
        let mut schemas = Schemas { defs: envelopes(), payloads: HashMap::new() };
        let incoming: Map<String, Value> = serde_json::from_value(json!({
            "Ack": { "type": "string" },
            "Wrap<C>": { "properties": { "a": { "$ref": "#/components/schemas/Ack" } } }
        }))
        .expect("map");
        let renames = schemas.merge(incoming);
        assert_eq!(renames.get("Ack").map(String::as_str), Some("Ack2"));
        assert_eq!(renames.get("Wrap<C>").map(String::as_str), Some("Wrap_C_"));
        assert_eq!(schemas.defs["Wrap_C_"]["properties"]["a"]["$ref"], "#/components/schemas/Ack2");
        assert_eq!(schemas.defs["Ack"]["required"], json!(["type", "id"]));
    }

    #[test]
    fn an_identical_schema_keeps_its_name() {
        let mut schemas = Schemas::default();
        let same: Map<String, Value> = serde_json::from_value(json!({ "T": { "type": "string" } })).expect("map");
        assert!(schemas.merge(same.clone()).is_empty());
        assert!(schemas.merge(same).is_empty());
        assert_eq!(schemas.defs.len(), 1);
    }
}
