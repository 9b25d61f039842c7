use wirehub::prelude::*;

async fn greet(conn: &Conn) {
    let _ = conn.id();
}

#[ws_route("/chat", on_open = greet)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
