use wirehub::prelude::*;

#[ws_route("/files/*")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
