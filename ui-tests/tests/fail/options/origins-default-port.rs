use wirehub::prelude::*;

// Browsers send `https://app.example.com`, without the default port.
#[ws_route("/chat", origins = ["https://app.example.com:443"])]
async fn chat(text: String) -> String {
    text
}

fn main() {}
