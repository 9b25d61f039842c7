//! Metrics: `cargo run --example metrics` serves `/echo` on 127.0.0.1:8000
//! (`HOST` and `PORT` override) and Prometheus metrics at `/metrics`, plus the same
//! metrics merged with an application counter of its own.
//!
//! Scrape it by hand:
//!
//! ```sh
//! curl -s http://127.0.0.1:8000/metrics | grep wirehub_connections
//! curl -s http://127.0.0.1:8000/healthz          # ok (503 "draining" during shutdown)
//! ```
//!
//! or point Prometheus at it:
//!
//! ```yaml
//! scrape_configs:
//!   - job_name: wirehub
//!     static_configs: [{ targets: ["127.0.0.1:8000"] }]
//! ```
//!
//! and import `dashboards/wirehub.json` into Grafana. Set `METRICS_ADDR`
//! (e.g. `127.0.0.1:9100`) to serve `/metrics` and `/healthz` on a separate
//! address instead of the app's port.

use wirehub::prelude::*;
use wirehub::prometheus::{IntCounter, Registry};

/// Echoes text and binary messages, counting the words of text ones.
#[ws_route("/echo")]
async fn echo(words: State<IntCounter>, msg: Message) -> Option<Message> {
    if let Message::Text(text) = &msg {
        words.inc_by(text.split_whitespace().count() as u64);
    }
    matches!(msg, Message::Text(_) | Message::Binary(_)).then_some(msg)
}

#[tokio::main]
async fn main() -> wirehub::Result<()> {
    let registry = Registry::new();
    let words = IntCounter::new("app_words_total", "Words received by the echo route.")?;
    registry.register(Box::new(words.clone()))?;
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PORT").unwrap_or_else(|_| "8000".into());
    let metrics_addr = std::env::var("METRICS_ADDR").ok();
    println!(
        "echo on ws://{host}:{port}/echo, metrics on http://{}/metrics",
        metrics_addr.as_deref().unwrap_or(&format!("{host}:{port}"))
    );
    wirehub::App::new()
        .bind(format!("{host}:{port}"))
        .registry(registry)
        .state(words)
        .config(|c| c.metrics_addr = metrics_addr)
        .serve()
        .await
}
