use wirehub::prelude::*;

#[ws_route("/chat/{room}", broadcast = "chat:{nope}")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
