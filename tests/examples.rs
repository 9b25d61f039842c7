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
