use wirehub::prelude::*;

#[ws_route("/chat", burst = 10)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
