use wirehub::prelude::*;

#[ws_route("/count")]
async fn count(text: String) -> Option<u32> {
    text.parse().ok()
}

fn main() {}
