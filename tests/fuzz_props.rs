//! Fuzz-style properties through real sockets (the router and the
//! extractors are private, so they are driven from the outside):
//!
//! 1. Routing: random route-shaped paths (static words, parameters of any
//!    Unicode, empty segments, raw `%` escapes, invalid UTF-8 after
//!    decoding, trailing slashes, query strings) against overlapping routes
//!    answer exactly what a reference model says: which handler (static
//!    segments before parameters at each level, with backtracking), with
//!    which decoded parameters, or 404.
//! 2. Message extraction: random sequences of frames (text, binary, JSON,
//!    text that is not UTF-8, cut into fragments with pings between them)
//!    to `String`, `Utf8Bytes`, `Bytes`, `Vec<u8>`, `Json<Value>` and
//!    `Message` handlers get exactly the answer a model predicts (echo,
//!    JSON error reply, close 1003 or 1007), and every case ends with a
//!    successful round trip: the server never falls over.
//!
//! 3. The entry points of the cargo-fuzz targets (`fuzz/`): upgrade request
//!    heads, frame streams cut anywhere, backplane envelopes (no server).
//!
//! Each property runs 128 cases against one server on one runtime. Routes
//! live under `/z/`. Run with `cargo test --test fuzz_props`; more cases
//! with `PROPTEST_CASES=2000 cargo test --test fuzz_props`.

mod common;
mod raw;

use std::future::Future;
use std::net::SocketAddr;

use common::within;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use raw::{Client, Data, Ended, Frame};
use serde::Deserialize;
use wirehub::prelude::*;
use wirehub::Server;

// ---------------------------------------------------------------- routes

/// Serializes a handler's name and the parameters it received.
fn answer(name: &str, params: &[&str]) -> String {
    serde_json::to_string(&(name, params)).expect("serialize")
}

#[ws_route("/z/r/{a}")]
async fn z_one(a: Path<String>, _t: String) -> String {
    answer("one", &[&a.0])
}

#[ws_route("/z/r/fixed")]
async fn z_fixed(_t: String) -> String {
    answer("fixed", &[])
}

#[ws_route("/z/r/fixed/deep")]
async fn z_deep(_t: String) -> String {
    answer("deep", &[])
}

#[ws_route("/z/r/{a}/x/{b}")]
async fn z_two(ab: Path<(String, String)>, _t: String) -> String {
    answer("two", &[&ab.0 .0, &ab.0 .1])
}

#[derive(Deserialize)]
struct Three {
    a: String,
    b: String,
    c: String,
}

#[ws_route("/z/r/{a}/{b}/{c}")]
async fn z_three(p: Path<Three>, _t: String) -> String {
    answer("three", &[&p.0.a, &p.0.b, &p.0.c])
}

#[ws_route("/z/{k}/s")]
async fn z_ks(conn: Conn, _t: String) -> String {
    answer("ks", &[conn.param("k").unwrap_or("<missing>")])
}

#[ws_route("/z/m/text")]
async fn z_text(t: String) -> String {
    t
}

#[ws_route("/z/m/utf8")]
async fn z_utf8(t: Utf8Bytes) -> Utf8Bytes {
    t
}

#[ws_route("/z/m/bytes")]
async fn z_bytes(b: Bytes) -> Bytes {
    b
}

#[ws_route("/z/m/vec")]
async fn z_vec(b: Vec<u8>) -> Vec<u8> {
    b
}

#[ws_route("/z/m/json")]
async fn z_json(v: Json<serde_json::Value>) -> Json<serde_json::Value> {
    v
}

#[ws_route("/z/m/msg")]
async fn z_msg(m: Message) -> Option<Message> {
    match m {
        Message::Text(_) | Message::Binary(_) => Some(m),
        _ => None,
    }
}

// ---------------------------------------------------------------- harness

// How often each outcome came up (printed after each property, to show
// the generators reach every branch). Per thread: each property runs its
// cases on its test's thread.
thread_local! {
    static TALLY: std::cell::RefCell<std::collections::BTreeMap<String, usize>> = Default::default();
}

fn tally(what: impl Into<String>) {
    TALLY.with(|t| *t.borrow_mut().entry(what.into()).or_default() += 1);
}

