use wirehub::prelude::*;

// A subprotocol is an RFC 6455 token: no `/`.
#[ws_route("/chat", protocols = ["chat/v1"])]
async fn chat(text: String) -> String {
    text
}

fn main() {}
