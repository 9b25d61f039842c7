use wirehub::prelude::*;

fn greet(conn: Conn) {
    let _ = conn;
}

#[ws_route("/chat", on_open = greet)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
