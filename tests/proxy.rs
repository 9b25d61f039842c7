//! Behind a reverse proxy, over real sockets: forwarding headers from a
//! trusted peer name the client (its address in `Conn::peer_addr` and under
//! per-IP caps, its host for the origin policy, its scheme for
//! `Handshake::secure`); the same headers from an untrusted peer, spoofed,
//! change nothing. IPv6 clients share a cap per /64 unless configured.
//!
//! Every route of this file lives under `/p/`.

mod common;

use common::{recv_text, send, try_connect, within};
use wirehub::config::{Cidr, ProxyHeaders};
use wirehub::prelude::*;
use wirehub::Server;

#[ws_route("/p/whoami")]
async fn whoami(conn: Conn, _text: String) -> String {
    conn.peer_addr().to_string()
}

#[ws_route("/p/capped", max_connections_per_ip = 1)]
async fn capped(text: String) -> String {
    text
}

#[ws_route("/p/origin")]
async fn origin(text: String) -> String {
    text
}

struct Secure;

impl Principal for Secure {
    fn principal(&self) -> &str {
        "secure"
    }
}

async fn https_only(hs: &Handshake) -> Result<Secure, Reject> {
    match hs.secure() {
        true => Ok(Secure),
        false => Err(Reject::forbidden("https only")),
    }
}

#[ws_route("/p/secure", auth = https_only)]
async fn secure(text: String) -> String {
    text
}

async fn start(change: impl FnOnce(&mut wirehub::Config)) -> Server {
    let app = ["/p/whoami", "/p/capped", "/p/origin", "/p/secure"].into_iter().fold(App::empty(), App::route);
    // The same-host policy (an opt-in) is the one that reads the forwarded
    // host; the default allowed-hosts policy never trusts a host header.
    let app = app.config(|c| c.origins = wirehub::config::Origins::SameHost);
    within(app.config(change).bind("127.0.0.1:0").start()).await.expect("starts")
}

fn loopback() -> Vec<Cidr> {
    vec!["127.0.0.1".parse().expect("a CIDR")]
}

