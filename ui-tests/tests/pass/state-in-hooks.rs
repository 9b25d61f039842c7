//! Hooks and validators take extractors; handlers and hooks take `Session<T>`.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Deserialize;
use wirehub::prelude::*;

struct Keys(Vec<String>);
struct Counter {
    open: AtomicU64,
}

#[derive(Deserialize)]
struct Login {
    name: String,
}

struct User {
    name: String,
}

/// `&Handshake` first, then extractors.
async fn validate(hs: &Handshake, State(keys): State<Keys>) -> Result<User, Reject> {
    match hs.token() {
        Some(t) if keys.0.contains(&t) => Ok(User { name: t }),
        _ => Err(Reject::unauthorized("bad token")),
    }
}

/// Extractors only, synchronous.
fn by_query(Query(login): Query<Login>, _keys: State<Keys>) -> Result<User, Reject> {
    Ok(User { name: login.name })
}

#[derive(Default)]
struct Stats {
    messages: u64,
}

struct Nick(String);

async fn opened(conn: Conn, user: Auth<User>, counter: State<Counter>, mut stats: Session<Stats>) -> Nick {
    counter.open.fetch_add(1, Ordering::Relaxed);
    stats.messages = 0;
    Nick(format!("{}#{}", user.name, conn.id()))
}

async fn closed(reason: CloseReason, nick: Session<Nick>, stats: Session<Stats>, counter: State<Counter>) {
    let _ = (reason, &nick.0, stats.messages);
    counter.open.fetch_sub(1, Ordering::Relaxed);
}

#[ws_route("/s/chat", auth = validate, on_open = opened, on_close = closed)]
async fn chat(nick: Session<Nick>, mut stats: Session<Stats>, text: String) -> String {
    stats.messages += 1;
    format!("{}: {text}", nick.0)
}

async fn nothing() {}

#[ws_route("/s/query", auth = by_query, on_open = nothing)]
async fn query(user: Auth<User>, text: String) -> String {
    format!("{}: {text}", user.name)
}

fn main() {}
