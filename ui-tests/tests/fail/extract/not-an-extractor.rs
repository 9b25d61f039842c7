use wirehub::prelude::*;

#[ws_route("/items")]
async fn items(count: u32) -> String {
    count.to_string()
}

fn main() {}
