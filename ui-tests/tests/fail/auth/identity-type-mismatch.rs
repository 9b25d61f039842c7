use wirehub::prelude::*;

struct User {
    name: String,
}

struct Admin {
    level: u8,
}

async fn validate(hs: &Handshake) -> Result<User, Reject> {
    match hs.token() {
        Some(token) => Ok(User { name: token }),
        None => Err(Reject::unauthorized("token required")),
    }
}

#[ws_route("/chat", auth = validate)]
async fn chat(admin: Auth<Admin>, text: String) -> String {
    format!("{}: {text}", admin.level)
}

fn main() {}