/// Runs 128 cases (or `PROPTEST_CASES`) of `strategy` against one server on
/// one runtime, then checks that the server still answers.
fn check<S, F, Fut>(strategy: S, test: F)
where
    S: Strategy,
    F: Fn(SocketAddr, S::Value) -> Fut,
    Fut: Future<Output = Result<(), TestCaseError>>,
{
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
    let server: Server = rt.block_on(common::spawn_prefix("/z/", App::new().config(|c| c.heartbeat = None)));
    let addr = server.local_addr();
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(128);
    let config = ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&strategy, |value| rt.block_on(test(addr, value)));
    println!(
        "{cases} cases, outcomes (shrinking included): {:?}",
        TALLY.with(|t| std::mem::take(&mut *t.borrow_mut()))
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    rt.block_on(async {
        assert_eq!(common::http_status(addr, &common::get("/healthz")).await, 200, "the server still serves");
        within(server.shutdown()).await.expect("shutdown");
    });
}

// ---------------------------------------------------------------- (1) routing

/// One path segment as generated: what is sent, and the value the handler
/// should see (`None` when it does not decode to UTF-8).
#[derive(Debug, Clone)]
struct Seg {
    raw: String,
}

/// Percent-encodes every byte that is not unreserved (RFC 3986).
fn encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The reference decoder: `%` and two hex digits is a byte, anything else
/// (a lone `%` included) is itself; the result must be UTF-8.
fn decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn seg() -> impl Strategy<Value = Seg> {
    let word = prop_oneof![Just("r"), Just("x"), Just("s"), Just("fixed"), Just("deep"), Just("m"), Just("")]
        .prop_map(|w| w.to_owned());
    // Raw characters the request line allows, `%` escapes valid or not among them.
    let uri_safe = proptest::string::string_regex("[A-Za-z0-9%._~!$&'()*+,;=:@-]{1,8}").expect("regex");
    prop_oneof![
        3 => word,
        3 => prop::collection::vec(any::<char>(), 1..8).prop_map(|c| encode(String::from_iter(c).as_bytes())),
        1 => prop::collection::vec(any::<u8>(), 1..6).prop_map(|b| encode(&b)),
        1 => uri_safe,
    ]
    .prop_map(|raw| Seg { raw })
}

/// An element of a route pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pat {
    S(&'static str),
    P,
}

const ROUTES: &[(&str, &[Pat])] = {
    use Pat::{P, S};
    &[
        ("one", &[S("z"), S("r"), P]),
        ("fixed", &[S("z"), S("r"), S("fixed")]),
        ("deep", &[S("z"), S("r"), S("fixed"), S("deep")]),
        ("two", &[S("z"), S("r"), P, S("x"), P]),
        ("three", &[S("z"), S("r"), P, P, P]),
        ("ks", &[S("z"), P, S("s")]),
    ]
};

/// The reference router: among the patterns the segments fit (same length,
/// equal static segments, non-empty parameters), the first in depth-first
/// order with static children before the parameter child, i.e. the least
/// when static < parameter element by element; then every parameter must
/// decode, or the answer is 404.
fn model(segments: &[&str]) -> Option<(&'static str, Vec<String>)> {
    let (name, pattern) = ROUTES
        .iter()
        .filter(|(_, p)| {
            p.len() == segments.len()
                && p.iter().zip(segments).all(|(p, s)| match p {
                    Pat::S(word) => word == s,
                    Pat::P => !s.is_empty(),
                })
        })
        .min_by_key(|(_, p)| p.iter().map(|e| matches!(e, Pat::P)).collect::<Vec<_>>())?;
    let params = pattern.iter().zip(segments).filter(|(p, _)| **p == Pat::P).map(|(_, s)| decode(s));
    Some((name, params.collect::<Option<Vec<_>>>()?))
}

