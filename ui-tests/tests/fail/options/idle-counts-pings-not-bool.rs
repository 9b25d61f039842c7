use wirehub::prelude::*;

#[ws_route("/echo", idle_timeout = "1m", idle_counts_pings = "yes")]
async fn echo(text: String) -> String {
    text
}

fn main() {}
