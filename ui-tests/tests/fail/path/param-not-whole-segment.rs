use wirehub::prelude::*;

#[ws_route("/chat/room-{id}")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
