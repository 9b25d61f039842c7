use wirehub::prelude::*;

#[ws_route("/echo")]
async fn echo(text: impl wirehub::Extract) {
    let _ = text;
}

fn main() {}
