use wirehub::prelude::*;

#[ws_route("/chat", broadcast = "chat:{room}")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
