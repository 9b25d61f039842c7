use wirehub::prelude::*;

#[ws_route("/chat", protocols = ["chat.v1", "chat.v2", "chat.v1"])]
async fn chat(text: String) -> String {
    text
}

fn main() {}
