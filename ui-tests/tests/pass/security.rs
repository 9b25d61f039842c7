//! Handshake-security options and the `Auth<T>` extractor: sync and async
//! validators, with and without `Principal`.

use wirehub::prelude::*;

struct User {
    name: String,
}

impl Principal for User {
    fn principal(&self) -> &str {
        &self.name
    }
}

/// An identity without a principal.
struct Anonymous;

async fn validate(hs: &Handshake) -> Result<User, Reject> {
    match hs.token() {
        Some(token) if token == "secret" => Ok(User { name: "ada".into() }),
        Some(_) => Err(Reject::forbidden("bad token")),
        None => Err(Reject::unauthorized("token required")),
    }
}

fn validate_sync(hs: &Handshake) -> Result<User, Reject> {
    let name = hs.bearer_token().ok_or_else(|| Reject::unauthorized("token required"))?;
    Ok(User { name: name.to_owned() })
}

fn anyone(_hs: &Handshake) -> Result<Anonymous, Reject> {
    Ok(Anonymous)
}

mod validators {
    use wirehub::prelude::*;

    pub fn by_status(hs: &Handshake) -> Result<String, Reject> {
        hs.query("user").ok_or_else(|| Reject::status(400, "user required"))
    }
}

#[ws_route("/s/async", auth = validate)]
async fn async_validator(user: Auth<User>, text: String) -> String {
    format!("{}: {text}", user.name)
}

#[ws_route("/s/sync", auth = validate_sync, reauth = "5m")]
async fn sync_validator(text: String, user: Auth<User>, conn: Conn) -> String {
    let _ = conn.id();
    format!("{}: {text}", user.name)
}

#[ws_route("/s/no-auth-arg", auth = validate)]
async fn no_auth_arg(text: String) -> String {
    text
}

#[ws_route("/s/anonymous", auth = anyone)]
async fn anonymous(_who: Auth<Anonymous>, text: String) -> String {
    text
}

#[ws_route("/s/path", auth = validators::by_status)]
async fn validator_path(user: wirehub::Auth<String>, text: String) -> String {
    format!("{}: {text}", *user)
}

#[ws_route("/s/protocols", protocols = ["chat.v1", "chat.v2"])]
async fn protocols(text: String) -> String {
    text
}

#[ws_route("/s/protocols-trailing", protocols = ["chat.v1",])]
async fn protocols_trailing(text: String) -> String {
    text
}

#[ws_route("/s/origins", origins = ["https://example.com", "http://localhost:3000"])]
async fn origins(text: String) -> String {
    text
}

#[ws_route("/s/rate", rate = "50/s")]
async fn rate(text: String) -> String {
    text
}

#[ws_route("/s/rate-burst", rate = "600/m", burst = 20)]
async fn rate_burst(text: String) -> String {
    text
}

#[ws_route("/s/rate-hour", rate = "10000/h")]
async fn rate_hour(text: String) -> String {
    text
}

#[ws_route("/s/caps", max_connections = 1000, max_connections_per_ip = 10)]
async fn caps(text: String) -> String {
    text
}

#[ws_route(
    "/s/everything/{room}",
    auth = validate,
    reauth = "10m",
    protocols = ["chat.v1"],
    origins = ["https://example.com"],
    rate = "5/s",
    burst = 10,
    max_connections = 100,
    max_connections_per_ip = 5,
    broadcast = "chat:{room}",
    heartbeat = "30s",
)]
async fn everything(user: Auth<User>, Path(room): Path<String>, msg: Message) -> Option<Message> {
    let _ = (&user.name, room);
    Some(msg)
}

fn main() {}
