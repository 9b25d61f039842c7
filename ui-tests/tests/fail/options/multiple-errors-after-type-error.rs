use wirehub::prelude::*;

// `heartbeat = 30` is a value of the wrong type; the errors after it (and the
// path's) should still be reported in the same compile.
#[ws_route("chat", heartbeat = 30, queue = 0, on_full = "block")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
