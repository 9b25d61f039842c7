use wirehub::prelude::*;

#[ws_route("/chat", history = 100)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
