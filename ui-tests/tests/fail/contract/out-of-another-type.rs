use serde::Serialize;
use wirehub::contract::Out;
use wirehub::prelude::*;

#[derive(Serialize)]
#[serde(tag = "type")]
enum ChatEvent { Said }

#[derive(Serialize)]
#[serde(tag = "type")]
enum GameEvent { Moved }

#[ws_route("/chat", sends = ChatEvent)]
async fn chat(out: Out<GameEvent>, text: String) {
    let _ = (out, text);
}

fn main() {}
