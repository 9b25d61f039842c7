use wirehub::prelude::*;

// `rte` is reported with its fix; `burst` is not also reported as needing `rate`.
#[ws_route("/chat", rte = "50/s", burst = 100)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
