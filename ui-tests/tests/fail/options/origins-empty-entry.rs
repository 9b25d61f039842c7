use wirehub::prelude::*;

#[ws_route("/chat", origins = [""])]
async fn chat(text: String) -> String {
    text
}

fn main() {}