/// Route-shaped segment lists: a route's pattern with its static words
/// (each kept with probability 19/20) and random parameters, one segment
/// dropped or added now and then; or fully random segments.
fn route_shaped() -> impl Strategy<Value = Vec<String>> {
    let template = prop::option::weighted(0.9, 0..ROUTES.len());
    let fill = prop::collection::vec((prop::bool::weighted(0.95), seg()), 6);
    let change = prop_oneof![8 => Just(0i8), 1 => Just(-1i8), 1 => Just(1i8)];
    (template, fill, change).prop_map(|(template, fill, change)| {
        let mut out: Vec<String> = match template {
            Some(t) => ROUTES[t]
                .1
                .iter()
                .zip(&fill)
                .map(|(p, (keep, s))| match p {
                    Pat::S(word) if *keep => (*word).to_owned(),
                    _ => s.raw.clone(),
                })
                .collect(),
            None => std::iter::once("z".to_owned()).chain(fill.iter().take(3).map(|(_, s)| s.raw.clone())).collect(),
        };
        match change {
            -1 => {
                out.pop();
            }
            1 => out.push(fill[5].1.raw.clone()),
            _ => {}
        }
        out
    })
}

#[test]
fn random_paths_route_like_the_reference_model() {
    let shape = (route_shaped(), prop::option::of(proptest::string::string_regex("[a-z0-9=&%]{0,8}").expect("regex")));
    check(shape, |addr, (segments, query)| async move {
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let mut path = format!("/{}", segments.join("/"));
        if let Some(q) = &query {
            path.push('?');
            path.push_str(q);
        }
        let expected = model(&segments);
        tally(expected.as_ref().map_or("404", |(name, _)| name));
        let (mut client, response) =
            Client::handshake(addr, &raw::upgrade_request(addr, &path, &raw::random_key())).await;
        match &expected {
            None => prop_assert_eq!(response.status, 404, "path {} should not route", path),
            Some((name, params)) => {
                prop_assert_eq!(response.status, 101, "path {} should reach {} with {:?}", path, name, params);
                client.send(Frame::text("which?")).await;
                let params: Vec<&str> = params.iter().map(String::as_str).collect();
                match client.recv_data().await {
                    Ok(Data::Text(got)) => {
                        prop_assert_eq!(String::from_utf8(got).expect("utf-8"), answer(name, &params), "path {}", path)
                    }
                    other => prop_assert!(false, "path {}: {:?}", path, other),
                }
            }
        }
        Ok(())
    });
}

