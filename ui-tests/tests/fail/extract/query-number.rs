use wirehub::prelude::*;

#[ws_route("/feed")]
async fn feed(Query(limit): Query<u32>) -> String {
    limit.to_string()
}

fn main() {}
