use wirehub::prelude::*;

// The tuple is behind a type alias: its arity is checked through the type.
type RoomAndId = (String, u32);

#[ws_route("/chat/{room}")]
async fn chat(Path((room, id)): Path<RoomAndId>, text: String) -> String {
    format!("{room}/{id}: {text}")
}

fn main() {}
