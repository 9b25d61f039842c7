use wirehub::prelude::*;

struct User {
    name: String,
}

struct Admin {
    level: u8,
}

type AdminAuth = Auth<Admin>;

async fn validate(_hs: &Handshake) -> Result<User, Reject> {
    Ok(User { name: "ann".into() })
}

#[ws_route("/chat", auth = validate)]
async fn chat(admin: AdminAuth, text: String) -> String {
    format!("{} {} {text}", admin.level, 0)
}

fn main() {
    let _ = User { name: String::new() }.name;
}
