//! A pass case whose main touches the route: the handler is still a normal
//! async fn the user can call, and `App::new()` sees the submitted routes
//! without starting a server.

use wirehub::prelude::*;

#[ws_route("/m/echo")]
async fn echo(text: String) -> String {
    text
}

fn main() {
    let future = echo("hi".to_owned());
    drop(future);
    let _app = App::new();
}
