use wirehub::prelude::*;

#[ws_route("/chat", exclude_sender = true)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
