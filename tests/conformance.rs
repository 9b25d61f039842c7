//! RFC 6455 conformance and hostile input, over real sockets with the raw
//! client of `tests/raw` (which sends what WebSocket libraries refuse to).
//!
//! Every case checks the server's answer (the close code RFC 6455 requires,
//! then the TCP close), that a bystander connection opened before the
//! violation is still served after it (an echo, then a clean close), and
//! that the server still serves a fresh connection afterwards.
//!
//! Every route of this file lives under `/c/`.

mod common;
mod raw;

use std::net::SocketAddr;
use std::time::Duration;

use common::{connect, expect_close, recv_text, send, spawn_prefix, within};
use futures_util::StreamExt;
use raw::{expect_close_code, Client, Data, Ended, Frame, LenForm, BINARY, CLOSE, TEXT};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use wirehub::prelude::*;
use wirehub::Server;

// ---------------------------------------------------------------- handlers

/// Echoes text and binary messages.
#[ws_route("/c/echo", max_message = "64KiB")]
async fn c_echo(msg: Message) -> Option<Message> {
    match msg {
        Message::Text(_) | Message::Binary(_) => Some(msg),
        _ => None,
    }
}

/// Echoes, with a 1 KiB message limit.
#[ws_route("/c/small", max_message = "1KiB")]
async fn c_small(msg: Message) -> Option<Message> {
    match msg {
        Message::Text(_) | Message::Binary(_) => Some(msg),
        _ => None,
    }
}

/// Takes binary messages only.
#[ws_route("/c/binary")]
async fn c_binary(bytes: Bytes) -> Bytes {
    bytes
}

/// Echoes text, and panics on "panic".
#[ws_route("/c/panic")]
async fn c_panic(text: String) -> String {
    if text == "panic" {
        panic!("c_panic: panicking on purpose");
    }
    text
}

/// Echoes, and records why each connection ended (by peer address).
#[ws_route("/c/reasons", on_close = record_reason)]
async fn c_reasons(text: String) -> String {
    text
}

static REASONS: std::sync::Mutex<Vec<(SocketAddr, CloseReason)>> = std::sync::Mutex::new(Vec::new());

async fn record_reason(conn: Conn, reason: CloseReason) {
    REASONS.lock().unwrap_or_else(|p| p.into_inner()).push((conn.peer_addr(), reason));
}

fn reasons_of(peer: SocketAddr) -> Vec<CloseReason> {
    let reasons = REASONS.lock().unwrap_or_else(|p| p.into_inner());
    reasons.iter().filter(|(p, _)| *p == peer).map(|(_, r)| r.clone()).collect()
}

// ---------------------------------------------------------------- helpers

async fn server() -> Server {
    spawn_prefix("/c/", App::new().config(|c| c.heartbeat = None)).await
}

/// A fresh connection gets an echo, then a clean close handshake.
async fn assert_serves(addr: SocketAddr) {
    echo_then_close(Client::connect(addr, "/c/echo").await, "fresh connection").await;
}

/// Echoes one message on an open `/c/echo` connection, then closes it with
/// a clean close handshake (`who` names the connection in failures).
async fn echo_then_close(mut client: Client, who: &str) {
    let text = format!("{who}: still serving");
    client.send(Frame::text(&text)).await;
    assert_eq!(client.recv_data().await, Ok(Data::Text(text.into_bytes())), "{who}: echo");
    client.send(Frame::close(1000, "bye")).await;
    assert_eq!(expect_close_code(&mut client).await, Some(1000), "{who}: close");
    assert!(client.expect_eof().await, "{who}: server sent frames after the close handshake");
}

/// A `/c/echo` connection opened (and served once) before another
/// connection breaks the protocol.
async fn bystander(addr: SocketAddr) -> Client {
    let mut client = Client::connect(addr, "/c/echo").await;
    client.send(Frame::text("bystander")).await;
    assert_eq!(client.recv_data().await, Ok(Data::Text(b"bystander".to_vec())), "bystander: echo before");
    client
}

