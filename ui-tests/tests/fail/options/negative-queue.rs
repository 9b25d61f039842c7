use wirehub::prelude::*;

#[ws_route("/chat", queue = -1)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
