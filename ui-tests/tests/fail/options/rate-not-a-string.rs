use wirehub::prelude::*;

#[ws_route("/chat", rate = 50)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
