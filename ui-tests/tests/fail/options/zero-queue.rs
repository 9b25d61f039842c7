use wirehub::prelude::*;

#[ws_route("/chat", queue = 0)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
