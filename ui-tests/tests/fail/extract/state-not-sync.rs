use std::cell::Cell;

use wirehub::prelude::*;

#[ws_route("/count")]
async fn count(counter: State<Cell<u32>>) -> String {
    counter.get().to_string()
}

fn main() {}
