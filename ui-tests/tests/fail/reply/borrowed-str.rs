use wirehub::prelude::*;

#[ws_route("/echo")]
async fn echo<'a>(text: String) -> &'a str {
    let _ = text;
    "hi"
}

fn main() {}
