use wirehub::prelude::*;

// `rate` is refused: `burst` is not also reported as needing `rate`.
#[ws_route("/chat", rate = "50/sec", burst = 100)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
