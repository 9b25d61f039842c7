//! App state in validators and hooks, and per-connection `Session<T>`
//! values, over real sockets: validators taking `State<T>` and `Query<T>`,
//! hooks taking `State<T>`, `Auth<T>`, `Headers`, `Query<T>` and sessions,
//! a session changed across messages and dropped exactly once, and the
//! startup errors that name the hook and the route's file and line.
//!
//! Served routes live under `/hs/`; routes that must fail to start live
//! under `/hs-bad/` and are only mounted by the test that expects the error.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{connect, eventually, recv_text, send, spawn_prefix, try_connect, within};
use serde::Deserialize;
use tokio::sync::mpsc;
use wirehub::prelude::*;
use wirehub::App;

// ---------------------------------------------------------------- app state

/// The tokens the validator accepts.
struct Keys(Vec<&'static str>);

/// What hooks and session values report, in order.
struct Events(mpsc::UnboundedSender<String>);

impl Events {
    fn say(&self, event: String) {
        let _ = self.0.send(event);
    }
}

/// Session values dropped so far.
static DROPS: AtomicUsize = AtomicUsize::new(0);

fn app() -> (App, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = App::new().state(Keys(vec!["alice", "bob"])).state(Events(tx));
    (app, rx)
}

async fn next_event(rx: &mut mpsc::UnboundedReceiver<String>) -> String {
    within(rx.recv()).await.expect("an event")
}

// ---------------------------------------------------------------- routes

struct User {
    name: String,
}

/// `&Handshake` first, then the app's state.
async fn validate(hs: &Handshake, State(keys): State<Keys>) -> Result<User, Reject> {
    match hs.token() {
        Some(token) if keys.0.contains(&token.as_str()) => Ok(User { name: token }),
        _ => Err(Reject::unauthorized("unknown token")),
    }
}

/// A value made by `on_open`: it says when it is dropped.
struct Nick {
    name: String,
    events: Arc<Events>,
}

impl Drop for Nick {
    fn drop(&mut self) {
        DROPS.fetch_add(1, Ordering::SeqCst);
        self.events.say(format!("drop {}", self.name));
    }
}

/// Made with `Default` for the handler's `Session<Count>`.
#[derive(Default)]
struct Count(u32);

#[derive(Deserialize)]
struct Greeting {
    greeting: String,
}

async fn opened(
    user: Auth<User>,
    State(events): State<Events>,
    Query(q): Query<Greeting>,
    headers: Headers,
    count: Session<Count>,
) -> Nick {
    let agent = headers.get("x-client").and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned();
    events.say(format!("open {} {} {agent} count={}", user.name, q.greeting, count.0));
    Nick { name: user.name.clone(), events }
}

async fn closed(reason: CloseReason, nick: Session<Nick>, count: Session<Count>, State(events): State<Events>) {
    events.say(format!("close {} after {} ({})", nick.name, count.0, reason.as_str()));
}

#[ws_route("/hs/chat", auth = validate, on_open = opened, on_close = closed)]
async fn chat(nick: Session<Nick>, mut count: Session<Count>, text: String) -> String {
    count.0 += 1;
    // Held across an await with no lock.
    tokio::task::yield_now().await;
    format!("{}#{}: {text}", nick.name, count.0)
}

/// Extractors only, synchronous.
fn by_query(Query(login): Query<Login>, State(keys): State<Keys>) -> Result<User, Reject> {
    match keys.0.contains(&login.user.as_str()) {
        true => Ok(User { name: login.user }),
        false => Err(Reject::forbidden("not a member")),
    }
}

#[derive(Deserialize)]
struct Login {
    user: String,
}

#[ws_route("/hs/query", auth = by_query)]
async fn query(user: Auth<User>, text: String) -> String {
    format!("{}: {text}", user.name)
}

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn validators_hooks_and_sessions_take_extractors() {
    let (app, mut events) = app();
    let server = spawn_prefix("/hs/", app).await;
    let addr = server.local_addr();

    // The validator reads `State<Keys>`: an unknown token never opens.
    let refused = try_connect(addr, "/hs/chat?greeting=hi", &[("authorization", "Bearer mallory")]).await;
    assert_eq!(refused.err(), Some(401));

    let headers = [("authorization", "Bearer alice"), ("x-client", "tests")];
    let mut ws = try_connect(addr, "/hs/chat?greeting=hi", &headers).await.expect("alice connects");
    // on_open saw the identity, the query, the header and the default session.
    assert_eq!(next_event(&mut events).await, "open alice hi tests count=0");
    for n in 1..=3 {
        send(&mut ws, "x").await;
        assert_eq!(recv_text(&mut ws).await, format!("alice#{n}: x"));
    }
    within(ws.close(None)).await.expect("close");
    assert_eq!(next_event(&mut events).await, "close alice after 3 (normal)");
    // Dropped once, after on_close, and never again.
    assert_eq!(next_event(&mut events).await, "drop alice");
    eventually(|| server.hub().connections() == 0).await;
    assert_eq!(DROPS.load(Ordering::SeqCst), 1);
    assert!(events.try_recv().is_err(), "nothing after the drop");
}

#[tokio::test]
async fn a_hook_query_is_checked_before_the_upgrade() {
    let (app, _events) = app();
    let server = spawn_prefix("/hs/", app).await;
    // Only `on_open` takes `Query<Greeting>`: a query without `greeting` is
    // still answered with 400 before the upgrade.
    let refused = try_connect(server.local_addr(), "/hs/chat", &[("authorization", "Bearer bob")]).await;
    assert_eq!(refused.err(), Some(400));
}

#[tokio::test]
async fn a_validator_of_extractors_only() {
    let (app, _events) = app();
    let server = spawn_prefix("/hs/", app).await;
    let addr = server.local_addr();
    let mut ws = connect(addr, "/hs/query?user=bob").await;
    send(&mut ws, "hello").await;
    assert_eq!(recv_text(&mut ws).await, "bob: hello");
    assert_eq!(try_connect(addr, "/hs/query?user=eve", &[]).await.err(), Some(403));
}

// ---------------------------------------------------------------- startup errors

struct Missing;

async fn needs_missing(_m: State<Missing>) {}

#[ws_route("/hs-bad/open-state", on_open = needs_missing)]
async fn open_state(text: String) -> String {
    text
}

#[derive(Default)]
struct Tally;

async fn never_made(_t: Session<Tally>, _reason: CloseReason) {}

#[ws_route("/hs-bad/close-session", on_close = never_made)]
async fn close_session(text: String) -> String {
    text
}

struct Own;

async fn takes_its_own(_o: Session<Own>) -> Own {
    Own
}

#[ws_route("/hs-bad/own-session", on_open = takes_its_own)]
async fn own_session(text: String) -> String {
    text
}

fn validate_missing(_hs: &Handshake, _m: State<Missing>) -> Result<User, Reject> {
    Ok(User { name: String::new() })
}

#[ws_route("/hs-bad/auth-state", auth = validate_missing)]
async fn auth_state(text: String) -> String {
    text
}

/// The startup error of an app serving only `pattern`.
async fn build_error(pattern: &str) -> String {
    match within(App::empty().route(pattern).build()).await {
        Ok(_) => panic!("{pattern} should not start"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn hooks_are_checked_when_the_app_starts() {
    let here = file!();
    let cases = [
        ("/hs-bad/open-state", ["`on_open` function `needs_missing`", "State<", "Missing", "App::state"]),
        ("/hs-bad/close-session", ["`on_close` function `never_made`", "Session<", "Tally", "holds none"]),
        ("/hs-bad/own-session", ["`on_open` function `takes_its_own`", "Session<", "Own", "before its own"]),
        ("/hs-bad/auth-state", ["`auth` function `validate_missing`", "State<", "Missing", "App::state"]),
    ];
    for (pattern, wants) in cases {
        let error = build_error(pattern).await;
        assert!(error.contains(pattern) && error.contains(here), "{pattern}: no route and location in {error}");
        for want in wants {
            assert!(error.contains(want), "{pattern}: {want:?} missing from {error}");
        }
    }
}
