use wirehub::prelude::*;

#[ws_route("/chat/{room}", broadcast = "chat:{room}", presence_interval = "50ms")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