/// The address `/p/whoami` reports for a client sending `headers`.
async fn whoami_with(server: &Server, headers: &[(&str, &str)]) -> String {
    let mut ws = try_connect(server.local_addr(), "/p/whoami", headers).await.expect("accepted");
    send(&mut ws, "?").await;
    recv_text(&mut ws).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoofed_headers_from_an_untrusted_peer_change_nothing() {
    // Trusts a proxy range the test client is not in.
    let server = start(|c| c.trusted_proxies = vec!["10.0.0.0/8".parse().expect("a CIDR")]).await;
    let addr = server.local_addr();
    let spoof = [
        ("x-forwarded-for", "203.0.113.9"),
        ("x-forwarded-host", "evil.example"),
        ("x-forwarded-proto", "https"),
        ("forwarded", "for=203.0.113.9;host=evil.example;proto=https"),
    ];
    let seen: std::net::SocketAddr = whoami_with(&server, &spoof).await.parse().expect("an address");
    assert!(seen.ip().is_loopback() && seen.port() != 0, "the socket peer, not the spoofed client: {seen}");

    // Per-IP caps count the socket peer: a second "client" is the same one.
    let _first = try_connect(addr, "/p/capped", &[("x-forwarded-for", "203.0.113.1")]).await.expect("accepted");
    assert_eq!(try_connect(addr, "/p/capped", &[("x-forwarded-for", "203.0.113.2")]).await.err(), Some(429));

    // The origin policy compares with the real Host, not the spoofed one.
    let evil = [("origin", "https://evil.example"), ("x-forwarded-host", "evil.example")];
    assert_eq!(try_connect(addr, "/p/origin", &evil).await.err(), Some(403));
    assert_eq!(try_connect(addr, "/p/secure", &spoof).await.err(), Some(403), "not secure: no TLS, no trusted proxy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxys_headers_name_the_client() {
    let server = start(|c| c.trusted_proxies = loopback()).await;
    let addr = server.local_addr();
    // The client wrote a first entry itself; the proxy appended the real one.
    assert_eq!(whoami_with(&server, &[("x-forwarded-for", "1.2.3.4, 203.0.113.9")]).await, "203.0.113.9:0");
    assert_eq!(whoami_with(&server, &[("x-forwarded-for", "2001:db8::5")]).await, "[2001:db8::5]:0");
    let direct: std::net::SocketAddr = whoami_with(&server, &[]).await.parse().expect("an address");
    assert!(direct.ip().is_loopback(), "no header: the socket peer ({direct})");

    // Per-IP caps count the forwarded clients; IPv6 ones by /64.
    let xff = |ip| [("x-forwarded-for", ip)];
    let mut open = Vec::new();
    for ip in ["203.0.113.9", "203.0.113.10", "2001:db8::1", "2001:db8:0:1::1"] {
        open.push(try_connect(addr, "/p/capped", &xff(ip)).await.expect("a client of its own"));
    }
    for ip in ["203.0.113.9", "2001:db8::2", "2001:db8::ffff:1"] {
        assert_eq!(try_connect(addr, "/p/capped", &xff(ip)).await.err(), Some(429), "{ip}: over the cap");
    }

    // The same-host origin check uses the forwarded host.
    let forwarded_host = [("origin", "https://app.example"), ("x-forwarded-host", "app.example")];
    let mut ws = try_connect(addr, "/p/origin", &forwarded_host).await.expect("same host as forwarded");
    send(&mut ws, "ok").await;
    assert_eq!(recv_text(&mut ws).await, "ok");
    assert_eq!(try_connect(addr, "/p/origin", &[("origin", "https://app.example")]).await.err(), Some(403));

    // The forwarded scheme: https counts as secure.
    assert!(try_connect(addr, "/p/secure", &[("x-forwarded-proto", "https")]).await.is_ok());
    assert_eq!(try_connect(addr, "/p/secure", &[("x-forwarded-proto", "http")]).await.err(), Some(403));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc_7239_forwarded_when_chosen() {
    let server = start(|c| {
        c.trusted_proxies = loopback();
        c.proxy_headers = ProxyHeaders::Forwarded;
    })
    .await;
    let forwarded = [
        ("forwarded", r#"for="[2001:db8::17]:4711";host=app.example;proto=https"#),
        ("x-forwarded-for", "203.0.113.99"),
    ];
    assert_eq!(whoami_with(&server, &forwarded).await, "[2001:db8::17]:4711", "X-Forwarded-For is not read");
    let addr = server.local_addr();
    let with_origin = [forwarded[0], ("origin", "https://app.example")];
    assert!(try_connect(addr, "/p/origin", &with_origin).await.is_ok());
    assert!(try_connect(addr, "/p/secure", &forwarded).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ipv6_cap_prefix_is_configurable() {
    let server = start(|c| {
        c.trusted_proxies = loopback();
        c.ipv6_cap_prefix = 128;
    })
    .await;
    let addr = server.local_addr();
    let _a = try_connect(addr, "/p/capped", &[("x-forwarded-for", "2001:db8::1")]).await.expect("accepted");
    let _b = try_connect(addr, "/p/capped", &[("x-forwarded-for", "2001:db8::2")]).await.expect("its own cap at /128");
    assert_eq!(try_connect(addr, "/p/capped", &[("x-forwarded-for", "2001:db8::1")]).await.err(), Some(429));
    // The app builder takes the list too.
    let app = App::empty().route("/p/whoami").trusted_proxies(loopback());
    let server = within(app.bind("127.0.0.1:0").start()).await.expect("starts");
    assert_eq!(whoami_with(&server, &[("x-forwarded-for", "198.51.100.3")]).await, "198.51.100.3:0");
}
