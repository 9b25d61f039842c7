use wirehub::prelude::*;

struct User;

async fn validate(hs: &Handshake, conn: Conn) -> Result<User, Reject> {
    let _ = (hs, conn);
    Ok(User)
}

#[ws_route("/chat", auth = validate)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
