use wirehub::prelude::*;

#[ws_route("/chat/{room}", broadcast = "chat:{room}", history = 0)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
