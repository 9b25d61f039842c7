use wirehub::prelude::*;

struct User {
    name: String,
}

fn validate(_hs: &Handshake) -> Result<User, Reject> {
    Ok(User { name: "ann".into() })
}

// `auth` is refused (a string, not a function): neither `reauth` nor
// `Auth<User>` is also reported as needing it.
#[ws_route("/chat", auth = "validate", reauth = "5m")]
async fn chat(user: Auth<User>, text: String) -> String {
    format!("{}: {text}", user.name)
}

fn main() {
    let _ = validate;
}
