use wirehub::prelude::*;

#[ws_route("/chat", protocols = [])]
async fn chat(text: String) -> String {
    text
}

fn main() {}
