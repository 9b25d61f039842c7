//! The examples as a user runs them: each its own process on a free port,
//! real clients, and what its docs promise: the chat's JSON, the axum
//! example's REST and WebSocket routes on one port, the TLS example's
//! `wss://` with given PEM files, and a drain on SIGTERM (every client gets
//! 1001, the process exits 0 within the drain time).

mod common;

use std::process::{Child, Command, Stdio};

use common::redis::RedisServer;
use common::{connect, get, http_head, recv_text, send, within, Client};
use serde_json::Value;

/// The example's process, killed on drop.
struct Example(Child);

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn json(ws: &mut Client) -> Value {
    serde_json::from_str(&recv_text(ws).await).expect("a JSON message")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_example_welcomes_announces_and_relays() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let child = Command::new(common::example_binary("chat"))
        .env("PORT", port.to_string())
        .env_remove("WIREHUB_REDIS_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the chat example");
    let _example = Example(child);
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    within(async {
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await;

    // The page.
    let head = http_head(addr, &get("/")).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.to_ascii_lowercase().contains("text/html"), "{head}");

    // The welcome (the member's own send) and the room's presence state
    // (the framework's presence events) may come in either order.
    let mut ann = connect(addr, "/chat/lobby").await;
    let (welcome, state) = welcome_and_state(&mut ann).await;
    let ann_id = welcome["id"].as_u64().expect("an id");
    assert_eq!(state["members"], serde_json::json!({ann_id.to_string(): null}), "{state}");

    let mut bob = connect(addr, "/chat/lobby").await;
    let (welcome, state) = welcome_and_state(&mut bob).await;
    let bob_id = welcome["id"].as_u64().expect("bob's id");
    assert_eq!(state["count"], 2, "{state}");
    let join = json(&mut ann).await;
    assert_eq!(
        (&join["type"], &join["joins"], &join["count"]),
        (&"presence_diff".into(), &serde_json::json!({bob_id.to_string(): null}), &2.into()),
        "{join}"
    );
    // Another room hears nothing of the lobby.
    let mut other = connect(addr, "/chat/elsewhere").await;
    assert_eq!(welcome_and_state(&mut other).await.1["count"], 1);

    send(&mut bob, "  hello  ").await;
    for ws in [&mut ann, &mut bob] {
        let mut m = json(ws).await;
        assert!(m.as_object_mut().and_then(|m| m.remove("pos")).is_some_and(|p| p.is_string()), "{m}");
        assert_eq!(m, serde_json::json!({"type": "message", "room": "lobby", "from": bob_id, "text": "hello"}));
    }
    send(&mut other, "marker").await;
    assert_eq!(json(&mut other).await["text"], "marker", "the other room got nothing before its own message");

    drop(bob);
    let leave = json(&mut ann).await;
    assert_eq!(
        (&leave["leaves"], &leave["count"]),
        (&serde_json::json!({bob_id.to_string(): null}), &1.into()),
        "{leave}"
    );
}

/// The chat on two instances sharing one Redis: a member on one hears a
/// member on the other, then reconnects to the other instance with the last
/// position it saw and gets what it missed, then live messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_chat_instances_on_one_redis_share_rooms_and_history() {
    let Some(redis) = RedisServer::start().await else { return };
    let url = redis.url();
    let a = Running::start("chat", &[("WIREHUB_REDIS_URL", &url)]).await;
    let b = Running::start("chat", &[("WIREHUB_REDIS_URL", &url)]).await;
    let mut ann = connect(a.addr, "/chat/lobby").await;
    welcome_and_state(&mut ann).await;
    let mut bob = connect(b.addr, "/chat/lobby").await;
    let bob_id = welcome_and_state(&mut bob).await.0["id"].to_string();
    // Bob's join reaching ann shows that instance a hears the room's channel.
    while !chat_json(&mut ann, true).await["joins"].as_object().is_some_and(|j| j.contains_key(&bob_id)) {}

    send(&mut bob, "one").await;
    let one = chat_json(&mut ann, false).await;
    assert_eq!((&one["text"], one["from"].to_string()), (&"one".into(), bob_id.clone()), "{one}");
    let since = one["pos"].as_str().expect("a pos").to_owned();
    within(ann.close(None)).await.expect("closes");
    for text in ["two", "three"] {
        send(&mut bob, text).await;
    }
    // Bob's own copies come back once Redis has numbered (and kept) them.
    while chat_json(&mut bob, false).await["text"] != "three" {}

    // A position ann got from instance a, honoured by instance b: one
    // numbering per room, kept in Redis.
    let mut ann = connect(b.addr, &format!("/chat/lobby?since={since}")).await;
    assert_eq!(chat_json(&mut ann, false).await, serde_json::json!({"type": "recovered", "ok": true, "missed": 2}));
    for text in ["two", "three"] {
        let m = chat_json(&mut ann, false).await;
        assert!(m["pos"].is_string() && m["text"] == text, "{m}");
    }
    send(&mut bob, "four").await;
    assert_eq!(chat_json(&mut ann, false).await["text"], "four", "then live");
}