/// Cases the random generator finds rarely, written out.
#[test]
fn reference_model_examples() {
    type Routed = Option<(&'static str, &'static [&'static str])>;
    let cases: &[(&str, Routed)] = &[
        ("/z/r/fixed", Some(("fixed", &[]))),
        ("/z/r/fixed/deep", Some(("deep", &[]))),
        ("/z/r/fixed/x/b", Some(("two", &["fixed", "b"]))), // backtracks out of `fixed`
        ("/z/r/a/x/b", Some(("two", &["a", "b"]))),
        ("/z/r/a/y/b", Some(("three", &["a", "y", "b"]))),
        ("/z/r/x/s", None), // `r` then nothing fits; `{k}` = r needs `s` next
        ("/z/q/s", Some(("ks", &["q"]))),
        ("/z/r/s", Some(("one", &["s"]))), // static `r` wins over `{k}`
        ("/z/r/%FF", None),
        ("/z/r/%zz", Some(("one", &["%zz"]))),
        ("/z/r/a%2Fb", Some(("one", &["a/b"]))),
        ("/z/r/", None),
        ("/z/r//x/b", None),
    ];
    for (path, want) in cases {
        let segments: Vec<&str> = path[1..].split('/').collect();
        let got = model(&segments);
        let want = want.map(|(n, p)| (n, p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()));
        assert_eq!(got, want, "{path}");
    }
}

// ---------------------------------------------------------------- (2) extraction

/// A handler's argument type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Text,
    Utf8,
    Bytes,
    Vec,
    Json,
    Msg,
}

impl Route {
    fn path(self) -> &'static str {
        match self {
            Route::Text => "/z/m/text",
            Route::Utf8 => "/z/m/utf8",
            Route::Bytes => "/z/m/bytes",
            Route::Vec => "/z/m/vec",
            Route::Json => "/z/m/json",
            Route::Msg => "/z/m/msg",
        }
    }

    /// A message this route answers with its echo.
    fn good(self) -> (u8, Vec<u8>) {
        match self {
            Route::Bytes | Route::Vec => (raw::BINARY, vec![0, 159, 146, 150]),
            Route::Json => (raw::TEXT, br#"{"ok":[1,2,3]}"#.to_vec()),
            _ => (raw::TEXT, "round trip \u{1F600}".as_bytes().to_vec()),
        }
    }
}

/// A message to send: opcode and payload, cut at `cuts`, with a ping after
/// the fragments flagged in `pings`.
#[derive(Debug, Clone)]
struct Send {
    opcode: u8,
    payload: Vec<u8>,
    cuts: Vec<Index>,
    pings: Vec<bool>,
}

/// What the server must answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    Echo(Data),
    JsonError,
    Close(u16),
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Text that is not UTF-8: valid text around a byte sequence no UTF-8 decoder accepts.
fn not_utf8() -> impl Strategy<Value = Vec<u8>> {
    let bad = prop_oneof![
        Just(vec![0xFF]),
        Just(vec![0xC0, 0x80]),
        Just(vec![0xED, 0xA0, 0x80]), // a surrogate
        Just(vec![0xE2, 0x82]),       // truncated
        Just(vec![0x80]),
        Just(vec![0xF4, 0x90, 0x80, 0x80]), // beyond U+10FFFF
    ];
    (any::<String>(), bad, any::<String>()).prop_map(|(a, bad, b)| [a.into_bytes(), bad, b.into_bytes()].concat())
}

fn payload() -> impl Strategy<Value = (u8, Vec<u8>)> {
    prop_oneof![
        any::<String>().prop_map(|s| (raw::TEXT, s.into_bytes())),
        prop::collection::vec(any::<u8>(), 0..300).prop_map(|b| (raw::BINARY, b)),
        json_value().prop_map(|v| (raw::TEXT, serde_json::to_vec(&v).expect("serialize"))),
        json_value().prop_map(|v| (raw::BINARY, serde_json::to_vec(&v).expect("serialize"))),
        not_utf8().prop_map(|b| (raw::TEXT, b)),
        proptest::string::string_regex(r#"[{}\[\]":,0-9a-z .-]{0,32}"#)
            .expect("regex")
            .prop_map(|s| (raw::TEXT, s.into_bytes())),
    ]
}

fn send() -> impl Strategy<Value = Send> {
    (payload(), prop::collection::vec(any::<Index>(), 0..3), prop::collection::vec(any::<bool>(), 3))
        .prop_map(|((opcode, payload), cuts, pings)| Send { opcode, payload, cuts, pings })
}

fn route() -> impl Strategy<Value = Route> {
    prop_oneof![
        Just(Route::Text),
        Just(Route::Utf8),
        Just(Route::Bytes),
        Just(Route::Vec),
        Just(Route::Json),
        Just(Route::Msg)
    ]
}

/// The model of extraction: what `route` answers to a whole message.
fn expect(route: Route, opcode: u8, payload: &[u8]) -> Expect {
    let text = opcode == raw::TEXT;
    if text && std::str::from_utf8(payload).is_err() {
        return Expect::Close(1007);
    }
    match route {
        Route::Text | Route::Utf8 if text => Expect::Echo(Data::Text(payload.to_vec())),
        Route::Bytes | Route::Vec if !text => Expect::Echo(Data::Binary(payload.to_vec())),
        Route::Text | Route::Utf8 | Route::Bytes | Route::Vec => Expect::Close(1003),
        Route::Json => match serde_json::from_slice::<serde_json::Value>(payload) {
            Ok(v) => Expect::Echo(Data::Text(serde_json::to_vec(&v).expect("serialize"))),
            Err(_) => Expect::JsonError,
        },
        Route::Msg if text => Expect::Echo(Data::Text(payload.to_vec())),
        Route::Msg => Expect::Echo(Data::Binary(payload.to_vec())),
    }
}

/// How the connection ended before the answer to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// The server's close frame, with its code.
    Closed(u16),
    /// No close frame: the server closed while we were still sending the
    /// message. Its Close may be lost: a peer that closes with our data
    /// unread sends a RST, and the RST discards what we had not read yet.
    DroppedWhileSending,
    /// No close frame although the whole message was sent.
    Dropped,
}

/// Sends one message in fragments with pings between them (the server
/// may end the connection on the way: it fails a text message as soon as
/// its bytes cannot be UTF-8).
async fn send_fragmented(client: &mut Client, s: &Send) -> Result<(), Cut> {
    let mut at: Vec<usize> = s.cuts.iter().map(|i| i.index(s.payload.len() + 1)).collect();
    at.extend([0, s.payload.len()]);
    at.sort_unstable();
    at.dedup();
    let mut pieces: Vec<&[u8]> = at.windows(2).map(|w| &s.payload[w[0]..w[1]]).collect();
    if pieces.is_empty() {
        pieces.push(&[]);
    }
    let last = pieces.len() - 1;
    for (i, piece) in pieces.iter().enumerate() {
        let frame = if i == 0 { Frame::new(s.opcode, *piece) } else { Frame::continuation(*piece) };
        if client.try_send(&frame.fin(i == last)).await.is_err() {
            return Err(cut_off(client).await);
        }
        if i != last && s.pings[i % s.pings.len()] {
            let token = format!("between {i}").into_bytes();
            if client.try_send(&Frame::ping(token.clone())).await.is_err() {
                return Err(cut_off(client).await);
            }
            match client.recv_pong().await {
                Ok(got) if got == token => {}
                Ok(got) => panic!("pong {got:?} for ping {token:?}"),
                Err(Ended::Close(code, _)) => return Err(Cut::Closed(code)),
                Err(Ended::Dropped) => return Err(Cut::DroppedWhileSending),
            }
        }
    }
    Ok(())
}

/// After a write failed: the close frame if it can still be read.
async fn cut_off(client: &mut Client) -> Cut {
    match client.expect_close().await {
        Ended::Close(code, _) => Cut::Closed(code),
        Ended::Dropped => Cut::DroppedWhileSending,
    }
}

/// The answer to one message: a data message or how the connection ended.
async fn answer_to(client: &mut Client) -> Result<Data, Cut> {
    client.recv_data().await.map_err(|e| match e {
        Ended::Close(code, _) => Cut::Closed(code),
        Ended::Dropped => Cut::Dropped,
    })
}

/// Checks a JSON error reply.
fn is_json_error(data: &Data) -> bool {
    let Data::Text(bytes) = data else { return false };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) else { return false };
    v["type"] == "error" && v["error"].as_str().is_some_and(|e| e.starts_with("invalid JSON: "))
}

