use wirehub::prelude::*;

#[ws_route("/chat", on_open = greet)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
