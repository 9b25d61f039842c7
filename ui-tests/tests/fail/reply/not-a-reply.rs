use wirehub::prelude::*;

#[ws_route("/count")]
async fn count(text: String) -> u32 {
    text.len() as u32
}

fn main() {}
