use wirehub::prelude::*;

#[ws_route("/users/:id")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
