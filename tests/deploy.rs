//! The reverse-proxy configurations of `docs/DEPLOY.md`, run as written:
//! the test reads the `nginx` and `caddyfile` blocks from the document,
//! substitutes the ports, starts the real nginx and Caddy, and checks
//! through each: the upgrade and messages both ways, the origin policy
//! against the forwarded host, and the client address the app sees (the
//! client connects from 127.0.0.5 and spoofs `X-Forwarded-For`), also under
//! a per-IP cap. Without nginx or Caddy installed a check prints `skipped`
//! and passes, except under CI (`CI` set), where it fails.
//!
//! Every route of this file lives under `/d/`.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::{free_port, recv_text, send, wait_listening, within, Client};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::MaybeTlsStream;
use wirehub::prelude::*;
use wirehub::Server;

#[ws_route("/d/whoami")]
async fn whoami(conn: Conn, text: String) -> String {
    format!("{} {text}", conn.peer_addr())
}

#[ws_route("/d/capped", max_connections_per_ip = 1)]
async fn capped(text: String) -> String {
    text
}

/// The first fenced block of `docs/DEPLOY.md` with this info string.
fn documented(info: &str) -> String {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/DEPLOY.md")).expect("DEPLOY.md");
    let fence = format!("```{info}\n");
    let start = doc.find(&fence).unwrap_or_else(|| panic!("DEPLOY.md has no {fence:?} block")) + fence.len();
    let len = doc[start..].find("```").expect("a closed block");
    doc[start..start + len].to_owned()
}

/// `text` with `from` replaced by `to`, which must occur (so the document
/// cannot drift away from what this test runs).
fn substitute(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the documented block no longer contains {from:?}:\n{text}");
    text.replace(from, to)
}

fn installed(program: &str) -> bool {
    let found = std::process::Command::new(program).arg("version").stdout(Stdio::null()).stderr(Stdio::null()).status();
    match found {
        Ok(_) => true,
        Err(e) if std::env::var_os("CI").is_none() => {
            println!("skipped: {program} is not installed ({e}); `apt-get install {program}` to run it");
            false
        }
        Err(e) => panic!("{program} must be installed under CI (.ci/run installs it): {e}"),
    }
}

/// A scratch directory of this test's own.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wirehub-deploy-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

async fn app() -> Server {
    let app = App::empty().route("/d/whoami").route("/d/capped");
    let proxy: wirehub::config::Cidr = "127.0.0.1".parse().expect("a CIDR");
    within(app.trusted_proxies([proxy]).bind("127.0.0.1:0").start()).await.expect("starts")
}

/// A WebSocket client connecting from `source` (an address of the loopback
/// range) with extra headers; a refused upgrade is `Err(status)`.
async fn connect_from(source: &str, proxy: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Result<Client, u16> {
    let socket = TcpSocket::new_v4().expect("a socket");
    socket.bind(format!("{source}:0").parse().expect("a source address")).expect("bind the source address");
    let tcp = within(socket.connect(proxy)).await.expect("connect to the proxy");
    let mut request = format!("ws://{proxy}{path}").into_client_request().expect("a request");
    for (name, value) in headers {
        let name = tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes()).expect("name");
        request.headers_mut().insert(name, value.parse().expect("value"));
    }
    match within(tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(tcp))).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("upgrade through the proxy failed: {e}"),
    }
}

/// What every proxy configuration must get right.
async fn check_through(proxy: SocketAddr) {
    let origin = format!("http://{proxy}");
    let spoofing = [("origin", origin.as_str()), ("x-forwarded-for", "203.0.113.9")];
    let mut ws = connect_from("127.0.0.5", proxy, "/d/whoami", &spoofing).await.expect("upgraded through the proxy");
    send(&mut ws, "hello").await;
    assert_eq!(recv_text(&mut ws).await, "127.0.0.5:0 hello", "the real client, not the spoofed one nor the proxy");
    send(&mut ws, "again").await;
    assert_eq!(recv_text(&mut ws).await, "127.0.0.5:0 again");

    let evil = [("origin", "http://evil.example")];
    assert_eq!(connect_from("127.0.0.5", proxy, "/d/whoami", &evil).await.err(), Some(403));

    let _first = connect_from("127.0.0.5", proxy, "/d/capped", &[]).await.expect("first client");
    let _other = connect_from("127.0.0.6", proxy, "/d/capped", &[]).await.expect("another client, same proxy");
    assert_eq!(connect_from("127.0.0.5", proxy, "/d/capped", &[]).await.err(), Some(429));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_nginx_configuration_proxies_websockets() {
    if !installed("nginx") {
        return;
    }
    let server = app().await;
    let port = free_port();
    let dir = scratch("nginx");
    let block = substitute(&documented("nginx"), "listen 80;", &format!("listen 127.0.0.1:{port};"));
    let block = substitute(&block, "127.0.0.1:8000", &server.local_addr().to_string());
    let d = dir.display();
    let config = format!(
        "worker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n    access_log off;\n    client_body_temp_path {d}/body;\n    proxy_temp_path {d}/proxy;\n    \
         fastcgi_temp_path {d}/fastcgi;\n    uwsgi_temp_path {d}/uwsgi;\n    scgi_temp_path {d}/scgi;\n{block}}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), config).expect("write nginx.conf");
    let nginx = tokio::process::Command::new("nginx")
        .args(["-p", &d.to_string(), "-e", &format!("{d}/error.log"), "-c", &format!("{d}/nginx.conf")])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start nginx");
    let proxy: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    wait_listening(proxy).await;
    check_through(proxy).await;
    drop(nginx);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_caddy_configuration_proxies_websockets() {
    if !installed("caddy") {
        return;
    }
    let server = app().await;
    let port = free_port();
    let dir = scratch("caddy");
    let block = substitute(&documented("caddyfile"), ":80 {", &format!(":{port} {{"));
    let block = substitute(&block, "127.0.0.1:8000", &server.local_addr().to_string());
    let config = format!("{{\n    admin off\n    auto_https off\n}}\n\n{block}");
    std::fs::write(dir.join("Caddyfile"), config).expect("write the Caddyfile");
    let caddy = tokio::process::Command::new("caddy")
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(dir.join("Caddyfile"))
        .env("HOME", &dir)
        .env("XDG_DATA_HOME", &dir)
        .env("XDG_CONFIG_HOME", &dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start caddy");
    let proxy: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    wait_listening(proxy).await;
    check_through(proxy).await;
    drop(caddy);
    let _ = std::fs::remove_dir_all(dir);
}
