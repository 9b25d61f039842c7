use wirehub::prelude::*;

#[ws_route("/chat", rate = "50/s", burst = 5_000_000_000)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
