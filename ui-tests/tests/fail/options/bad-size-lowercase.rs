use wirehub::prelude::*;

#[ws_route("/chat", max_message = "1mb")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
