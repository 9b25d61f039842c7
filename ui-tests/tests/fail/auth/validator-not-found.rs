use wirehub::prelude::*;

#[ws_route("/chat", auth = validate)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
