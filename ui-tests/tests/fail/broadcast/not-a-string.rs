use wirehub::prelude::*;

#[ws_route("/chat/{room}", broadcast = true)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
