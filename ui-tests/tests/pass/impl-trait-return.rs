use wirehub::prelude::*;

#[ws_route("/echo")]
async fn echo(text: String) -> impl wirehub::IntoReply {
    text
}

fn main() {}
