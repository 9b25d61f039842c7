use wirehub::prelude::*;

struct Event;

#[ws_route("/events", sends = Event)]
async fn events(text: String) {
    let _ = text;
}

fn main() {}
