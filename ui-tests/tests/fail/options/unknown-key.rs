use wirehub::prelude::*;

#[ws_route("/chat", heartbeet = "30s")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
