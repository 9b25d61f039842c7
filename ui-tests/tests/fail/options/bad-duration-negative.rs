use wirehub::prelude::*;

#[ws_route("/chat", idle_timeout = "-1s")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
