use wirehub::prelude::*;

#[ws_route("/echo")]
fn echo(text: String) -> String {
    text
}

fn main() {}
