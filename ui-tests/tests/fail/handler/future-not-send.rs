use std::rc::Rc;

use wirehub::prelude::*;

async fn tick() {}

#[ws_route("/echo")]
async fn echo(text: String) -> String {
    let local = Rc::new(text);
    tick().await;
    local.to_string()
}

fn main() {}
