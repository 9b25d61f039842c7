use serde::Serialize;
use wirehub::prelude::*;

#[derive(Serialize)]
#[serde(tag = "type")]
enum ChatEvent { Said { text: String } }

#[ws_route("/chat", sends = ChatEvent)]
async fn chat(text: String) -> Option<String> {
    Some(text)
}

fn main() {}
