use serde::Deserialize;
use wirehub::prelude::*;

#[derive(Deserialize)]
struct Room {
    room: String,
}

#[ws_route("/chat")]
async fn chat(Path(params): Path<Room>, text: String) -> String {
    format!("{}: {text}", params.room)
}

fn main() {}
