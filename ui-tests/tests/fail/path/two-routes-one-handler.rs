use wirehub::prelude::*;

#[ws_route("/v1/echo")]
#[ws_route("/v2/echo")]
async fn echo(text: String) -> String {
    text
}

fn main() {}
