//! `crate = path` for a re-exported or renamed `wirehub`.

extern crate wirehub as wh;

mod reexport {
    pub use wirehub as inner;
}

use wirehub::prelude::*;

#[ws_route("/c/absolute", crate = ::wirehub)]
async fn absolute(text: String) -> String {
    text
}

#[ws_route("/c/renamed", crate = wh)]
async fn renamed(text: String) -> String {
    text
}

#[ws_route("/c/reexport", crate = crate::reexport::inner, heartbeat = "1s")]
async fn reexport(text: String) -> String {
    text
}

fn main() {}