/// Sends `frames` on a fresh connection to `path` and returns the close
/// code the server answers with (`None`: dropped without a close frame).
/// After a close frame, checks that the server closes the TCP connection.
async fn fail_case(addr: SocketAddr, path: &str, frames: Vec<Frame>) -> Option<u16> {
    let mut client = Client::connect(addr, path).await;
    for frame in &frames {
        // A write may fail once the server has given up on us: what matters
        // is what it answered, read below.
        if client.try_send(frame).await.is_err() {
            break;
        }
    }
    let code = expect_close_code(&mut client).await;
    if let Some(code) = code {
        // Complete the closing handshake where the server waits for it; a
        // server that failed the connection may already be gone.
        let _ = client.try_send(&Frame::close(code, "")).await;
        assert!(client.expect_eof().await, "server sent frames after its close frame (code {code})");
    }
    code
}

/// One test: `frames` sent to `path` must be answered with `expected`; a
/// bystander connection opened before them is still served, and so is a
/// fresh connection afterwards.
macro_rules! case {
    ($(#[$meta:meta])* $name:ident, $path:expr, $expected:expr, [$($frame:expr),* $(,)?]) => {
        $(#[$meta])*
        #[tokio::test]
        async fn $name() {
            let server = server().await;
            let addr = server.local_addr();
            let bystander = bystander(addr).await;
            let got = fail_case(addr, $path, vec![$($frame),*]).await;
            assert_eq!(got, $expected, "close code answered (None = dropped without a close frame)");
            echo_then_close(bystander, "bystander").await;
            assert_serves(addr).await;
        }
    };
}

// ---------------------------------------------------------------- handshake

#[test]
fn raw_client_accept_key_matches_rfc_example() {
    // RFC 6455 section 1.3.
    assert_eq!(raw::accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_eq!(raw::base64(b"f"), "Zg==");
    assert_eq!(raw::base64(b"fo"), "Zm8=");
    assert_eq!(raw::base64(b"foo"), "Zm9v");
}

#[tokio::test]
async fn handshake_with_keep_alive_upgrade_and_mixed_case_is_accepted() {
    let server = server().await;
    let addr = server.local_addr();
    let key = raw::random_key();
    let request = format!(
        "GET /c/echo HTTP/1.1\r\nHost: {addr}\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    let (mut client, response) = Client::handshake(addr, &request).await;
    assert_eq!(response.status, 101, "{response:?}");
    assert_eq!(response.header("sec-websocket-accept"), Some(raw::accept_key(&key).as_str()));
    client.send(Frame::text("mixed")).await;
    assert_eq!(client.recv_data().await, Ok(Data::Text(b"mixed".to_vec())));
}

/// RFC 6455 9.1: the server accepts an offered extension only by naming it
/// in its answer; wirehub negotiates none, so RSV1 stays forbidden.
#[tokio::test]
async fn handshake_offering_permessage_deflate_negotiates_no_extension() {
    let server = server().await;
    let addr = server.local_addr();
    let key = raw::random_key();
    let request = raw::upgrade_request(addr, "/c/echo", &key)
        .replace("\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n");
    let (mut client, response) = Client::handshake(addr, &request).await;
    assert_eq!(response.status, 101, "{response:?}");
    assert_eq!(response.header("sec-websocket-extensions"), None, "{response:?}");
    assert_eq!(response.header("sec-websocket-protocol"), None, "{response:?}");
    client.send(Frame::text("compressed?").rsv(1)).await;
    assert_eq!(expect_close_code(&mut client).await, Some(1002));
}

/// Frames sent in the same TCP segment as the upgrade request (bytes hyper
/// has read past the request head) belong to the WebSocket connection.
#[tokio::test]
async fn frames_pipelined_with_the_upgrade_request_are_served() {
    let server = server().await;
    let addr = server.local_addr();
    let key = raw::random_key();
    // Masked frames are not UTF-8 text: the request goes out as bytes, in one write.
    let mut bytes = raw::upgrade_request(addr, "/c/echo", &key).into_bytes();
    bytes.extend(Frame::text("early").encode());
    bytes.extend(Frame::binary(vec![1, 2, 3]).encode());
    let (mut client, response) = Client::handshake_bytes(addr, &bytes).await;
    assert_eq!(response.status, 101, "{response:?}");
    assert_eq!(response.header("sec-websocket-accept"), Some(raw::accept_key(&key).as_str()));
    assert_eq!(client.recv_data().await, Ok(Data::Text(b"early".to_vec())));
    assert_eq!(client.recv_data().await, Ok(Data::Binary(vec![1, 2, 3])));
}

/// RFC 6455 4.2.1 item 5 and 4.2.2: the key must decode to 16 bytes, else
/// the server must not upgrade ("such as 400 Bad Request").
#[tokio::test]
async fn handshake_with_malformed_key_is_rejected_with_400() {
    let server = server().await;
    let addr = server.local_addr();
    for key in ["abc", "not base64 at all!!", "AAAAAAAAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAA"] {
        let (_, response) = Client::handshake(addr, &raw::upgrade_request(addr, "/c/echo", key)).await;
        assert_eq!(response.status, 400, "key {key:?}: {response:?}");
    }
    assert_serves(addr).await;
}

/// RFC 6455 4.2.1 item 2: an upgrade request must carry a Host header.
#[tokio::test]
async fn handshake_without_host_is_rejected_with_400() {
    let server = server().await;
    let addr = server.local_addr();
    let key = raw::random_key();
    let request = format!(
        "GET /c/echo HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    let (_, response) = Client::handshake(addr, &request).await;
    assert_eq!(response.status, 400, "{response:?}");
    assert_serves(addr).await;
}

/// RFC 6455 4.2.2 / 4.4: an unsupported version gets an error (426) with the
/// supported versions in Sec-WebSocket-Version.
#[tokio::test]
async fn handshake_with_unsupported_version_is_426_with_version_header() {
    let server = server().await;
    let addr = server.local_addr();
    let key = raw::random_key();
    let request = raw::upgrade_request(addr, "/c/echo", &key).replace("Version: 13", "Version: 8");
    let (_, response) = Client::handshake(addr, &request).await;
    assert_eq!(response.status, 426, "{response:?}");
    assert_eq!(response.header("sec-websocket-version"), Some("13"), "{response:?}");
    assert_serves(addr).await;
}

/// RFC 6455 4.1 / 4.2.1 item 1: the upgrade must be a GET.
#[tokio::test]
async fn handshake_with_post_is_rejected_with_400() {
    let server = server().await;
    let addr = server.local_addr();
    let key = raw::random_key();
    let request = raw::upgrade_request(addr, "/c/echo", &key)
        .replacen("GET", "POST", 1)
        .replace("\r\n\r\n", "\r\nContent-Length: 0\r\n\r\n");
    let (_, response) = Client::handshake(addr, &request).await;
    assert_eq!(response.status, 400, "{response:?}");
    assert_serves(addr).await;
}

// ---------------------------------------------------------------- framing (5.1, 5.2)

// 5.1: "The server MUST close the connection upon receiving a frame that is not masked."
case!(unmasked_client_frame_is_1002, "/c/echo", Some(1002), [Frame::text("naked").unmasked()]);

// 5.2: RSV bits "MUST be 0 unless an extension is negotiated".
case!(rsv1_without_extension_is_1002, "/c/echo", Some(1002), [Frame::text("x").rsv(1)]);
case!(rsv2_without_extension_is_1002, "/c/echo", Some(1002), [Frame::text("x").rsv(2)]);
case!(rsv3_without_extension_is_1002, "/c/echo", Some(1002), [Frame::text("x").rsv(3)]);
case!(rsv1_on_ping_is_1002, "/c/echo", Some(1002), [Frame::ping("x").rsv(1)]);

// 5.2: "If an unknown opcode is received, the receiving endpoint MUST _Fail the WebSocket Connection_."
case!(reserved_opcode_0x3_is_1002, "/c/echo", Some(1002), [Frame::new(0x3, "x")]);
case!(reserved_opcode_0x4_is_1002, "/c/echo", Some(1002), [Frame::new(0x4, "x")]);
case!(reserved_opcode_0x5_is_1002, "/c/echo", Some(1002), [Frame::new(0x5, "x")]);
case!(reserved_opcode_0x6_is_1002, "/c/echo", Some(1002), [Frame::new(0x6, "x")]);
case!(reserved_opcode_0x7_is_1002, "/c/echo", Some(1002), [Frame::new(0x7, "x")]);
case!(reserved_opcode_0xb_is_1002, "/c/echo", Some(1002), [Frame::new(0xB, "x")]);
case!(reserved_opcode_0xc_is_1002, "/c/echo", Some(1002), [Frame::new(0xC, "x")]);
case!(reserved_opcode_0xd_is_1002, "/c/echo", Some(1002), [Frame::new(0xD, "x")]);
case!(reserved_opcode_0xe_is_1002, "/c/echo", Some(1002), [Frame::new(0xE, "x")]);
case!(reserved_opcode_0xf_is_1002, "/c/echo", Some(1002), [Frame::new(0xF, "x")]);
case!(
    reserved_opcode_inside_fragmented_message_is_1002,
    "/c/echo",
    Some(1002),
    [Frame::text("start").fin(false), Frame::new(0x3, "x")]
);

// 5.5: "All control frames MUST have a payload length of 125 bytes or less
// and MUST NOT be fragmented."
case!(fragmented_ping_is_1002, "/c/echo", Some(1002), [Frame::ping("part").fin(false), Frame::continuation("rest")]);
case!(ping_with_126_byte_payload_is_1002, "/c/echo", Some(1002), [Frame::ping(vec![b'p'; 126])]);
case!(pong_with_126_byte_payload_is_1002, "/c/echo", Some(1002), [Frame::pong(vec![b'p'; 126])]);
case!(close_with_126_byte_payload_is_1002, "/c/echo", Some(1002), [Frame::close(1000, &"r".repeat(124))]);

// 5.4: a continuation frame needs a started message; a new data frame may
// not start while a fragmented message is in progress.
case!(continuation_without_start_is_1002, "/c/echo", Some(1002), [Frame::continuation("orphan")]);
case!(final_continuation_without_start_is_1002, "/c/echo", Some(1002), [Frame::continuation("orphan").fin(false)]);
case!(
    text_frame_interleaved_in_fragmented_text_is_1002,
    "/c/echo",
    Some(1002),
    [Frame::text("first").fin(false), Frame::text("second")]
);
case!(
    binary_frame_interleaved_in_fragmented_text_is_1002,
    "/c/echo",
    Some(1002),
    [Frame::text("first").fin(false), Frame::binary(b"second".to_vec())]
);
case!(
    text_frame_interleaved_in_fragmented_binary_is_1002,
    "/c/echo",
    Some(1002),
    [Frame::binary(b"first".to_vec()).fin(false), Frame::continuation("more").fin(false), Frame::text("second")]
);

// ---------------------------------------------------------------- UTF-8 (8.1)

// 8.1: invalid UTF-8 in a text message: _Fail the WebSocket Connection_;
// 7.4.1: 1007 is the code for "data within a message that was not consistent
// with the type of the message (e.g., non-UTF-8 data within a text message)".
case!(invalid_utf8_text_frame_is_1007, "/c/echo", Some(1007), [Frame::text(b"ok \xC3\x28 not ok")]);
case!(overlong_utf8_text_frame_is_1007, "/c/echo", Some(1007), [Frame::text(b"\xC0\xAF")]);
case!(utf16_surrogate_in_text_frame_is_1007, "/c/echo", Some(1007), [Frame::text(b"\xED\xA0\x80")]);
case!(codepoint_above_u10ffff_in_text_frame_is_1007, "/c/echo", Some(1007), [Frame::text(b"\xF4\x90\x80\x80")]);
case!(truncated_utf8_at_end_of_text_frame_is_1007, "/c/echo", Some(1007), [Frame::text(b"euro \xE2\x82")]);
case!(
    invalid_utf8_in_continuation_is_1007,
    "/c/echo",
    Some(1007),
    [Frame::text("valid start ").fin(false), Frame::continuation(b"\xFF".to_vec())]
);
case!(
    invalid_utf8_across_fragment_boundary_is_1007,
    "/c/echo",
    Some(1007),
    // E2 82 needs a third continuation byte; "(" is not one.
    [Frame::text(b"a\xE2\x82").fin(false), Frame::continuation(b"(b".to_vec())]
);
case!(
    truncated_utf8_at_end_of_fragmented_text_is_1007,
    "/c/echo",
    Some(1007),
    [Frame::text("a").fin(false), Frame::continuation(b"\xF0\x9F\x98".to_vec())]
);
case!(
    invalid_utf8_in_close_reason_is_1007,
    "/c/echo",
    Some(1007),
    [Frame::new(CLOSE, b"\x03\xE8bad \xFF reason".to_vec())]
);

/// Valid UTF-8 split inside multi-byte characters across fragments is one
/// valid message (5.6: only the whole message must be valid UTF-8).
#[tokio::test]
async fn valid_utf8_split_inside_characters_across_fragments_is_echoed() {
    let server = server().await;
    let addr = server.local_addr();
    let mut client = Client::connect(addr, "/c/echo").await;
    // "a€b😀c": € is E2 82 AC, 😀 is F0 9F 98 80.
    client.send(Frame::text(b"a\xE2").fin(false)).await;
    client.send(Frame::continuation(b"\x82".to_vec()).fin(false)).await;
    client.send(Frame::continuation(b"\xACb\xF0\x9F".to_vec()).fin(false)).await;
    client.send(Frame::continuation(b"\x98".to_vec()).fin(false)).await;
    client.send(Frame::continuation(b"".to_vec()).fin(false)).await;
    client.send(Frame::continuation(b"\x80c".to_vec())).await;
    assert_eq!(client.recv_data().await, Ok(Data::Text("a€b😀c".as_bytes().to_vec())));
    assert_serves(addr).await;
}

// ---------------------------------------------------------------- close frames (5.5.1, 7.4)

// 7.4.1/7.4.2: 0-999 unused, 1004/1005/1006/1015 reserved and never sent,
// 1016-2999 reserved for future RFCs, 5000+ undefined: receiving one is a
// protocol error (as Autobahn 7.9.x expects).
case!(close_code_0_is_1002, "/c/echo", Some(1002), [Frame::close(0, "")]);
case!(close_code_999_is_1002, "/c/echo", Some(1002), [Frame::close(999, "")]);
case!(close_code_1004_is_1002, "/c/echo", Some(1002), [Frame::close(1004, "")]);
case!(close_code_1005_is_1002, "/c/echo", Some(1002), [Frame::close(1005, "")]);
case!(close_code_1006_is_1002, "/c/echo", Some(1002), [Frame::close(1006, "")]);
case!(close_code_1015_is_1002, "/c/echo", Some(1002), [Frame::close(1015, "")]);
case!(close_code_1016_is_1002, "/c/echo", Some(1002), [Frame::close(1016, "")]);
case!(close_code_1100_is_1002, "/c/echo", Some(1002), [Frame::close(1100, "")]);
case!(close_code_2000_is_1002, "/c/echo", Some(1002), [Frame::close(2000, "")]);
case!(close_code_2999_is_1002, "/c/echo", Some(1002), [Frame::close(2999, "")]);
case!(close_code_5000_is_1002, "/c/echo", Some(1002), [Frame::close(5000, "")]);
case!(close_code_65535_is_1002, "/c/echo", Some(1002), [Frame::close(65535, "")]);
// 5.5.1: a close body is empty or starts with a 2-byte code.
case!(close_with_1_byte_payload_is_1002, "/c/echo", Some(1002), [Frame::new(CLOSE, vec![0x03])]);

// 5.5.1: the peer answers a Close with a Close, "typically echoing the
// status code it received".
case!(close_1000_is_echoed, "/c/echo", Some(1000), [Frame::close(1000, "normal")]);
case!(close_1001_is_echoed, "/c/echo", Some(1001), [Frame::close(1001, "going away")]);
case!(close_1011_is_echoed, "/c/echo", Some(1011), [Frame::close(1011, "")]);
case!(close_3000_is_echoed, "/c/echo", Some(3000), [Frame::close(3000, "registered")]);
case!(close_4999_is_echoed, "/c/echo", Some(4999), [Frame::close(4999, "private")]);

/// An empty Close (no code) is answered with a Close; with nothing to echo,
/// an empty one (seen as 1005) or 1000 are both right.
#[tokio::test]
async fn empty_close_is_answered() {
    let server = server().await;
    let addr = server.local_addr();
    let got = fail_case(addr, "/c/echo", vec![Frame::new(CLOSE, Vec::new())]).await;
    assert!(matches!(got, Some(1005 | 1000)), "answer to an empty close: {got:?}");
    assert_serves(addr).await;
}

/// A close frame in the middle of a fragmented message is allowed (control
/// frames may be injected, 5.4) and answered normally.
#[tokio::test]
async fn close_inside_fragmented_message_is_echoed() {
    let server = server().await;
    let addr = server.local_addr();
    let got =
        fail_case(addr, "/c/echo", vec![Frame::text("unfinished").fin(false), Frame::close(1000, "changed my mind")])
            .await;
    assert_eq!(got, Some(1000));
    assert_serves(addr).await;
}

// ---------------------------------------------------------------- sizes

/// 5.2: "the most significant bit MUST be 0" in a 64-bit length. RFC 6455
/// lets the server fail the connection with 1002 (malformed frame) or 1009
/// (too big), or drop it (7.1.7: a close frame is optional when failing).
/// wirehub answers 1009 (tungstenite checks the length against the frame
/// limit before anything else).
#[tokio::test]
async fn length_with_msb_set_fails_the_connection() {
    let server = server().await;
    let addr = server.local_addr();
    // Header only: the payload it announces never comes.
    let header = Frame::binary(Vec::new()).declared_len(0x8000_0000_0000_0005).len_form(LenForm::SixtyFour);
    let got = fail_case(addr, "/c/echo", vec![header]).await;
    assert!(matches!(got, Some(1002 | 1009) | None), "answer to a 64-bit length with the MSB set: {got:?}");
    assert_eq!(got, Some(1009), "wirehub's own answer (a length over max_message is 1009)");
    assert_serves(addr).await;
}

// Over the route's max_message (1 KiB), announced in the header: 1009 at once,
// before the payload arrives.
case!(frame_length_over_max_message_is_1009, "/c/small", Some(1009), [Frame::binary(Vec::new()).declared_len(1025)]);
case!(
    huge_64_bit_frame_length_is_1009,
    "/c/small",
    Some(1009),
    [Frame::text(Vec::<u8>::new()).declared_len(1 << 40).len_form(LenForm::SixtyFour)]
);
case!(
    frame_over_max_message_with_its_payload_sent_is_1009,
    "/c/small",
    Some(1009),
    [Frame::binary(vec![0xAB; 64 * 1024])]
);
case!(
    fragments_each_under_max_message_adding_up_over_it_are_1009,
    "/c/small",
    Some(1009),
    [
        Frame::binary(vec![1; 400]).fin(false),
        Frame::continuation(vec![2; 400]).fin(false),
        Frame::continuation(vec![3; 400]),
    ]
);
case!(
    text_fragments_adding_up_over_max_message_are_1009,
    "/c/small",
    Some(1009),
    [Frame::text("t".repeat(600)).fin(false), Frame::continuation("u".repeat(600))]
);

/// Exactly max_message, in one frame and in fragments, with non-minimal
/// length encodings (receivers take any length form): echoed.
#[tokio::test]
async fn message_of_exactly_max_message_is_echoed() {
    let server = server().await;
    let addr = server.local_addr();
    let mut client = Client::connect(addr, "/c/small").await;
    let payload: Vec<u8> = (0..1024u32).map(|i| (i % 251) as u8).collect();
    client.send(Frame::binary(payload.clone())).await;
    assert_eq!(client.recv_data().await, Ok(Data::Binary(payload.clone())));
    client.send(Frame::binary(payload[..1000].to_vec()).fin(false).len_form(LenForm::SixtyFour)).await;
    client.send(Frame::continuation(payload[1000..].to_vec()).len_form(LenForm::Sixteen)).await;
    assert_eq!(client.recv_data().await, Ok(Data::Binary(payload)));
    assert_serves(addr).await;
}

/// A frame written one byte per write (partial headers, partial masks) and
/// many frames in one write (2000 one-byte fragments, 100 messages) parse.
#[tokio::test]
async fn frames_split_byte_by_byte_and_coalesced_parse() {
    let server = server().await;
    let addr = server.local_addr();
    let mut client = Client::connect(addr, "/c/echo").await;
    let payload = vec![0x5A; 300]; // a 16-bit length form
    for byte in Frame::binary(payload.clone()).encode() {
        client.write_raw(&[byte]).await.expect("write one byte");
    }
    assert_eq!(client.recv_data().await, Ok(Data::Binary(payload)));

    let mut burst = Frame::text("f").fin(false).encode();
    for _ in 0..1998 {
        burst.extend(Frame::continuation("f").fin(false).encode());
    }
    burst.extend(Frame::continuation("f").encode());
    for i in 0..100 {
        burst.extend(Frame::text(format!("m{i}")).encode());
    }
    client.write_raw(&burst).await.expect("write burst");
    assert_eq!(client.recv_data().await, Ok(Data::Text(vec![b'f'; 2000])));
    for i in 0..100 {
        assert_eq!(client.recv_data().await, Ok(Data::Text(format!("m{i}").into_bytes())));
    }
    assert_serves(addr).await;
}

// ---------------------------------------------------------------- control frames

/// 5.5.2/5.5.3: a Pong answers a Ping with the same application data.
#[tokio::test]
async fn ping_gets_pong_with_same_payload() {
    let server = server().await;
    let addr = server.local_addr();
    let mut client = Client::connect(addr, "/c/echo").await;
    let max: Vec<u8> = (0..125u8).collect();
    for payload in [b"hello ping".to_vec(), Vec::new(), max, vec![0xFF, 0x00, 0xC3]] {
        client.send(Frame::ping(payload.clone())).await;
        assert_eq!(client.recv_pong().await, Ok(payload));
    }
    assert_serves(addr).await;
}

/// 5.4: control frames may be injected between fragments; the ping is
/// answered and the message still assembles.
#[tokio::test]
async fn ping_between_fragments_is_answered_and_message_assembles() {
    let server = server().await;
    let addr = server.local_addr();
    let mut client = Client::connect(addr, "/c/echo").await;
    client.send(Frame::text("frag").fin(false)).await;
    client.send(Frame::ping("mid")).await;
    assert_eq!(client.recv_pong().await, Ok(b"mid".to_vec()));
    client.send(Frame::pong("unsolicited")).await;
    client.send(Frame::continuation("mented")).await;
    assert_eq!(client.recv_data().await, Ok(Data::Text(b"fragmented".to_vec())));
    assert_serves(addr).await;
}

/// 5.5.3: an unsolicited Pong needs no answer and changes nothing.
#[tokio::test]
async fn unsolicited_pong_is_ignored() {
    let server = server().await;
    let addr = server.local_addr();
    let mut client = Client::connect(addr, "/c/echo").await;
    client.send(Frame::pong("nobody asked")).await;
    client.send(Frame::binary(vec![7, 7, 7])).await;
    assert_eq!(client.recv_data().await, Ok(Data::Binary(vec![7, 7, 7])));
    assert_serves(addr).await;
}

// ---------------------------------------------------------------- data kinds

// 7.4.1: 1003 "received a type of data it cannot accept".
case!(text_to_binary_only_handler_is_1003, "/c/binary", Some(1003), [Frame::text("words")]);

#[tokio::test]
async fn binary_to_binary_only_handler_is_echoed() {
    let server = server().await;
    let addr = server.local_addr();
    let mut client = Client::connect(addr, "/c/binary").await;
    client.send(Frame::new(BINARY, vec![0, 1, 2])).await;
    assert_eq!(client.recv_data().await, Ok(Data::Binary(vec![0, 1, 2])));
    client.send(Frame::new(TEXT, "now text")).await;
    assert_eq!(client.expect_close().await, Ended::Close(1003, b"this endpoint takes binary messages".to_vec()));
}

// ---------------------------------------------------------------- panic isolation

#[test]
fn metrics_parser_ignores_label_order_and_reads_escapes() {
    let samples = common::parse_metrics(
        "# HELP x A counter.\n# TYPE x counter\nx 3\nx{b=\"2\",a=\"1\"} 4\n\
         y{route=\"/r/{id}\",reason=\"q\\\"u,o}te\"} 5\n",
    );
    assert_eq!(common::sample(&samples, "x", &[]), Some(3.0));
    assert_eq!(common::sample(&samples, "x", &[("a", "1"), ("b", "2")]), Some(4.0));
    assert_eq!(common::sample(&samples, "y", &[("reason", "q\"u,o}te"), ("route", "/r/{id}")]), Some(5.0));
    assert_eq!(common::sample(&samples, "x", &[("a", "1")]), None, "labels must match exactly");
}

/// A panicking handler closes its own connection with 1011 and is counted
/// (`wirehub_handler_panics_total`, and one close with reason `panic`);
/// another open connection keeps working, and new connections are served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_panic_closes_only_its_connection_with_1011() {
    const PANICS: &str = "wirehub_handler_panics_total";
    const CLOSED: &str = "wirehub_connections_closed_total";
    let panics = [("route", "/c/panic")];
    let closed_by_panic = [("reason", "panic"), ("route", "/c/panic")];

    let server = server().await;
    let addr = server.local_addr();
    let mut victim = connect(addr, "/c/panic").await;
    let mut bystander = connect(addr, "/c/panic").await;
    send(&mut bystander, "before").await;
    assert_eq!(recv_text(&mut bystander).await, "before");
    let before = common::scrape(addr).await;
    let panics_before = common::sample(&before, PANICS, &panics).unwrap_or(0.0);
    assert_eq!(common::sample(&before, CLOSED, &closed_by_panic).unwrap_or(0.0), 0.0, "panic closes before the panic");

    send(&mut victim, "panic").await;
    let (code, reason) = expect_close(&mut victim).await;
    assert_eq!(code, 1011, "reason {reason:?}");
    // Answer the close (tungstenite does on the next read) and wait for the
    // server to end the TCP connection: the close is counted after that.
    while let Some(Ok(_)) = within(victim.next()).await {}

    send(&mut bystander, "after").await;
    assert_eq!(recv_text(&mut bystander).await, "after");

    let mut fresh = connect(addr, "/c/panic").await;
    send(&mut fresh, WsMessage::text("fresh")).await;
    assert_eq!(recv_text(&mut fresh).await, "fresh");
    assert_serves(addr).await;

    // The close is counted just after the server drops the victim's TCP
    // connection: scrape until it shows, then check the exact counts.
    let after = within(async {
        loop {
            let samples = common::scrape(addr).await;
            if common::sample(&samples, CLOSED, &closed_by_panic).unwrap_or(0.0) > 0.0 {
                return samples;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    assert_eq!(
        common::sample(&after, PANICS, &panics),
        Some(panics_before + 1.0),
        "{PANICS}{panics:?} after one panic"
    );
    assert_eq!(
        common::sample(&after, CLOSED, &closed_by_panic),
        Some(1.0),
        "{CLOSED}{closed_by_panic:?} after one panic"
    );
}

// ---------------------------------------------------------------- close reasons

/// What ends a connection is reported (on_close, the `reason` metric label)
/// as the peer's protocol error when the peer broke the protocol, even where
/// the violation was a close frame, and as a normal close otherwise.
#[tokio::test]
async fn close_reasons_tell_protocol_errors_from_normal_closes() {
    let server = server().await;
    let addr = server.local_addr();
    let cases: Vec<(Frame, u16, CloseReason)> = vec![
        (Frame::close(1000, "bye"), 1000, CloseReason::Peer { code: Some(CloseCode::Normal) }),
        (Frame::close(4000, "app"), 4000, CloseReason::Peer { code: Some(CloseCode::from(4000)) }),
        (Frame::close(1004, ""), 1002, CloseReason::ProtocolError { code: CloseCode::Protocol }),
        (Frame::close(5000, ""), 1002, CloseReason::ProtocolError { code: CloseCode::Protocol }),
        (Frame::new(CLOSE, vec![0x03]), 1002, CloseReason::ProtocolError { code: CloseCode::Protocol }),
        (
            Frame::new(CLOSE, b"\x03\xe8\xc3\x28".to_vec()),
            1007,
            CloseReason::ProtocolError { code: CloseCode::Invalid },
        ),
        (Frame::text(b"\xc3\x28"), 1007, CloseReason::ProtocolError { code: CloseCode::Invalid }),
    ];
    for (frame, answer, reason) in cases {
        let mut client = Client::connect(addr, "/c/reasons").await;
        let peer = client.local_addr();
        let what = format!("{frame:?}");
        client.send(frame).await;
        assert_eq!(expect_close_code(&mut client).await, Some(answer), "answer to {what}");
        drop(client); // the server may linger until we close
        common::eventually(|| !reasons_of(peer).is_empty()).await;
        assert_eq!(reasons_of(peer), vec![reason], "on_close reason after {what}");
    }
    assert_serves(addr).await;
}

/// A peer that writes a whole oversized message before it reads anything
/// still gets the 1009 and a clean end of the connection: the server reads
/// and discards the rest (lingering close) instead of closing with unread
/// bytes, which would make the kernel answer with a reset.
#[tokio::test]
async fn oversized_message_written_in_one_go_gets_1009_and_a_clean_end() {
    let server = server().await;
    let addr = server.local_addr();
    let mut client = Client::connect(addr, "/c/small").await;
    let frame = Frame::binary(vec![0x61; 4 << 20]).encode();
    common::within(client.write_raw(&frame)).await.expect("the whole message is taken, not reset");
    let close = common::within(client.read_frame()).await.expect("no reset before the close frame");
    assert_eq!(close.and_then(|f| f.close_code()), Some(1009));
    assert!(matches!(common::within(client.read_frame()).await, Ok(None)), "a clean end, not a reset");
    assert_serves(addr).await;
}
