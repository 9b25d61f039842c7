//! Property tests of the public API over real sockets: path parameters are
//! decoded exactly, payloads echo byte-exact (whole or in random fragments),
//! and `Json<T>` round-trips valid values and answers garbage without
//! closing.
//!
//! Each property starts one tokio runtime and one server, shared by all its
//! cases. Every route of this file lives under `/p/`.

mod common;
mod raw;

use std::future::Future;
use std::net::SocketAddr;

use common::{connect, recv, send, spawn_prefix, within};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use raw::{Client, Data, Frame};
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use wirehub::prelude::*;
use wirehub::Server;

// ---------------------------------------------------------------- handlers

/// Answers any text with the decoded values of both params, as JSON.
#[ws_route("/p/{a}/{b}")]
async fn p_params(conn: Conn, _text: String) -> String {
    serde_json::to_string(&(conn.param("a"), conn.param("b"), conn.params().len())).expect("params serialize")
}

/// Echoes text and binary messages.
#[ws_route("/p/echo")]
async fn p_echo(msg: Message) -> Option<Message> {
    match msg {
        Message::Text(_) | Message::Binary(_) => Some(msg),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Item {
    name: String,
    n: i64,
    flag: bool,
    level: Option<u8>,
    tags: Vec<String>,
    pairs: Vec<(u16, String)>,
}

/// Echoes an `Item`.
#[ws_route("/p/json")]
async fn p_json(item: Json<Item>) -> Json<Item> {
    item
}

// ---------------------------------------------------------------- harness

/// Runs `cases` cases of `strategy` against one server on one runtime.
fn check<S, F, Fut>(cases: u32, strategy: S, test: F)
where
    S: Strategy,
    S::Value: Clone,
    F: Fn(SocketAddr, S::Value) -> Fut,
    Fut: Future<Output = Result<(), TestCaseError>>,
{
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
    let server: Server = rt.block_on(spawn_prefix("/p/", App::new().config(|c| c.heartbeat = None)));
    let addr = server.local_addr();
    let config = ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&strategy, |value| rt.block_on(test(addr, value)));
    if let Err(e) = result {
        panic!("{e}");
    }
    rt.block_on(async { within(server.shutdown()).await.expect("shutdown") });
}

/// Percent-encodes every byte that is not unreserved (RFC 3986), and the
/// unreserved ones too when `all`.
fn percent_encode(s: &str, all: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if !all && (b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Arbitrary non-empty Unicode strings (any `char`, control characters,
/// `/`, `%`, `?` and `#` included).
fn segment() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 1..12).prop_map(String::from_iter)
}

/// A small deterministic generator (splitmix64): big payloads come from a
/// (length, seed) pair, which is much cheaper for proptest than a value tree
/// per byte and still shrinks (by length).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn char(&mut self, ascii: bool) -> char {
        loop {
            let r = self.next();
            let c = if ascii {
                char::from(b' ' + (r % 95) as u8)
            } else {
                // Every UTF-8 length equally often: 1, 2, 3 and 4 bytes.
                let (lo, hi) = [(0, 0x80), (0x80, 0x800), (0x800, 0x1_0000), (0x1_0000, 0x11_0000)][(r & 3) as usize];
                match char::from_u32(lo + ((r >> 2) % u64::from(hi - lo)) as u32) {
                    Some(c) => c,
                    None => continue, // a surrogate
                }
            };
            return c;
        }
    }
}

/// Text of up to 70 000 bytes: any chars, or printable ASCII.
fn text_payload() -> impl Strategy<Value = String> {
    (0..70_000usize, any::<u64>(), any::<bool>()).prop_map(|(len, seed, ascii)| {
        let mut rng = SplitMix(seed);
        let mut s = String::with_capacity(len);
        loop {
            let c = rng.char(ascii);
            if s.len() + c.len_utf8() > len {
                return s;
            }
            s.push(c);
        }
    })
}

/// Bytes, up to 70 000.
fn binary_payload() -> impl Strategy<Value = Vec<u8>> {
    (0..70_000usize, any::<u64>()).prop_map(|(len, seed)| {
        let mut rng = SplitMix(seed);
        (0..len).map(|_| rng.next() as u8).collect()
    })
}

