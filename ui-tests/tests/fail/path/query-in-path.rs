use wirehub::prelude::*;

#[ws_route("/feed?topic=news")]
async fn feed(text: String) -> String {
    text
}

fn main() {}
