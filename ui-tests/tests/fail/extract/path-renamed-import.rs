use wirehub::prelude::*;
use wirehub::Path as Params;

// `Path` imported under another name is still wirehub's `Path`.
#[ws_route("/chat/{room}")]
async fn chat(Params((room, id)): Params<(String, u32)>, text: String) -> String {
    format!("{room}/{id}: {text}")
}

fn main() {}
