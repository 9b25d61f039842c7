use wirehub::prelude::*;

struct User {
    name: String,
}

async fn validate(hs: &Handshake) -> Option<User> {
    hs.token().map(|name| User { name })
}

#[ws_route("/chat", auth = validate)]
async fn chat(user: Auth<User>, text: String) -> String {
    format!("{}: {text}", user.name)
}

fn main() {}
