use wirehub::prelude::*;

#[ws_route("/chat", verbose)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
