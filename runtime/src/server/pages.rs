//! Plain HTTP endpoints served beside the WebSocket routes on the same port:
//! static pages (a chat client at `/`) and small dynamic ones computed from
//! the hub (stats), registered with [`App::page`](crate::App::page) and
//! [`App::get`](crate::App::get).

use bytes::Bytes;

use crate::hub::Hub;

/// The answer of a plain HTTP endpoint.
#[derive(Debug, Clone)]
pub struct HttpReply {
    /// The status code.
    pub status: u16,
    /// The `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: Bytes,
}

impl HttpReply {
    /// A 200 answer with this content type.
    pub fn ok(content_type: &'static str, body: impl Into<Bytes>) -> Self {
        HttpReply { status: 200, content_type, body: body.into() }
    }
}

impl From<String> for HttpReply {
    fn from(body: String) -> Self {
        HttpReply::ok("text/plain; charset=utf-8", body)
    }
}

impl From<&'static str> for HttpReply {
    fn from(body: &'static str) -> Self {
        HttpReply::ok("text/plain; charset=utf-8", Bytes::from_static(body.as_bytes()))
    }
}

/// A GET endpoint.
pub(crate) enum Page {
    Static(HttpReply),
    Dynamic(Box<dyn Fn(&Hub) -> HttpReply + Send + Sync>),
}

impl std::fmt::Debug for Page {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Page::Static(r) => f.debug_tuple("Static").field(&r.content_type).finish(),
            Page::Dynamic(_) => f.write_str("Dynamic"),
        }
    }
}

impl Page {
    pub(crate) fn reply(&self, hub: &Hub) -> HttpReply {
        match self {
            Page::Static(r) => r.clone(),
            Page::Dynamic(f) => f(hub),
        }
    }
}
