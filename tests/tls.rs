//! `wss://` served directly (feature `tls`): a real rustls client against a
//! self-signed certificate made here with rcgen, the certificate reloaded
//! from its files without a restart (a failed reload keeps the old one),
//! `Handshake::secure`, and the errors of unusable PEM input.
//!
//! Every route of this file lives under `/t/`.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::within;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::WebSocketStream;
use wirehub::prelude::*;
use wirehub::{Tls, TlsError};

#[ws_route("/t/echo")]
async fn echo(msg: Message) -> Option<Message> {
    Some(msg)
}

struct Secure;

impl Principal for Secure {
    fn principal(&self) -> &str {
        "tls"
    }
}

async fn tls_only(hs: &Handshake) -> Result<Secure, Reject> {
    match hs.secure() {
        true => Ok(Secure),
        false => Err(Reject::forbidden("use wss://")),
    }
}

#[ws_route("/t/secure", auth = tls_only)]
async fn secure(text: String) -> String {
    text
}

/// A fresh self-signed certificate for `localhost` and `127.0.0.1`: (cert PEM, key PEM, cert DER).
fn self_signed() -> (String, String, CertificateDer<'static>) {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let rcgen::CertifiedKey { cert, key_pair } = rcgen::generate_simple_self_signed(names).expect("a certificate");
    (cert.pem(), key_pair.serialize_pem(), cert.der().clone())
}

/// A directory of this test's own.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wirehub-tls-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// A rustls client trusting exactly `roots`.
fn connector(roots: &[&CertificateDer<'static>]) -> TlsConnector {
    let mut store = RootCertStore::empty();
    for root in roots {
        store.add((*root).clone()).expect("a usable root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(store)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

type Wss = WebSocketStream<TlsStream<TcpStream>>;

/// TLS to `addr` as `localhost`, then the WebSocket upgrade of `path`;
/// also the certificate the server presented.
async fn connect_wss(
    connector: &TlsConnector,
    addr: std::net::SocketAddr,
    path: &str,
) -> (Wss, CertificateDer<'static>) {
    let tcp = within(TcpStream::connect(addr)).await.expect("tcp connect");
    let name = ServerName::try_from("localhost").expect("a server name");
    let tls = within(connector.connect(name, tcp)).await.expect("the TLS handshake");
    let presented = tls.get_ref().1.peer_certificates().and_then(|c| c.first()).expect("a certificate").clone();
    let (ws, response) =
        within(tokio_tungstenite::client_async(format!("wss://localhost{path}"), tls)).await.expect("upgrade");
    assert_eq!(response.status(), 101);
    (ws, presented)
}

async fn echo_once(ws: &mut Wss, text: &str) -> String {
    within(ws.send(WsMessage::text(text))).await.expect("send");
    match within(ws.next()).await {
        Some(Ok(WsMessage::Text(t))) => t.as_str().to_owned(),
        other => panic!("expected text, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_with_a_real_rustls_client_and_reload_without_restart() {
    let (cert_a, key_a, der_a) = self_signed();
    let dir = scratch("reload");
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, &cert_a).expect("write cert");
    std::fs::write(&key_path, &key_a).expect("write key");
    let tls = Tls::from_pem_files(&cert_path, &key_path).expect("usable PEM files");
    let app = App::empty().route("/t/echo").route("/t/secure").bind("127.0.0.1:0").tls(tls.clone());
    let server = within(app.start()).await.expect("starts");
    let addr = server.local_addr();

    let (cert_b, key_b, der_b) = self_signed();
    let client = connector(&[&der_a, &der_b]);
    let (mut first, presented) = connect_wss(&client, addr, "/t/echo").await;
    assert_eq!(presented, der_a);
    assert_eq!(echo_once(&mut first, "over tls").await, "over tls");
    let (mut secured, _) = connect_wss(&client, addr, "/t/secure").await;
    assert_eq!(echo_once(&mut secured, "secure").await, "secure", "Handshake::secure is true over TLS");

    // A client that trusts only another certificate refuses this one.
    let tcp = within(TcpStream::connect(addr)).await.expect("tcp connect");
    let stranger = connector(&[&der_b]).connect(ServerName::try_from("localhost").expect("name"), tcp);
    assert!(within(stranger).await.is_err(), "the server presented the first certificate");

    // New files, reloaded: new connections get the new certificate, the old one goes on.
    std::fs::write(&cert_path, &cert_b).expect("write cert");
    std::fs::write(&key_path, &key_b).expect("write key");
    tls.reload().expect("reloads");
    let (mut second, presented) = connect_wss(&client, addr, "/t/echo").await;
    assert_eq!(presented, der_b);
    assert_eq!(echo_once(&mut second, "renewed").await, "renewed");
    assert_eq!(echo_once(&mut first, "still here").await, "still here");

    // A broken file: the reload fails and the certificate in use stays.
    std::fs::write(&key_path, "not a key").expect("write key");
    assert!(matches!(tls.reload(), Err(TlsError::NoKey(_))));
    let (third, presented) = connect_wss(&client, addr, "/t/echo").await;
    assert_eq!(presented, der_b);
    drop((first, second, secured, third));

    // Plain HTTP on the TLS port gets no answer a WebSocket client accepts.
    let plain = tokio_tungstenite::connect_async(format!("ws://{addr}/t/echo"));
    assert!(within(plain).await.is_err());
    within(server.shutdown()).await.expect("shuts down");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_connections_are_not_secure() {
    let app = within(App::empty().route("/t/secure").build()).await.expect("builds");
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    tokio::spawn(app.serve_connection(server_io, "127.0.0.1:9".parse().expect("addr")));
    match within(tokio_tungstenite::client_async("ws://localhost/t/secure", client_io)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected 403, got {other:?}"),
    }
}

#[test]
fn unusable_pem_input_says_what_is_wrong() {
    let missing = Tls::from_pem_files("/nonexistent/cert.pem", "/nonexistent/key.pem");
    assert!(matches!(missing, Err(TlsError::Read { .. })), "{missing:?}");
    let (cert, key, _) = self_signed();
    assert!(matches!(Tls::from_pem(b"", key.as_bytes()), Err(TlsError::NoCertificate(_))));
    assert!(matches!(Tls::from_pem(cert.as_bytes(), cert.as_bytes()), Err(TlsError::NoKey(_))));
    let (_, other_key, _) = self_signed();
    assert!(matches!(Tls::from_pem(cert.as_bytes(), other_key.as_bytes()), Err(TlsError::Rustls(_))));
    assert!(Tls::from_pem(cert.as_bytes(), key.as_bytes()).is_ok());
    let text = Tls::from_pem(b"", b"").err().map(|e| e.to_string()).unwrap_or_default();
    assert!(text.contains("BEGIN CERTIFICATE"), "{text}");
}
