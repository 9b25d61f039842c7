use wirehub::prelude::*;

#[ws_route("/items/{1st}")]
async fn items(text: String) -> String {
    text
}

fn main() {}
