use wirehub::prelude::*;

#[ws_route("/chat", broadcast = "")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
