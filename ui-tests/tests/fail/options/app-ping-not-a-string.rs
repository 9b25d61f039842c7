use wirehub::prelude::*;

#[ws_route("/chat", app_ping = ping)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