/// The good message of `route` is echoed.
async fn round_trip(client: &mut Client, route: Route) -> Result<(), TestCaseError> {
    let (opcode, payload) = route.good();
    client.send(Frame::new(opcode, payload.clone())).await;
    let want = if opcode == raw::TEXT { Data::Text(payload) } else { Data::Binary(payload) };
    let got = client.recv_data().await;
    prop_assert_eq!(got, Ok(want), "round trip on {}", route.path());
    Ok(())
}

#[test]
fn random_frames_get_the_modelled_answer_and_the_server_survives() {
    check((route(), prop::collection::vec(send(), 1..6)), |addr, (route, sends)| async move {
        let mut client = Client::connect(addr, route.path()).await;
        let mut open = true;
        for s in &sends {
            let want = expect(route, s.opcode, &s.payload);
            tally(
                format!("{want:?}").split('(').next().unwrap_or_default().to_owned()
                    + &match want {
                        Expect::Close(code) => format!(" {code}"),
                        _ => String::new(),
                    },
            );
            let got = match send_fragmented(&mut client, s).await {
                Ok(()) => answer_to(&mut client).await,
                Err(code) => Err(code),
            };
            match (&want, got) {
                (Expect::Echo(data), Ok(got)) => prop_assert_eq!(&got, data, "{:?} to {:?}", s, route),
                (Expect::JsonError, Ok(got)) => prop_assert!(is_json_error(&got), "{:?}: answer {:?}", s, got),
                (Expect::Close(code), Err(Cut::Closed(got))) => {
                    prop_assert_eq!(got, *code, "{:?} to {:?}", s, route);
                    open = false;
                    break;
                }
                // Invalid UTF-8 in a fragmented text message is found at the
                // fragment that has it, and the server fails the connection
                // then (RFC 6455 8.1): our later frames meet a closed socket.
                (Expect::Close(1007), Err(Cut::DroppedWhileSending)) => {
                    open = false;
                    break;
                }
                (want, got) => prop_assert!(false, "{:?} to {:?}: expected {:?}, got {:?}", s, route, want, got),
            }
        }
        if !open {
            client = Client::connect(addr, route.path()).await;
        }
        round_trip(&mut client, route).await
    });
}