// ---------------------------------------------------------------- (1) path params

#[test]
fn path_params_reach_the_handler_decoded_exactly() {
    check(64, (segment(), segment(), any::<bool>()), |addr, (a, b, all)| async move {
        let path = format!("/p/{}/{}", percent_encode(&a, all), percent_encode(&b, !all));
        let mut client = Client::connect(addr, &path).await;
        client.send(Frame::text("which?")).await;
        let expected = serde_json::to_string(&(Some(&a), Some(&b), 2)).expect("serialize");
        match client.recv_data().await {
            Ok(Data::Text(got)) => prop_assert_eq!(String::from_utf8(got).expect("utf-8"), expected, "path {}", path),
            other => prop_assert!(false, "path {}: {:?}", path, other),
        }
        Ok(())
    });
}

// ---------------------------------------------------------------- (2) echo

#[derive(Debug, Clone)]
enum Payload {
    Text(String),
    Binary(Vec<u8>),
}

fn payload() -> impl Strategy<Value = Payload> {
    prop_oneof![text_payload().prop_map(Payload::Text), binary_payload().prop_map(Payload::Binary)]
}

#[test]
fn text_and_binary_payloads_echo_byte_exact() {
    check(64, payload(), |addr, payload| async move {
        let mut ws = connect(addr, "/p/echo").await;
        match payload {
            Payload::Text(text) => {
                send(&mut ws, WsMessage::text(text.clone())).await;
                match recv(&mut ws).await {
                    WsMessage::Text(got) => prop_assert!(got.as_str() == text, "text echo differs"),
                    other => prop_assert!(false, "expected text, got {:?}", other),
                }
            }
            Payload::Binary(bytes) => {
                send(&mut ws, WsMessage::binary(bytes.clone())).await;
                match recv(&mut ws).await {
                    WsMessage::Binary(got) => prop_assert!(got.as_ref() == bytes.as_slice(), "binary echo differs"),
                    other => prop_assert!(false, "expected binary, got {:?}", other),
                }
            }
        }
        Ok(())
    });
}

/// The same payloads cut into random fragments (text cut anywhere, inside
/// characters too), with pings injected between fragments: the echo is the
/// whole message, byte-exact, and each ping gets its pong.
#[test]
fn fragmented_payloads_with_injected_pings_echo_byte_exact() {
    let cuts = prop::collection::vec(any::<Index>(), 0..8);
    let pings = prop::collection::vec(any::<bool>(), 8);
    check(64, (payload(), cuts, pings), |addr, (payload, cuts, pings)| async move {
        let (opcode, bytes) = match &payload {
            Payload::Text(t) => (raw::TEXT, t.as_bytes().to_vec()),
            Payload::Binary(b) => (raw::BINARY, b.clone()),
        };
        let mut at: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        at.push(0);
        at.push(bytes.len());
        at.sort_unstable();
        at.dedup();
        let mut pieces: Vec<&[u8]> = at.windows(2).map(|w| &bytes[w[0]..w[1]]).collect();
        if pieces.is_empty() {
            pieces.push(&[]);
        }
        let mut client = Client::connect(addr, "/p/echo").await;
        let last = pieces.len() - 1;
        for (i, piece) in pieces.iter().enumerate() {
            let frame = if i == 0 { Frame::new(opcode, *piece) } else { Frame::continuation(*piece) };
            client.send(frame.fin(i == last)).await;
            if i != last && pings[i % pings.len()] {
                let token = format!("ping {i}").into_bytes();
                client.send(Frame::ping(token.clone())).await;
                prop_assert_eq!(client.recv_pong().await, Ok(token));
            }
        }
        let expected = match payload {
            Payload::Text(_) => Data::Text(bytes),
            Payload::Binary(_) => Data::Binary(bytes),
        };
        let got = client.recv_data().await;
        prop_assert!(got == Ok(expected), "fragmented echo differs (cuts at {:?})", at);
        Ok(())
    });
}