/// The chat's next message, skipping its welcome and presence events unless
/// `presence` asks for those alone.
async fn chat_json(ws: &mut Client, presence: bool) -> Value {
    loop {
        let m = json(ws).await;
        let kind = m["type"].as_str().unwrap_or_default();
        if (kind == "presence_diff") == presence && kind != "welcome" && kind != "presence_state" {
            return m;
        }
    }
}

/// An example started as its own process on a free port (killed on drop),
/// with async waits for its exit.
struct Running {
    child: tokio::process::Child,
    addr: std::net::SocketAddr,
}

impl Running {
    async fn start(name: &str, envs: &[(&str, &str)]) -> Running {
        let port = common::free_port();
        let mut command = tokio::process::Command::new(common::example_binary(name));
        command.env("PORT", port.to_string()).env_remove("HOST").env_remove("WIREHUB_REDIS_URL");
        command.envs(envs.iter().copied()).stdout(Stdio::null()).stderr(Stdio::null()).kill_on_drop(true);
        let child = command.spawn().expect("start the example");
        let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        common::wait_listening(addr).await;
        Running { child, addr }
    }

    /// Sends SIGTERM, as a container runtime does.
    fn terminate(&self) {
        let pid = self.child.id().expect("running").to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
        assert!(status.success(), "kill -TERM {pid}");
    }

