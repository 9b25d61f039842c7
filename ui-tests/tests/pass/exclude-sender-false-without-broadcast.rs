use wirehub::prelude::*;

#[ws_route("/chat", exclude_sender = false)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
