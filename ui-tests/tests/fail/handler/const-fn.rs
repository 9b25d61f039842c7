use wirehub::prelude::*;

#[ws_route("/echo")]
const fn echo(text: String) -> String {
    text
}

fn main() {}
