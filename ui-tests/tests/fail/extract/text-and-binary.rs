use wirehub::prelude::*;

// `String` takes only text messages and `Bytes` only binary ones: no message
// could ever reach this handler.
#[ws_route("/both")]
async fn both(text: String, bytes: Bytes) -> String {
    format!("{text} {}", bytes.len())
}

fn main() {}
