use wirehub::prelude::*;

struct Filter {
    topic: String,
}

#[ws_route("/feed")]
async fn feed(Query(filter): Query<Filter>) -> String {
    filter.topic
}

fn main() {}
