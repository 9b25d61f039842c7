use wirehub::prelude::*;

#[ws_route("/café/{table}")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
