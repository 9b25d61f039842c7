use wirehub::prelude::*;

// `Origin` is the page's origin (`https://...`), not the socket's URL.
#[ws_route("/chat", origins = ["wss://app.example.com"])]
async fn chat(text: String) -> String {
    text
}

fn main() {}
