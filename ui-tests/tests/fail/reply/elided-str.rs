use wirehub::prelude::*;

#[ws_route("/echo")]
async fn echo(text: String) -> &str {
    let _ = text;
    "hi"
}

fn main() {}
