use wirehub::prelude::*;

struct User {
    name: String,
}

async fn validate(token: String) -> Result<User, Reject> {
    Ok(User { name: token })
}

#[ws_route("/chat", auth = validate)]
async fn chat(user: Auth<User>, text: String) -> String {
    format!("{}: {text}", user.name)
}

fn main() {}
