use wirehub::prelude::*;

async fn bye(conn: Conn) {
    let _ = conn;
}

#[ws_route("/chat", on_close = bye)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
