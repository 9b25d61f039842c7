use wirehub::prelude::*;

// An empty allow-list would refuse every browser.
#[ws_route("/chat", origins = [])]
async fn chat(text: String) -> String {
    text
}

fn main() {}
