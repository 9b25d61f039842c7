use wirehub::prelude::*;

async fn bye(conn: Conn, reason: &CloseReason) {
    let _ = (conn.id(), reason);
}

#[ws_route("/chat", on_close = bye)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
