use wirehub::prelude::*;

#[ws_route("chat/{room}", broadcast = "chat:{nope}", exclude_sender = 1, queue = 0)]
fn chat(conn: &Conn, text: String) -> String {
    let _ = conn.id();
    text
}

fn main() {}
