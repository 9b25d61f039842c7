use wirehub::prelude::*;

#[ws_route("/items")]
async fn items(count: u32, flag: bool, text: String) -> String {
    format!("{count} {flag} {text}")
}

fn main() {}
