use wirehub::prelude::*;

#[ws_route("/chat", idle_counts_pings = true)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
