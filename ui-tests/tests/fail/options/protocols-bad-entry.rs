use wirehub::prelude::*;

#[ws_route("/chat", protocols = ["chat.v1", "chat v2"])]
async fn chat(text: String) -> String {
    text
}

fn main() {}