// ---------------------------------------------------------------- (3) the fuzz targets' entry points

/// The entry points of `fuzz/` (cargo-fuzz, nightly) on stable: request
/// heads shaped like upgrades (with credentials, origins, cookies and
/// queries mixed in), frame streams built from real headers then cut
/// anywhere, and backplane envelopes, each also mangled byte-wise.
mod entry_points {
    use proptest::prelude::*;
    use wirehub::fuzzing::{backplane_codec, frame_reader, upgrade_request};

    fn header() -> impl Strategy<Value = String> {
        let names = prop::sample::select(vec![
            "Host",
            "Origin",
            "Authorization",
            "Proxy-Authorization",
            "X-Api-Key",
            "Cookie",
            "Sec-WebSocket-Key",
            "Sec-WebSocket-Protocol",
            "X-Other",
        ]);
        (names, "[ -~]{0,40}").prop_map(|(n, v)| format!("{n}: {v}"))
    }

    fn head() -> impl Strategy<Value = Vec<u8>> {
        ("[ -~]{0,30}", prop::collection::vec(header(), 0..8), prop::collection::vec(any::<u8>(), 0..4)).prop_map(
            |(target, headers, junk)| {
                let mut out = format!("GET /{target} HTTP/1.1\r\n{}\r\n\r\n", headers.join("\r\n")).into_bytes();
                out.extend(junk);
                out
            },
        )
    }

    fn frames() -> impl Strategy<Value = Vec<u8>> {
        let frame =
            (any::<bool>(), 0u8..16, prop::sample::select(vec![0usize, 1, 125, 126, 200, 65_536]), any::<bool>())
                .prop_map(|(fin, opcode, len, masked)| {
                    let mut out = vec![u8::from(fin) << 7 | opcode];
                    let mask = if masked { 0x80 } else { 0 };
                    match len {
                        0..=125 => out.push(mask | len as u8),
                        126..=65_535 => {
                            out.push(mask | 126);
                            out.extend((len as u16).to_be_bytes());
                        }
                        _ => {
                            out.push(mask | 127);
                            out.extend((len as u64).to_be_bytes());
                        }
                    }
                    if masked {
                        out.extend([1, 2, 3, 4]);
                    }
                    out.resize(out.len() + len, 0x5a);
                    out
                });
        (any::<u8>(), prop::collection::vec(frame, 0..6)).prop_map(|(cut, frames)| {
            let mut out = vec![cut];
            out.extend(frames.concat());
            out
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn upgrade_heads_keep_their_invariants(head in head()) {
            prop_assert_eq!(upgrade_request(&head), Ok(()));
        }

        #[test]
        fn any_bytes_are_safe_for_every_entry_point(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(upgrade_request(&bytes), Ok(()));
            prop_assert_eq!(frame_reader(&bytes), Ok(()));
            prop_assert_eq!(backplane_codec(&bytes), Ok(()));
        }

        #[test]
        fn frame_headers_are_read_alike_whatever_the_cuts(stream in frames()) {
            prop_assert_eq!(frame_reader(&stream), Ok(()));
        }

        #[test]
        fn envelopes_round_trip_and_seal(
            origin in any::<u32>(), except in any::<u64>(), text in any::<bool>(), key in "[a-z]{0,8}", payload in "\\PC{0,40}"
        ) {
            let mut frame = vec![1u8];
            frame.extend(origin.to_be_bytes());
            frame.extend(except.to_be_bytes());
            frame.push(if text { 1 } else { 2 });
            frame.extend((key.len() as u16).to_be_bytes());
            frame.extend(key.as_bytes());
            frame.extend(payload.as_bytes());
            prop_assert_eq!(backplane_codec(&frame), Ok(()));
        }
    }
}
