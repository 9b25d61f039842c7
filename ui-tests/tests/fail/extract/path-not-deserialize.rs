use wirehub::prelude::*;

struct Room {
    room: String,
}

#[ws_route("/chat/{room}")]
async fn chat(Path(params): Path<Room>, text: String) -> String {
    format!("{}: {text}", params.room)
}

fn main() {}
