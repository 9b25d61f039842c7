use wirehub::prelude::*;

#[ws_route("/chat", rate = "0/s")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
