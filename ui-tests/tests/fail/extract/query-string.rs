use wirehub::prelude::*;

// A query string is `key=value` pairs: it never deserializes into a `String`.
#[ws_route("/feed")]
async fn feed(Query(topic): Query<String>) -> String {
    topic
}

fn main() {}
