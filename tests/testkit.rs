//! The in-process test kit (`wirehub::testing`): each of its features, the
//! text of its failures, and the runtime's rules (auth, origin, caps,
//! heartbeat, idle and reauth timeouts) reached through it, the timeouts
//! under tokio's paused clock.
//!
//! Every route of this file lives under `/kit/`. No test here opens a socket.

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::FutureExt;
use serde::{Deserialize, Serialize};
use wirehub::prelude::*;
use wirehub::testing::{TestError, TestServer};

#[ws_route("/kit/echo")]
async fn echo(msg: Message) -> Option<Message> {
    match msg {
        Message::Text(_) | Message::Binary(_) => Some(msg),
        _ => None,
    }
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Point {
    x: i32,
    y: i32,
}

/// Mirrors a point; anything else gets a text that is no JSON point.
#[ws_route("/kit/mirror")]
async fn mirror(text: String) -> String {
    match serde_json::from_str::<Point>(&text) {
        Ok(p) => serde_json::json!({"x": -p.x, "y": -p.y}).to_string(),
        Err(_) => "not a point".to_owned(),
    }
}

#[ws_route("/kit/welcome", on_open = welcome)]
async fn welcomed(text: String) -> String {
    text
}

async fn welcome(conn: Conn) {
    let _ = conn.send("welcome").await;
}

#[ws_route("/kit/room/{name}", broadcast = "kit:{name}")]
async fn room(text: String) -> String {
    text
}

/// Answers with the address the connection sees.
#[ws_route("/kit/whoami", max_connections_per_ip = 1)]
async fn whoami(conn: Conn, _text: String) -> String {
    conn.peer_addr().to_string()
}

#[ws_route("/kit/protocols", protocols = ["kit.v2", "kit.v1"])]
async fn protocols(text: String) -> String {
    text
}

#[ws_route("/kit/origin", origins = ["https://app.example"])]
async fn origin_listed(text: String) -> String {
    text
}

#[ws_route("/kit/rate", rate = "2/s")]
async fn rated(text: String) -> String {
    text
}

#[ws_route("/kit/heartbeat", heartbeat = "30s", heartbeat_timeout = "10s")]
async fn heartbeat(text: String) -> String {
    text
}

#[ws_route("/kit/idle", idle_timeout = "60s", heartbeat = "off")]
async fn idle(text: String) -> String {
    text
}

async fn validate(hs: &Handshake) -> Result<String, Reject> {
    match hs.token().as_deref() {
        Some("good") => Ok("ann".to_owned()),
        Some(_) => Err(Reject::forbidden("bad token")),
        None => Err(Reject::unauthorized("token required")),
    }
}

/// Whether `revocable` still accepts its token (only the reauth test uses it).
static STILL_VALID: AtomicBool = AtomicBool::new(true);

async fn revocable(hs: &Handshake) -> Result<String, Reject> {
    match STILL_VALID.load(Ordering::Relaxed) {
        true => validate(hs).await,
        false => Err(Reject::forbidden("revoked")),
    }
}

#[ws_route("/kit/members/{name}", auth = validate, broadcast = "members:{name}")]
async fn members(user: Auth<String>, text: String) -> String {
    format!("{}: {text}", user.as_str())
}

#[ws_route("/kit/reauth", auth = revocable, reauth = "5m")]
async fn reauthed(text: String) -> String {
    text
}

async fn server(route: &str) -> TestServer {
    TestServer::new(App::empty().route(route)).await.expect("the app builds")
}

/// What a failed expectation printed.
async fn panic_text(expectation: impl Future<Output = ()>) -> String {
    let payload = AssertUnwindSafe(expectation).catch_unwind().await.expect_err("the expectation fails");
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => payload.downcast_ref::<&str>().map(|s| (*s).to_owned()).unwrap_or_default(),
    }
}

#[tokio::test]
async fn sends_and_receives_text_binary_and_json() -> Result<(), TestError> {
    let server = server("/kit/echo").await;
    let mut client = server.connect("/kit/echo").await?;
    client.send_text("hello").await?;
    assert_eq!(client.recv_text().await?, "hello");
    client.send_binary(vec![1, 2, 3]).await?;
    assert_eq!(client.recv_binary().await?.as_ref(), [1, 2, 3]);
    client.send_json(&Point { x: 1, y: 2 }).await?;
    assert_eq!(client.recv_json::<Point>().await?, Point { x: 1, y: 2 });
    client.send_text("again").await?;
    assert_eq!(client.recv().await?, Message::text("again"));
    client.expect_send("as an assertion").await;
    client.expect_text("as an assertion").await;
    client.recv_nothing(Duration::from_millis(20)).await?;
    assert_eq!(client.close().await?.code, CloseCode::Normal);
    server.wait_idle().await
}

