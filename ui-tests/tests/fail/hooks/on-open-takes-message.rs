use wirehub::prelude::*;

async fn greet(conn: Conn, text: String) {
    let _ = (conn, text);
}

#[ws_route("/chat", on_open = greet)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
