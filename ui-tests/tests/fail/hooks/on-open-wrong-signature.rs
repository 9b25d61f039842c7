use wirehub::prelude::*;

async fn greet(conn: Conn, reason: CloseReason) {
    let _ = (conn, reason);
}

#[ws_route("/chat", on_open = greet)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
