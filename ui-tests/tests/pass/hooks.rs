//! `on_open` and `on_close`: local functions, paths, and both together.

use wirehub::prelude::*;

async fn opened(conn: Conn) {
    conn.join("everyone");
}

async fn closed(conn: Conn, reason: CloseReason) {
    if let CloseReason::Peer { code } = reason {
        let _ = (conn.id(), code);
    }
}

mod hooks {
    use wirehub::prelude::*;

    pub async fn welcome(conn: Conn) {
        let _ = conn.try_send(Message::text("welcome"));
    }

    pub async fn goodbye(conn: Conn, reason: CloseReason) {
        let _ = (conn.id(), reason);
    }
}

#[ws_route("/h/open", on_open = opened)]
async fn open(text: String) -> String {
    text
}

#[ws_route("/h/close", on_close = closed)]
async fn close(text: String) -> String {
    text
}

#[ws_route("/h/both", on_open = opened, on_close = closed)]
async fn both(text: String) -> String {
    text
}

#[ws_route("/h/paths", on_close = hooks::goodbye, on_open = self::hooks::welcome)]
async fn paths(text: String) -> String {
    text
}

#[ws_route("/h/crate-path", on_open = crate::hooks::welcome, on_close = crate::closed)]
async fn crate_paths(text: String) -> String {
    text
}

fn main() {}
