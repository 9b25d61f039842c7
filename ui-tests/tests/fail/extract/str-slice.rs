use wirehub::prelude::*;

#[ws_route("/echo")]
async fn echo(text: &'static str) -> &'static str {
    text
}

fn main() {}
