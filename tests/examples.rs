//! The chat example as a user runs it: its own process on a free port,
//! real clients, and the JSON it promises in its docs.

mod common;

use std::process::{Child, Command, Stdio};

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

    let mut ann = connect(addr, "/chat/lobby").await;
    let welcome = json(&mut ann).await;
    assert_eq!(welcome["type"], "welcome");
    let ann_id = welcome["id"].as_u64().expect("an id");
    let join = json(&mut ann).await;
    assert_eq!(
        (join["type"].as_str(), join["id"].as_u64(), join["members"].as_u64()),
        (Some("join"), Some(ann_id), Some(1))
    );

    let mut bob = connect(addr, "/chat/lobby").await;
    let bob_id = json(&mut bob).await["id"].as_u64().expect("bob's id");
    for ws in [&mut ann, &mut bob] {
        let join = json(ws).await;
        assert_eq!(
            (join["type"].as_str(), join["id"].as_u64(), join["members"].as_u64()),
            (Some("join"), Some(bob_id), Some(2))
        );
    }
    // Another room hears nothing of the lobby.
    let mut other = connect(addr, "/chat/elsewhere").await;
    assert_eq!(json(&mut other).await["type"], "welcome");
    assert_eq!(json(&mut other).await["members"], 1);

    send(&mut bob, "  hello  ").await;
    for ws in [&mut ann, &mut bob] {
        let m = json(ws).await;
        assert_eq!(m, serde_json::json!({"type": "message", "room": "lobby", "from": bob_id, "text": "hello"}));
    }
    send(&mut other, "marker").await;
    assert_eq!(json(&mut other).await["text"], "marker", "the other room got nothing before its own message");

    drop(bob);
    let leave = json(&mut ann).await;
    assert_eq!(
        (leave["type"].as_str(), leave["id"].as_u64(), leave["members"].as_u64()),
        (Some("leave"), Some(bob_id), Some(1))
    );
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
