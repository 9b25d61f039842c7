use wirehub::prelude::*;
use wirehub::reply::{ToRoom, ToSender};

#[ws_route("/say")]
async fn say(text: String) -> Option<(ToRoom<String>, ToSender<&'static str>)> {
    Some((ToRoom(text), ToSender("sent")))
}

fn main() {}
