use serde::Deserialize;
use wirehub::prelude::*;

#[derive(Deserialize)]
#[serde(tag = "type")]
enum Command { Start }

#[derive(Deserialize)]
struct Other { n: u8 }

#[ws_route("/commands", receives = Command)]
async fn commands(Json(other): Json<Other>) {
    let _ = other.n;
}

fn main() {}
