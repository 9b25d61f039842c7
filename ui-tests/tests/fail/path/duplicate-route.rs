use wirehub::prelude::*;

#[ws_route("/chat/{room}")]
#[ws_route("/chat/{name}")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
