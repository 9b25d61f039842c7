use wirehub::prelude::*;

#[ws_route("/chat/")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
