use wirehub::prelude::*;

#[ws_route("/chat", crate = ::wirehub_renamed)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