// ---------------------------------------------------------------- (3) Json<T>

fn item() -> impl Strategy<Value = Item> {
    (
        any::<String>(),
        any::<i64>(),
        any::<bool>(),
        any::<Option<u8>>(),
        prop::collection::vec(any::<String>(), 0..4),
        prop::collection::vec((any::<u16>(), any::<String>()), 0..4),
    )
        .prop_map(|(name, n, flag, level, tags, pairs)| Item { name, n, flag, level, tags, pairs })
}

/// Sends `msg` and checks the answer: the echo of `expected`, or the error
/// reply when `expected` is `None`.
async fn json_answer(ws: &mut common::Client, msg: WsMessage, expected: Option<&Item>) -> Result<(), TestCaseError> {
    send(ws, msg).await;
    let text = match recv(ws).await {
        WsMessage::Text(t) => t.as_str().to_owned(),
        other => return Err(TestCaseError::fail(format!("expected a text answer, got {other:?}"))),
    };
    match expected {
        Some(item) => {
            let got: Item = serde_json::from_str(&text)
                .map_err(|e| TestCaseError::fail(format!("answer {text:?} is not an Item: {e}")))?;
            prop_assert_eq!(&got, item);
        }
        None => {
            let v: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| TestCaseError::fail(format!("error answer {text:?} is not JSON: {e}")))?;
            prop_assert_eq!(&v["type"], "error", "answer {}", text);
            let error = v["error"].as_str().unwrap_or_default();
            prop_assert!(error.starts_with("invalid JSON: "), "answer {}", text);
        }
    }
    Ok(())
}

#[test]
fn json_values_round_trip_as_text_and_binary() {
    check(64, (item(), any::<bool>()), |addr, (item, binary)| async move {
        let mut ws = connect(addr, "/p/json").await;
        let json = serde_json::to_string(&item).expect("serialize");
        let msg = if binary { WsMessage::binary(json.into_bytes()) } else { WsMessage::text(json) };
        json_answer(&mut ws, msg, Some(&item)).await
    });
}

#[derive(Debug, Clone)]
enum Garbage {
    Bytes(Vec<u8>),
    Text(String),
    /// A valid `Item` with one byte replaced.
    Mutated(Item, Index, u8),
}

fn garbage() -> impl Strategy<Value = Garbage> {
    let jsonish = proptest::string::string_regex(r#"[{}\[\]":,0-9a-z \-.enulltrufalse]{0,64}"#).expect("regex");
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512).prop_map(Garbage::Bytes),
        any::<String>().prop_map(Garbage::Text),
        jsonish.prop_map(Garbage::Text),
        (item(), any::<Index>(), any::<u8>()).prop_map(|(i, at, b)| Garbage::Mutated(i, at, b)),
    ]
}

/// Random input gets the error reply, or the answer a valid `Item` gets
/// (when the input happens to be one), and never closes the connection: a
/// valid `Item` sent afterwards is still echoed.
#[test]
fn json_garbage_gets_error_reply_or_answer_and_never_closes() {
    check(64, (garbage(), item()), |addr, (garbage, after)| async move {
        let mut ws = connect(addr, "/p/json").await;
        let bytes = match &garbage {
            Garbage::Bytes(b) => b.clone(),
            Garbage::Text(t) => t.clone().into_bytes(),
            Garbage::Mutated(item, at, b) => {
                let mut json = serde_json::to_vec(item).expect("serialize");
                let i = at.index(json.len());
                json[i] = *b;
                json
            }
        };
        let parsed = serde_json::from_slice::<Item>(&bytes).ok();
        let msg = match String::from_utf8(bytes) {
            Ok(text) if !matches!(garbage, Garbage::Bytes(_)) => WsMessage::text(text),
            Ok(text) => WsMessage::binary(text.into_bytes()),
            Err(e) => WsMessage::binary(e.into_bytes()),
        };
        json_answer(&mut ws, msg, parsed.as_ref()).await?;
        let json = serde_json::to_string(&after).expect("serialize");
        json_answer(&mut ws, WsMessage::text(json), Some(&after)).await
    });
}
