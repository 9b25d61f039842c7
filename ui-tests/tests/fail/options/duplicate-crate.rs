use wirehub::prelude::*;

#[ws_route("/chat", crate = ::wirehub, crate = ::wirehub)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
