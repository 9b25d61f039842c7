use wirehub::prelude::*;

#[ws_route("/files/*rest")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