#[tokio::test]
async fn typed_json_and_its_assertions() -> Result<(), TestError> {
    let server = server("/kit/mirror").await;
    let mut client = server.connect("/kit/mirror").await?;
    client.send_json(&Point { x: 3, y: -4 }).await?;
    assert_eq!(client.expect_json::<Point>().await, Point { x: -3, y: 4 });
    client.send_json(&serde_json::json!({"y": 1, "x": 2})).await?;
    client.expect_json_eq(&serde_json::json!({"y": -1, "x": -2})).await;
    Ok(())
}

#[tokio::test]
async fn wrong_json_says_what_arrived() -> Result<(), TestError> {
    let server = server("/kit/mirror").await;
    let mut client = server.connect("/kit/mirror").await?;
    client.send_text("hello").await?;
    let err = client.recv_json::<Point>().await.expect_err("no JSON came");
    let text = err.to_string();
    assert!(matches!(err, TestError::Json { .. }), "{text}");
    assert!(text.starts_with("expected JSON of type `testkit::Point`, but got text \"not a point\""), "{text}");
    assert!(text.contains("received so far: 1 message(s)") && text.contains("1. text \"not a point\""), "{text}");
    // The panicking form prints the same.
    client.send_json(&Point { x: 1, y: 1 }).await?;
    let printed = panic_text(async {
        client.expect_json_eq(&serde_json::json!({"x": 1, "y": 1})).await;
    })
    .await;
    assert!(printed.starts_with(r#"expected JSON {"x":1,"y":1}, but got JSON {"x":-1,"y":-1}"#), "{printed}");
    Ok(())
}

#[tokio::test]
async fn a_failed_expectation_prints_what_was_received() -> Result<(), TestError> {
    let server = server("/kit/echo").await;
    let mut client = server.connect("/kit/echo").await?;
    for text in ["one", "two"] {
        client.send_text(text).await?;
        client.expect_text(text).await;
    }
    client.send_binary(vec![0xca, 0xfe]).await?;
    let printed = panic_text(client.expect_text("three")).await;
    assert!(printed.starts_with("expected a text message, but got binary (2 bytes) [ca fe]"), "{printed}");
    assert!(printed.contains("1. text \"one\"\n  2. text \"two\"\n  3. binary (2 bytes) [ca fe]"), "{printed}");

    client.send_text("four").await?;
    let printed = panic_text(client.expect_text("five")).await;
    assert!(printed.starts_with("expected text \"five\", but got text \"four\""), "{printed}");
    client.send_text("six").await?;
    let printed = panic_text(client.expect_nothing(Duration::from_secs(1))).await;
    assert!(printed.starts_with("expected nothing for 1s, but got text \"six\""), "{printed}");
    Ok(())
}

#[tokio::test]
#[should_panic(expected = "expected binary (1 bytes) [07], but got binary (1 bytes) [08]")]
async fn expect_binary_panics_like_assert_eq() {
    let server = server("/kit/echo").await;
    let mut client = server.connect("/kit/echo").await.expect("connects");
    client.expect_send(vec![8u8]).await;
    client.expect_binary(&[7]).await;
}

#[tokio::test(start_paused = true)]
async fn a_timeout_elapses_in_virtual_time_and_says_so() -> Result<(), TestError> {
    let server = server("/kit/echo").await;
    let mut client = server.connect("/kit/echo").await?;
    client.send_text("only this").await?;
    client.expect_text("only this").await;
    let started = tokio::time::Instant::now();
    let err = client.recv().await.expect_err("nothing more comes");
    assert_eq!(started.elapsed(), Duration::from_secs(5), "the default timeout, in virtual time");
    let text = err.to_string();
    assert!(matches!(err, TestError::Timeout { .. }), "{text}");
    assert!(text.starts_with("expected a message, but nothing arrived within 5s"), "{text}");
    assert!(text.contains("1. text \"only this\""), "{text}");
    client.set_timeout(Duration::from_millis(250));
    let started = tokio::time::Instant::now();
    client.recv().await.expect_err("nothing more comes");
    assert_eq!(started.elapsed(), Duration::from_millis(250));
    Ok(())
}

#[tokio::test]
async fn connect_returns_once_on_open_ran() -> Result<(), TestError> {
    let server = server("/kit/welcome").await;
    let mut client = server.connect("/kit/welcome").await?;
    assert_eq!(server.hub().connections(), 1);
    client.expect_text("welcome").await;
    client.send_text("hi").await?;
    client.expect_text("hi").await;
    Ok(())
}

#[tokio::test]
async fn rooms_and_presence_through_the_hub() -> Result<(), TestError> {
    let server = server("/kit/members/{name}").await;
    let mut ann = server.request("/kit/members/a").bearer("good").connect().await?;
    let mut ann2 = server.request("/kit/members/a").bearer("good").connect().await?;
    let presence = server.hub().presence("members:a");
    assert_eq!(presence.len(), 2);
    assert!(presence.iter().all(|m| m.principal.as_deref() == Some("ann")), "{presence:?}");
    assert_eq!(server.hub().connections_of("ann").len(), 2);
    ann.send_text("hi").await?;
    ann2.expect_text("ann: hi").await;
    ann.expect_text("ann: hi").await;
    server.hub().broadcast("members:a", "from outside");
    ann.expect_text("from outside").await;
    ann2.expect_text("from outside").await;
    ann2.close().await?;
    drop(ann);
    server.wait_idle().await?;
    assert!(server.hub().members("members:a").is_empty());
    Ok(())
}

#[tokio::test]
async fn an_auth_refusal_carries_its_status_and_body() -> Result<(), TestError> {
    let server = server("/kit/members/{name}").await;
    let refused = server.request("/kit/members/a").expect_refused().await;
    assert_eq!((refused.status, refused.body.as_str()), (401, "token required"));
    let err = server.request("/kit/members/a").bearer("nope").connect().await.expect_err("refused");
    assert_eq!(err.refused().map(|r| r.status), Some(403), "{err}");
    assert_eq!(err.to_string(), "the upgrade was refused: 403 \"bad token\"");
    let metrics = server.metrics().expect("metrics are on");
    assert!(metrics.contains(r#"wirehub_handshakes_rejected_total{reason="auth",route="/kit/members/{name}"} 2"#));
    Ok(())
}

#[tokio::test]
async fn the_origin_policy_applies() -> Result<(), TestError> {
    let server = TestServer::new(App::empty().route("/kit/origin").route("/kit/echo")).await.expect("builds");
    let refused = server.request("/kit/origin").origin("https://evil.example").expect_refused().await;
    assert_eq!(refused.status, 403);
    server.request("/kit/origin").origin("https://app.example").connect().await?;
    // The default policy: the server's own hosts (localhost names) only.
    assert_eq!(server.request("/kit/echo").origin("https://evil.example").expect_refused().await.status, 403);
    server.request("/kit/echo").origin("http://localhost:3000").connect().await?;
    Ok(())
}

#[tokio::test]
async fn the_per_ip_cap_counts_the_peer_address() -> Result<(), TestError> {
    let server = server("/kit/whoami").await;
    let first: SocketAddr = "203.0.113.7:5000".parse().expect("addr");
    let mut client = server.request("/kit/whoami").peer(first).connect().await?;
    client.send_text("?").await?;
    client.expect_text("203.0.113.7:5000").await;
    let same_ip: SocketAddr = "203.0.113.7:5001".parse().expect("addr");
    assert_eq!(server.request("/kit/whoami").peer(same_ip).expect_refused().await.status, 429);
    let mut other = server.request("/kit/whoami").peer("198.51.100.1:5000".parse().expect("addr")).connect().await?;
    other.send_text("?").await?;
    other.expect_text("198.51.100.1:5000").await;
    // By default each client is 127.0.0.1 with a port of its own.
    let local = server.connect("/kit/whoami").await?;
    assert!(local.peer_addr().ip().is_loopback() && local.peer_addr().port() != 0);
    Ok(())
}

#[tokio::test]
async fn subprotocols_are_negotiated() -> Result<(), TestError> {
    let server = server("/kit/protocols").await;
    let client = server.request("/kit/protocols").protocols(["kit.v1", "kit.v2"]).connect().await?;
    assert_eq!(client.protocol(), Some("kit.v2"), "the route's preference");
    assert_eq!(server.request("/kit/protocols").protocols(["other"]).expect_refused().await.status, 400);
    Ok(())
}

#[tokio::test]
async fn a_close_from_the_server_has_its_code_and_reason() -> Result<(), TestError> {
    let server = server("/kit/rate").await;
    let mut client = server.connect("/kit/rate").await?;
    for text in ["1", "2", "3"] {
        client.send_text(text).await?;
    }
    client.expect_text("1").await;
    client.expect_text("2").await;
    let closed = client.expect_close().await;
    assert_eq!((closed.code, closed.reason.as_str()), (CloseCode::Policy, "message rate limit exceeded"));
    // The end stays the answer of every receive, and sends say why they fail.
    assert_eq!(client.recv_close().await?.code, CloseCode::Policy);
    let err = client.recv_text().await.expect_err("closed");
    assert!(err.to_string().starts_with("expected a text message, but got close 1008"), "{err}");
    let err = client.send_text("4").await.expect_err("closed");
    assert!(err.to_string().contains("the connection is over: close 1008"), "{err}");
    server.wait_idle().await
}

#[tokio::test(start_paused = true)]
async fn heartbeat_drops_a_client_that_stops_reading() -> Result<(), TestError> {
    let server = server("/kit/heartbeat").await;
    let mut client = server.connect("/kit/heartbeat").await?;
    // Reading, the client answers every ping (at 30 s, 60 s, ... 270 s).
    client.expect_nothing(Duration::from_secs(290)).await;
    assert_eq!(client.pings(), 9);
    client.send_text("still here").await?;
    client.expect_text("still here").await;
    // Not reading, it is dropped `heartbeat + heartbeat_timeout` after it
    // was last heard (its message at 290 s), without a close frame.
    let stopped = tokio::time::Instant::now();
    tokio::time::sleep(Duration::from_secs(39)).await;
    assert_eq!(server.hub().connections(), 1, "still within heartbeat + heartbeat_timeout");
    server.wait_idle().await?;
    assert_eq!(stopped.elapsed(), Duration::from_secs(40));
    let closed = client.expect_close().await;
    assert_eq!(closed.code, CloseCode::Abnormal, "{closed:?}");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn idle_timeout_closes_in_virtual_time() -> Result<(), TestError> {
    let server = server("/kit/idle").await;
    let mut client = server.connect("/kit/idle").await?;
    client.expect_nothing(Duration::from_secs(59)).await;
    client.send_text("resets it").await?;
    client.expect_text("resets it").await;
    let last = tokio::time::Instant::now();
    client.set_timeout(Duration::from_secs(90));
    let closed = client.expect_close().await;
    assert_eq!((closed.code, closed.reason.as_str()), (CloseCode::Normal, "idle timeout"));
    assert_eq!(last.elapsed(), Duration::from_secs(60));
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn reauth_closes_once_the_validator_refuses() -> Result<(), TestError> {
    let server = server("/kit/reauth").await;
    let mut client = server.request("/kit/reauth").bearer("good").connect().await?;
    // Reading, it answers the heartbeat; the validator accepts at 5 min.
    client.expect_nothing(Duration::from_secs(6 * 60)).await;
    STILL_VALID.store(false, Ordering::Relaxed);
    client.set_timeout(Duration::from_secs(5 * 60));
    let revoked = tokio::time::Instant::now();
    let closed = client.expect_close().await;
    assert_eq!((closed.code, closed.reason.as_str()), (CloseCode::Policy, "authentication expired"));
    assert_eq!(revoked.elapsed(), Duration::from_secs(4 * 60), "at the second check, 10 min in");
    Ok(())
}

#[tokio::test]
async fn metrics_and_shutdown() -> Result<(), TestError> {
    let server = server("/kit/echo").await;
    let mut client = server.connect("/kit/echo").await?;
    client.send_text("counted").await?;
    client.expect_text("counted").await;
    let metrics = server.metrics().expect("metrics are on");
    assert!(metrics.contains(r#"wirehub_connections_opened_total{route="/kit/echo"} 1"#), "{metrics}");
    // The client answers the server's close while it reads: both at once.
    let (closed, ()) = tokio::join!(client.expect_close(), server.shutdown());
    assert_eq!(closed.code, CloseCode::Away);
    assert_eq!(server.hub().connections(), 0);
    let off = TestServer::new(App::empty().route("/kit/echo").config(|c| c.metrics = false)).await.expect("builds");
    assert!(off.metrics().is_none());
    Ok(())
}

#[tokio::test]
async fn requests_that_cannot_be_sent_are_errors() {
    let server = server("/kit/echo").await;
    let err = server.connect("kit/echo").await.expect_err("no leading slash");
    assert!(matches!(err, TestError::Handshake(_)), "{err}");
    let err = server.request("/kit/echo").header("bad header", "x").connect().await.expect_err("bad name");
    assert!(err.to_string().contains("bad header"), "{err}");
    assert_eq!(server.connect("/kit/none").await.expect_err("no route").refused().map(|r| r.status), Some(404));
}
