use wirehub::prelude::*;

#[ws_route("/chat", rate = "50/sec")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
