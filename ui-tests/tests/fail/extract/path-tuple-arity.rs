use wirehub::prelude::*;

#[ws_route("/chat/{room}")]
async fn chat(Path((room, id)): Path<(String, u32)>, text: String) -> String {
    format!("{room}/{id}: {text}")
}

fn main() {}
