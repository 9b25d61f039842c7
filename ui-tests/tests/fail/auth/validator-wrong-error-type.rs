use wirehub::prelude::*;

struct User {
    name: String,
}

fn validate(hs: &Handshake) -> Result<User, String> {
    hs.token().map(|name| User { name }).ok_or_else(|| "token required".to_owned())
}

#[ws_route("/chat", auth = validate)]
async fn chat(user: Auth<User>, text: String) -> String {
    format!("{}: {text}", user.name)
}

fn main() {}
