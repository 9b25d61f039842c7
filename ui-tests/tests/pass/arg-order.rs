//! Extractors in any order; the attribute's path alone; a handler in a module.

use serde::Deserialize;
use wirehub::prelude::*;

#[derive(Deserialize)]
struct Filter {
    #[allow(dead_code)]
    topic: Option<String>,
}

#[ws_route("/a/{room}")]
async fn text_first(text: String, Path(room): Path<String>, conn: Conn) -> String {
    let _ = conn.id();
    format!("{room}: {text}")
}

#[ws_route("/b/{room}")]
async fn conn_last(Query(filter): Query<Filter>, headers: Headers, Path(room): Path<String>, conn: Conn) {
    let _ = (filter.topic, headers.len(), room, conn.id());
}

#[ws_route("/c/{room}")]
async fn msg_middle(conn: Conn, msg: Message, Path(room): Path<String>) -> Option<Message> {
    let _ = (conn.id(), room);
    Some(msg)
}

mod nested {
    use wirehub::prelude::*;

    #[ws_route("/nested")]
    pub async fn nested(text: String) -> String {
        text
    }

    #[ws_route("/nested/private")]
    async fn private(text: String) -> String {
        text
    }
}

fn main() {}
