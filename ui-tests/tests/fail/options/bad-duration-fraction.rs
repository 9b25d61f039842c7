use wirehub::prelude::*;

#[ws_route("/chat", close_timeout = "1.5s")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
