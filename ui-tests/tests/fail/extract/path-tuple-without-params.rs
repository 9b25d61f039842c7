use wirehub::prelude::*;

#[ws_route("/chat")]
async fn chat(Path((room,)): Path<(String,)>, text: String) -> String {
    format!("{room}: {text}")
}

fn main() {}
