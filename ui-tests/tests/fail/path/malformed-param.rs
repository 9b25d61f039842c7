use wirehub::prelude::*;

#[ws_route("/chat/{room")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
