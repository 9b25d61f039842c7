use std::rc::Rc;

use wirehub::prelude::*;

struct User {
    name: Rc<str>,
}

fn validate(hs: &Handshake) -> Result<User, Reject> {
    let name = hs.token().ok_or_else(|| Reject::unauthorized("token required"))?;
    Ok(User { name: name.into() })
}

#[ws_route("/chat", auth = validate)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
