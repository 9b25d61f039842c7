use wirehub::prelude::*;

#[ws_route("/chat/{room}/{room}")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
