use wirehub::prelude::*;

// `?tag=a&tag=b` is pairs, not a list of values.
#[ws_route("/feed")]
async fn feed(Query(tags): Query<Vec<String>>) -> String {
    tags.join(",")
}

fn main() {}
