use wirehub::prelude::*;

#[ws_route("/shops/{shop}/items/{id}")]
async fn item(Path(id): Path<u32>) -> String {
    id.to_string()
}

fn main() {}
