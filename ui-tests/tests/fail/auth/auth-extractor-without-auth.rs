use wirehub::prelude::*;

struct User {
    name: String,
}

#[ws_route("/chat")]
async fn chat(user: Auth<User>, text: String) -> String {
    format!("{}: {text}", user.name)
}

fn main() {}
