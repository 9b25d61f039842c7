use wirehub::prelude::*;

#[ws_route("/commands", receives = "Command")]
async fn commands(text: String) {
    let _ = text;
}

fn main() {}
