use wirehub::prelude::*;

#[ws_route("/chat", max_message = "1 MB")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
