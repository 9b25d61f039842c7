use wirehub::prelude::*;

#[ws_route("/echo")]
async fn echo<T: wirehub::Extract>(value: T) {
    let _ = value;
}

fn main() {}
