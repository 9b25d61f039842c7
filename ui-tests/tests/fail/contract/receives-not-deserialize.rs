use wirehub::prelude::*;

struct Command;

#[ws_route("/commands", receives = Command)]
async fn commands(msg: Command) {
    let _ = msg;
}

fn main() {}
