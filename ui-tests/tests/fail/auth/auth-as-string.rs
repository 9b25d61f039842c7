use wirehub::prelude::*;

#[ws_route("/chat", auth = "bearer")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
