use wirehub::prelude::*;

#[ws_route("/chat", on_full = "block")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
