use wirehub::prelude::*;

#[ws_route("/chat", reauth = "5m")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
