use wirehub::prelude::*;

async fn bye(conn: Conn, code: u16) {
    let _ = (conn, code);
}

#[ws_route("/chat", on_close = bye)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
