use wirehub::prelude::*;

// Only `heartbeat` and `idle_timeout` can be turned off.
#[ws_route("/echo", write_timeout = "off")]
async fn echo(text: String) -> String {
    text
}

fn main() {}
