use std::rc::Rc;

use wirehub::prelude::*;

async fn tick() {}

async fn greet(conn: Conn) {
    let local = Rc::new(conn);
    tick().await;
    let _ = local.id();
}

#[ws_route("/chat", on_open = greet)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
