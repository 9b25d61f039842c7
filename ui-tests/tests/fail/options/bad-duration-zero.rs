use wirehub::prelude::*;

#[ws_route("/chat", write_timeout = "0s")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
