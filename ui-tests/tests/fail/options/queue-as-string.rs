use wirehub::prelude::*;

#[ws_route("/chat", queue = "16")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
