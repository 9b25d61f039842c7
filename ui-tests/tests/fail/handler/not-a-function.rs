use wirehub::prelude::*;

#[ws_route("/echo")]
struct Echo;

fn main() {}
