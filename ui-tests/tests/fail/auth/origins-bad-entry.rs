use wirehub::prelude::*;

// Browsers send `Origin: https://example.com`: an entry without a scheme
// would never match, and a path is never part of an origin.
#[ws_route("/chat", origins = ["example.com", "https://app.example.com/chat", "*."])]
async fn chat(text: String) -> String {
    text
}

fn main() {}
