use wirehub::prelude::*;

#[ws_route]
async fn chat(text: String) -> String {
    text
}

fn main() {}
