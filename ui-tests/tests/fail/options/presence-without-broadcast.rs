use wirehub::prelude::*;

#[ws_route("/lobby", presence = true)]
async fn lobby(text: String) -> String {
    text
}

fn main() {}