    async fn exit_code(&mut self) -> Option<i32> {
        within(self.child.wait()).await.expect("wait for the example").code()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_axum_example_serves_rest_and_websockets_on_one_port() {
    let example = Running::start("axum_app", &[]).await;
    let addr = example.addr;
    let (status, body) = common::http_get(addr, "/api/health").await;
    assert_eq!((status, serde_json::from_str::<Value>(&body).ok()), (200, Some(serde_json::json!({"status": "ok"}))));

    let mut ann = connect(addr, "/ws/chat/lobby").await;
    let mut bob = connect(addr, "/ws/chat/lobby").await;
    let mut other = connect(addr, "/ws/chat/elsewhere").await;
    let members = || async {
        let (status, body) = common::http_get(addr, "/api/rooms/lobby/members").await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<Vec<Value>>(&body).expect("a JSON array")
    };
    // The members join their room right after the 101: poll until both are listed.
    let listed = within(async {
        loop {
            let listed = members().await;
            if listed.len() >= 2 {
                break listed;
            }
        }
    })
    .await;
    assert_eq!(listed.len(), 2, "one entry per member connection: {listed:?}");
    let ids: Vec<&str> = listed.iter().map(|m| m["id"].as_str().expect("an id")).collect();
    assert_ne!(ids[0], ids[1]);

    send(&mut ann, "  hello  ").await;
    let mut from = Vec::new();
    for ws in [&mut ann, &mut bob] {
        let m = json(ws).await;
        assert_eq!(
            (m["type"].as_str(), m["room"].as_str(), m["text"].as_str()),
            (Some("message"), Some("lobby"), Some("hello"))
        );
        from.push(m["from"].as_str().expect("from").to_owned());
    }
    assert_eq!(from[0], from[1]);
    assert!(ids.contains(&from[0].as_str()), "from is the sender's member id");

    let (status, _) =
        common::http_exchange(addr, &common::post_json("/api/rooms/lobby/messages", r#"{"text":"from the API"}"#))
            .await;
    assert_eq!(status, 202);
    for ws in [&mut ann, &mut bob] {
        assert_eq!(
            json(ws).await,
            serde_json::json!({"type": "message", "room": "lobby", "from": "api", "text": "from the API"})
        );
    }
    send(&mut other, "marker").await;
    assert_eq!(json(&mut other).await["text"], "marker", "the other room got nothing before its own message");
    let (status, body) = common::http_get(addr, "/api/rooms/nobody/members").await;
    assert_eq!((status, body.as_str()), (200, "[]"));
}

/// SIGTERM: every client gets 1001 and the process exits 0 within the drain time.
async fn sigterm_drains(name: &str, path: &str) {
    let mut example = Running::start(name, &[]).await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(connect(example.addr, path).await);
    }
    let began = std::time::Instant::now();
    example.terminate();
    for ws in &mut clients {
        assert_eq!(common::expect_close(ws).await.0, 1001);
    }
    drop(clients);
    assert_eq!(example.exit_code().await, Some(0));
    // The default drain time is 10 s; clients that answer the close let it end far sooner.
    assert!(began.elapsed() < std::time::Duration::from_secs(10), "{:?}", began.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_a_served_app_and_exits_0() {
    sigterm_drains("echo", "/echo").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_the_axum_example_and_exits_0() {
    sigterm_drains("axum_app", "/ws/chat/lobby").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tls_example_serves_wss_with_the_given_certificate() {
    use std::sync::Arc;
    use tokio_rustls::rustls::pki_types::ServerName;
    use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let rcgen::CertifiedKey { cert, key_pair } = rcgen::generate_simple_self_signed(names).expect("a certificate");
    let dir = std::env::temp_dir().join(format!("wirehub-tls-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).expect("write cert");
    std::fs::write(&key_path, key_pair.serialize_pem()).expect("write key");
    let paths = [("TLS_CERT", cert_path.to_str().expect("utf-8")), ("TLS_KEY", key_path.to_str().expect("utf-8"))];
    let example = Running::start("tls", &paths).await;

    let mut roots = RootCertStore::empty();
    roots.add(cert.der().clone()).expect("a root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = within(tokio::net::TcpStream::connect(example.addr)).await.expect("tcp");
    let name = ServerName::try_from("127.0.0.1").expect("an IP name");
    let tls = within(tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp)).await.expect("TLS");
    let (mut ws, _) = within(tokio_tungstenite::client_async("wss://127.0.0.1/echo", tls)).await.expect("upgrade");
    within(futures_util::SinkExt::send(&mut ws, "over wss".into())).await.expect("send");
    match within(futures_util::StreamExt::next(&mut ws)).await {
        Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) => assert_eq!(t.as_str(), "over wss"),
        other => panic!("expected the echo, got {other:?}"),
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Starts an example on a free port and waits until it accepts connections.
async fn start_example(name: &str) -> (Example, std::net::SocketAddr) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let child = Command::new(common::example_binary(name))
        .env("PORT", port.to_string())
        .env_remove("WIREHUB_REDIS_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start the {name} example: {e}"));
    let example = Example(child);
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    within(async {
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await;
    (example, addr)
}

fn upgrade_with(path: &str, host: &str, origin: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\nConnection: Upgrade, close\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
}

/// DNS rebinding: a page on `attacker.example`, whose name the attacker
/// pointed at the server's address, sends its own name as both `Origin` and
/// `Host`. Every example refuses it with its default settings, and still
/// accepts a page of its own (or asks it for credentials).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_refuses_a_rebound_origin() {
    let examples = [
        ("auth", "/ws/auth", 401),
        ("bench_server", "/echo", 101),
        ("chat", "/chat/lobby", 101),
        ("echo", "/echo", 101),
        ("gaps_demo", "/ws/basic", 101),
        ("heartbeat", "/ws/heartbeat", 101),
        ("metrics", "/echo", 101),
        ("soak_server", "/soak/x", 101),
    ];
    for (name, path, own) in examples {
        let (_example, addr) = start_example(name).await;
        let rebound = upgrade_with(path, "attacker.example", "http://attacker.example");
        let head = http_head(addr, &rebound).await;
        assert!(head.starts_with("HTTP/1.1 403"), "{name}: {head}");
        let own_page = upgrade_with(path, &addr.to_string(), &format!("http://{addr}"));
        let head = http_head(addr, &own_page).await;
        assert!(head.starts_with(&format!("HTTP/1.1 {own}")), "{name}: {head}");
    }
}

/// The chat's first two messages: its welcome and the presence state, in either order.
async fn welcome_and_state(ws: &mut Client) -> (serde_json::Value, serde_json::Value) {
    let (one, two) = (json(ws).await, json(ws).await);
    if one["type"] == "welcome" {
        (one, two)
    } else {
        (two, one)
    }
}
