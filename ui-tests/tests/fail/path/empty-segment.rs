use wirehub::prelude::*;

#[ws_route("/chat//lobby")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
