//! Testing handlers in-process (feature `testing`): no socket, no port.
//!
//! A [`TestServer`] is your [`App`](crate::App), built with the routes and
//! state you choose ([`App::build`](crate::App::build)); its
//! [`TestClient`]s reach it through `tokio::io::duplex` pipes served by
//! [`Embedded::serve_connection`](crate::Embedded::serve_connection). So a
//! connection goes through the same code as on a listener: the HTTP
//! upgrade, the origin policy, validators, caps, metrics, the connection
//! task, the hub. Only the transport differs.
//!
//! - connect: [`TestServer::connect`], or [`TestServer::request`] for
//!   headers, an origin, subprotocols, a token or another client address; a
//!   refused upgrade is [`TestError::Refused`] with its status and body;
//! - send text, binary or JSON ([`TestClient::send_json`]); receive a
//!   message, text, binary, typed JSON ([`TestClient::recv_json`]), the
//!   close ([`TestClient::recv_close`]), or nothing for a while;
//! - each receive waits at most the client's timeout (5 s unless changed),
//!   and a failure says what arrived instead, with the client's last frames;
//! - `recv_*` return a [`TestError`]; `expect_*` are the same steps as
//!   assertions, which panic with that text;
//! - [`TestServer::hub`] reads rooms, members and presence;
//!   [`TestServer::metrics`] the Prometheus text;
//! - with `#[tokio::test(start_paused = true)]` (tokio's paused clock: the
//!   feature turns on tokio's `test-util`), heartbeat, idle, reauth and
//!   receive timeouts elapse as soon as nothing else can run: a test of a
//!   30-second heartbeat takes milliseconds.
//!
//! ```toml
//! [dev-dependencies]
//! wirehub = { version = "0.1", features = ["testing"] }
//! ```
//!
//! # An echo handler
//!
//! ```
//! use wirehub::prelude::*;
//! use wirehub::testing::TestServer;
//!
//! #[ws_route("/echo")]
//! async fn echo(text: String) -> String {
//!     text
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // In a test: #[tokio::test] async fn echoes() -> Result<(), Box<dyn Error>> { ... }
//! let server = TestServer::new(App::empty().route("/echo")).await?;
//! let mut client = server.connect("/echo").await?;
//! client.send_text("hello").await?;
//! client.expect_text("hello").await;
//! client.send_json(&serde_json::json!({"n": 1})).await?;
//! let echoed: serde_json::Value = client.recv_json().await?;
//! assert_eq!(echoed["n"], 1);
//! # Ok(())
//! # }
//! ```
//!
//! # A broadcast room with two clients
//!
//! ```
//! use wirehub::prelude::*;
//! use wirehub::testing::TestServer;
//!
//! #[ws_route("/room/{name}", broadcast = "room:{name}")]
//! async fn room(text: String) -> String {
//!     text
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = TestServer::new(App::empty().route("/room/{name}")).await?;
//! let mut ann = server.connect("/room/rust").await?;
//! let mut bob = server.connect("/room/rust").await?;
//! // `connect` returns once the server opened the connection: both joined.
//! assert_eq!(server.hub().members("room:rust").len(), 2);
//! ann.send_text("hi all").await?;
//! bob.expect_text("hi all").await;
//! ann.expect_text("hi all").await; // the sender is a member too
//! server.hub().broadcast("room:rust", "from the server");
//! bob.expect_text("from the server").await;
//! # Ok(())
//! # }
//! ```
//!
//! # An auth refusal
//!
//! ```
//! use wirehub::prelude::*;
//! use wirehub::testing::TestServer;
//!
//! struct User {
//!     name: String,
//! }
//!
//! async fn validate(hs: &Handshake) -> Result<User, Reject> {
//!     match hs.token().as_deref() {
//!         Some("s3cret") => Ok(User { name: "ann".into() }),
//!         Some(_) => Err(Reject::forbidden("unknown token")),
//!         None => Err(Reject::unauthorized("token required")),
//!     }
//! }
//!
//! #[ws_route("/private", auth = validate)]
//! async fn private(user: Auth<User>, text: String) -> String {
//!     format!("{}: {text}", user.name)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = TestServer::new(App::empty().route("/private")).await?;
//! let refused = server.request("/private").expect_refused().await;
//! assert_eq!((refused.status, refused.body.as_str()), (401, "token required"));
//! let refused = server.request("/private").bearer("guess").expect_refused().await;
//! assert_eq!(refused.status, 403);
//! let mut client = server.request("/private").bearer("s3cret").connect().await?;
//! client.send_text("hi").await?;
//! client.expect_text("ann: hi").await;
//! # Ok(())
//! # }
//! ```
//!
//! # A heartbeat timeout, in virtual time
//!
//! ```
//! use std::time::Duration;
//!
//! use wirehub::prelude::*;
//! use wirehub::testing::TestServer;
//!
//! #[ws_route("/live", heartbeat = "30s", heartbeat_timeout = "10s")]
//! async fn live(text: String) -> String {
//!     text
//! }
//!
//! // In a test: #[tokio::test(start_paused = true)]
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = TestServer::new(App::empty().route("/live")).await?;
//! let mut client = server.connect("/live").await?;
//! // A client that reads answers the pings: 50 silent seconds keep it.
//! client.expect_nothing(Duration::from_secs(50)).await;
//! assert_eq!(client.pings(), 1);
//! // One that stops reading is dropped once `heartbeat + heartbeat_timeout`
//! // passed since it was last heard (at 30 s), without a close frame.
//! tokio::time::sleep(Duration::from_secs(45)).await;
//! assert_eq!(client.expect_close().await.code, CloseCode::Abnormal);
//! server.wait_idle().await?;
//! # Ok(())
//! # }
//! ```

mod client;
mod connect;
mod error;
mod expect;
mod history;
mod server;

pub use client::TestClient;
pub use connect::Connect;
pub use error::{Refused, TestError};
pub use server::TestServer;
