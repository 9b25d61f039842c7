use wirehub::prelude::*;

// The missing comma in the list is reported, and so is `queue = 0` after it.
#[ws_route("/chat", origins = ["https://a.example" "https://b.example"], queue = 0)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
