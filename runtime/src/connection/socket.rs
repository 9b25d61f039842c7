//! The socket a connection runs on, and its two halves: the types the
//! reader (`task.rs`) and the writer (`writer.rs`) share.

use futures_util::stream::{SplitSink, SplitStream};
use tokio_tungstenite::tungstenite;

/// An upgraded HTTP/1.1 connection speaking WebSocket.
/// Its reading side goes through the frame guard (`guard.rs`).
pub(crate) type WsStream =
    tokio_tungstenite::WebSocketStream<super::guard::Guarded<hyper_util::rt::TokioIo<hyper::upgrade::Upgraded>>>;

/// The write half, owned by the writer.
pub(super) type Sink = SplitSink<WsStream, tungstenite::Message>;

/// The read half, owned by the reader.
pub(super) type Stream = SplitStream<WsStream>;

/// Other tasks' messages for this connection.
pub(super) type Outbound = super::outbox::Receiver;
