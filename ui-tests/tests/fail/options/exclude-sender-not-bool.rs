use wirehub::prelude::*;

#[ws_route("/chat", broadcast = "lobby", exclude_sender = "yes")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
