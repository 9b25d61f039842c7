use wirehub::prelude::*;

#[ws_route("/echo")]
async unsafe fn echo(text: String) -> String {
    text
}

fn main() {}
