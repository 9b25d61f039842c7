use wirehub::prelude::*;

async fn bye(conn: Conn, reason: CloseReason) -> String {
    format!("{} {reason:?}", conn.id())
}

#[ws_route("/chat", on_close = bye)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
