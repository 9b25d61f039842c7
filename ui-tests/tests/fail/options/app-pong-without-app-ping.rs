use wirehub::prelude::*;

#[ws_route("/chat", app_pong = "pong")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
