//! The assertions of a [`TestClient`]: each `expect_*` is a receive that
//! panics, like `assert_eq!`, with what it expected, what came, and the
//! client's last frames. Panicking is how a test fails; the `recv_*`
//! methods are the same steps returning a [`TestError`] instead.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::client::TestClient;
use super::error::TestError;
use crate::message::{CloseFrame, Message};

/// Fails the test with the error's text.
fn fail(error: TestError) -> ! {
    panic!("{error}")
}

impl TestClient {
    /// The next text or binary message; panics on anything else.
    pub async fn expect_message(&mut self) -> Message {
        self.recv().await.unwrap_or_else(|e| fail(e))
    }

    /// Asserts that the next message is this text.
    ///
    /// ```should_panic
    /// # use wirehub::prelude::*;
    /// # #[ws_route("/expect/echo")]
    /// # async fn echo(text: String) -> String { text }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = wirehub::testing::TestServer::new(App::empty().route("/expect/echo")).await?;
    /// let mut client = server.connect("/expect/echo").await?;
    /// client.send_text("hello").await?;
    /// client.expect_text("goodbye").await;
    /// // panics: expected text "goodbye", but got text "hello"
    /// //         received so far: 1 message(s), oldest first:
    /// //           1. text "hello"
    /// # Ok(())
    /// # }
    /// ```
    pub async fn expect_text(&mut self, expected: &str) {
        let got = self.recv_text().await.unwrap_or_else(|e| fail(e));
        if got != expected {
            fail(self.mismatch(format!("text {expected:?}"), format!("text {got:?}")));
        }
    }

    /// Asserts that the next message is binary with these bytes.
    pub async fn expect_binary(&mut self, expected: &[u8]) {
        let got = self.recv_binary().await.unwrap_or_else(|e| fail(e));
        if got.as_ref() != expected {
            let show = |bytes: &[u8]| super::history::Described(&Message::binary(bytes.to_vec())).to_string();
            fail(self.mismatch(show(expected), show(&got)));
        }
    }

    /// The next message, parsed as JSON of type `T`; panics if it is not.
    pub async fn expect_json<T: DeserializeOwned>(&mut self) -> T {
        self.recv_json().await.unwrap_or_else(|e| fail(e))
    }

    /// Asserts that the next message is JSON equal to `expected` (compared
    /// as JSON values: key order and spacing do not matter, a missing or
    /// extra field does).
    pub async fn expect_json_eq<T: Serialize + ?Sized>(&mut self, expected: &T) {
        let expected = match serde_json::to_value(expected) {
            Ok(value) => value,
            Err(e) => panic!("the expected value is not serializable: {e}"),
        };
        let got: serde_json::Value = self.recv_json().await.unwrap_or_else(|e| fail(e));
        if got != expected {
            fail(self.mismatch(format!("JSON {expected}"), format!("JSON {got}")));
        }
    }

    /// The end of the connection (see [`recv_close`](TestClient::recv_close));
    /// panics if a message or nothing comes instead.
    pub async fn expect_close(&mut self) -> CloseFrame {
        self.recv_close().await.unwrap_or_else(|e| fail(e))
    }

    /// Asserts that nothing arrives for `quiet` (pings are answered meanwhile).
    pub async fn expect_nothing(&mut self, quiet: Duration) {
        self.recv_nothing(quiet).await.unwrap_or_else(|e| fail(e));
    }

    /// Sends a message; panics if it cannot be sent.
    pub async fn expect_send(&mut self, message: impl Into<Message>) {
        self.send(message).await.unwrap_or_else(|e| fail(e));
    }

    /// A mismatch between what came and what was expected, with the history.
    fn mismatch(&self, expected: String, got: String) -> TestError {
        TestError::Unexpected { expected, got, received: self.history_text() }
    }
}
