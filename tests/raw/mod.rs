//! A raw WebSocket client written for hostile-input tests: a TCP stream, a
//! hand-written HTTP upgrade and a frame codec with full control over every
//! header bit. It is deliberately *not* a WebSocket library: it sends what
//! libraries refuse to (unmasked frames, reserved bits and opcodes,
//! fragmented control frames, lying length fields, bad close codes).
//!
//! Server frames are checked as they are read: a frame from the server must
//! be unmasked and have its reserved bits clear (RFC 6455 section 5.1/5.2).
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bound on every read of the raw client.
pub const TIMEOUT: Duration = Duration::from_secs(10);

pub const CONTINUATION: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

/// The GUID of RFC 6455 section 1.3, appended to the key for the accept hash.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// ------------------------------------------------------------ randomness

/// `N` random bytes from std's randomly keyed hasher (no RNG crate needed:
/// keys and masks only need to be unpredictable enough for a test).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut out = [0u8; N];
    for chunk in out.chunks_mut(8) {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        h.write_u128(nanos);
        let word = h.finish().to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
    out
}

// ------------------------------------------------------------ SHA-1, base64

/// SHA-1 (FIPS 180-4), written out so the accept check does not trust the
/// server's own dependency.
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a.rotate_left(5).wrapping_add(f).wrapping_add(e).wrapping_add(k).wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (hv, v) in h.iter_mut().zip([a, b, c, d, e]) {
            *hv = hv.wrapping_add(v);
        }
    }
    let mut out = [0u8; 20];
    for (chunk, v) in out.chunks_mut(4).zip(h) {
        chunk.copy_from_slice(&v.to_be_bytes());
    }
    out
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 0x3F) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The `Sec-WebSocket-Accept` value for a key (RFC 6455 section 4.2.2).
pub fn accept_key(key: &str) -> String {
    base64(&sha1(format!("{key}{GUID}").as_bytes()))
}

// ------------------------------------------------------------ frames

/// How the payload length field is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LenForm {
    /// The shortest form for the declared length (what RFC 6455 requires).
    Minimal,
    /// 126 + a 16-bit length.
    Sixteen,
    /// 127 + a 64-bit length (any value, including one with the MSB set).
    SixtyFour,
}

/// A client frame with every header field under the test's control.
#[derive(Debug, Clone)]
pub struct Frame {
    pub fin: bool,
    pub rsv1: bool,
    pub rsv2: bool,
    pub rsv3: bool,
    pub opcode: u8,
    pub mask: Option<[u8; 4]>,
    pub payload: Vec<u8>,
    /// The length written in the header; `None`: the payload's real length.
    pub declared_len: Option<u64>,
    pub len_form: LenForm,
}

impl Frame {
    /// A final, masked frame (random mask) of `opcode` with `payload`.
    pub fn new(opcode: u8, payload: impl Into<Vec<u8>>) -> Self {
        Frame {
            fin: true,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode,
            mask: Some(random_bytes::<4>()),
            payload: payload.into(),
            declared_len: None,
            len_form: LenForm::Minimal,
        }
    }

    pub fn text(text: impl AsRef<[u8]>) -> Self {
        Frame::new(TEXT, text.as_ref())
    }

    pub fn binary(bytes: impl Into<Vec<u8>>) -> Self {
        Frame::new(BINARY, bytes)
    }

    pub fn continuation(bytes: impl Into<Vec<u8>>) -> Self {
        Frame::new(CONTINUATION, bytes)
    }

    pub fn ping(bytes: impl Into<Vec<u8>>) -> Self {
        Frame::new(PING, bytes)
    }

    pub fn pong(bytes: impl Into<Vec<u8>>) -> Self {
        Frame::new(PONG, bytes)
    }

    /// A close frame with a code and a reason.
    pub fn close(code: u16, reason: &str) -> Self {
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(reason.as_bytes());
        Frame::new(CLOSE, payload)
    }

    pub fn fin(mut self, fin: bool) -> Self {
        self.fin = fin;
        self
    }

    /// Sets the reserved bits: `rsv(1)`, `rsv(2)` or `rsv(3)`.
    pub fn rsv(mut self, which: u8) -> Self {
        match which {
            1 => self.rsv1 = true,
            2 => self.rsv2 = true,
            3 => self.rsv3 = true,
            other => panic!("no RSV{other} bit"),
        }
        self
    }

    pub fn unmasked(mut self) -> Self {
        self.mask = None;
        self
    }

    /// Writes `len` in the length field whatever the payload really is.
    pub fn declared_len(mut self, len: u64) -> Self {
        self.declared_len = Some(len);
        self
    }

    pub fn len_form(mut self, form: LenForm) -> Self {
        self.len_form = form;
        self
    }

    /// The frame's bytes on the wire.
    pub fn encode(&self) -> Vec<u8> {
        let len = self.declared_len.unwrap_or(self.payload.len() as u64);
        let mut out = Vec::with_capacity(14 + self.payload.len());
        let mut first = self.opcode & 0x0F;
        for (set, bit) in [(self.fin, 0x80), (self.rsv1, 0x40), (self.rsv2, 0x20), (self.rsv3, 0x10)] {
            if set {
                first |= bit;
            }
        }
        out.push(first);
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let form = match self.len_form {
            LenForm::Minimal if len < 126 => None,
            LenForm::Minimal if len <= u64::from(u16::MAX) => Some(LenForm::Sixteen),
            LenForm::Minimal => Some(LenForm::SixtyFour),
            other => Some(other),
        };
        match form {
            None => out.push(mask_bit | len as u8),
            Some(LenForm::Sixteen) => {
                out.push(mask_bit | 126);
                let short = u16::try_from(len).expect("a 16-bit length field holds at most 65535");
                out.extend_from_slice(&short.to_be_bytes());
            }
            Some(_) => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&len.to_be_bytes());
            }
        }
        match self.mask {
            Some(mask) => {
                out.extend_from_slice(&mask);
                out.extend(self.payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
            }
            None => out.extend_from_slice(&self.payload),
        }
        out
    }
}

/// A frame read from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFrame {
    pub fin: bool,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

impl ServerFrame {
    /// The close code of a close frame (1005 when it has no payload).
    pub fn close_code(&self) -> Option<u16> {
        (self.opcode == CLOSE).then(|| match self.payload.as_slice() {
            [hi, lo, ..] => u16::from_be_bytes([*hi, *lo]),
            _ => 1005,
        })
    }
}

/// A data message assembled from the server's frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    Text(Vec<u8>),
    Binary(Vec<u8>),
}

/// What came instead of a close frame or a data message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The server's close frame: code (1005 without payload) and reason bytes.
    Close(u16, Vec<u8>),
    /// EOF or a reset without a close frame.
    Dropped,
}

// ------------------------------------------------------------ the client

/// A raw WebSocket connection.
pub struct Client {
    tcp: TcpStream,
    buf: Vec<u8>,
}

/// The server's answer to an upgrade request.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

impl Response {
    /// A header's value (the first one, name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A random `Sec-WebSocket-Key`: 16 random bytes, base64-encoded.
pub fn random_key() -> String {
    base64(&random_bytes::<16>())
}

/// The standard upgrade request for `path` with `key`.
pub fn upgrade_request(addr: SocketAddr, path: &str, key: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

async fn bounded<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(TIMEOUT, fut).await {
        Ok(v) => v,
        Err(_) => panic!("raw client: {what} timed out after {TIMEOUT:?}"),
    }
}

impl Client {
    /// The client's end of the TCP connection (the server's `peer_addr`).
    pub fn local_addr(&self) -> SocketAddr {
        self.tcp.local_addr().expect("a connected socket has a local address")
    }

    /// Connects and upgrades, checking the 101 answer and its accept key.
    pub async fn connect(addr: SocketAddr, path: &str) -> Client {
        let key = random_key();
        let (client, response) = Client::handshake(addr, &upgrade_request(addr, path, &key)).await;
        assert_eq!(response.status, 101, "upgrade of {path} answered {response:?}");
        let upgrade = response.header("upgrade").unwrap_or_default();
        assert!(upgrade.eq_ignore_ascii_case("websocket"), "Upgrade header: {response:?}");
        let connection = response.header("connection").unwrap_or_default();
        assert!(
            connection.split(',').any(|t| t.trim().eq_ignore_ascii_case("upgrade")),
            "Connection header: {response:?}"
        );
        assert_eq!(response.header("sec-websocket-accept"), Some(accept_key(&key).as_str()), "{response:?}");
        client
    }

    /// Sends `request` as it is and reads the response head; bytes after the
    /// head stay buffered for the frame reader.
    pub async fn handshake(addr: SocketAddr, request: &str) -> (Client, Response) {
        Client::handshake_bytes(addr, request.as_bytes()).await
    }

    /// [`Client::handshake`] with a request that need not be UTF-8 (for
    /// example frames pipelined after the request head, in the same write).
    pub async fn handshake_bytes(addr: SocketAddr, request: &[u8]) -> (Client, Response) {
        let tcp = bounded("tcp connect", TcpStream::connect(addr)).await.expect("tcp connect");
        tcp.set_nodelay(true).expect("set_nodelay");
        let mut client = Client { tcp, buf: Vec::new() };
        bounded("write request", client.tcp.write_all(request)).await.expect("write request");
        let end = loop {
            if let Some(i) = client.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = bounded("read response head", client.read_more()).await.expect("read response head");
            assert!(n > 0, "connection closed before a response head: {:?}", String::from_utf8_lossy(&client.buf));
            assert!(client.buf.len() < 64 * 1024, "response head too long");
        };
        let head: Vec<u8> = client.buf.drain(..end).collect();
        let head = String::from_utf8(head).expect("response head is UTF-8");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.split_whitespace();
        assert_eq!(parts.next(), Some("HTTP/1.1"), "status line {status_line:?}");
        let status = parts.next().and_then(|s| s.parse().ok()).expect("status code");
        let headers = lines
            .filter(|l| !l.is_empty())
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        (client, Response { status, headers })
    }

    async fn read_more(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.tcp.read(&mut chunk).await?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// Writes raw bytes.
    pub async fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        bounded("write", self.tcp.write_all(bytes)).await
    }

    /// Writes one frame; errors (the server may already have dropped us) are returned.
    pub async fn try_send(&mut self, frame: &Frame) -> io::Result<()> {
        self.write_raw(&frame.encode()).await
    }

    /// Writes one frame, failing the test if the write fails.
    pub async fn send(&mut self, frame: Frame) {
        self.try_send(&frame).await.expect("raw client: write frame");
    }

    /// Reads one server frame: `Ok(None)` on EOF. Panics if the server
    /// masked it or set a reserved bit (RFC 6455 5.1, 5.2).
    pub async fn read_frame(&mut self) -> io::Result<Option<ServerFrame>> {
        loop {
            if let Some((frame, used)) = parse_server_frame(&self.buf)? {
                self.buf.drain(..used);
                return Ok(Some(frame));
            }
            if self.read_more().await? == 0 {
                return Ok(None);
            }
        }
    }

    /// [`Client::read_frame`] bounded by [`TIMEOUT`], as `(fin, opcode, payload)`.
    pub async fn recv_frame(&mut self) -> io::Result<Option<(bool, u8, Vec<u8>)>> {
        let frame = bounded("read frame", self.read_frame()).await?;
        Ok(frame.map(|f| (f.fin, f.opcode, f.payload)))
    }

    /// Reads until a complete data message (skipping pings and pongs), or the
    /// end of the connection.
    pub async fn recv_data(&mut self) -> Result<Data, Ended> {
        bounded("read data message", async {
            let mut message: Option<(u8, Vec<u8>)> = None;
            loop {
                let frame = match self.read_frame().await {
                    Ok(Some(frame)) => frame,
                    Ok(None) | Err(_) => return Err(Ended::Dropped),
                };
                match frame.opcode {
                    PING | PONG => continue,
                    CLOSE => {
                        let code = frame.close_code().unwrap_or(1005);
                        return Err(Ended::Close(code, frame.payload.get(2..).unwrap_or_default().to_vec()));
                    }
                    TEXT | BINARY => {
                        assert!(message.is_none(), "server interleaved a new data frame in a fragmented message");
                        message = Some((frame.opcode, frame.payload));
                    }
                    CONTINUATION => {
                        let (_, buf) = message.as_mut().expect("server sent a continuation frame without a start");
                        buf.extend_from_slice(&frame.payload);
                    }
                    other => panic!("server sent a frame with reserved opcode {other:#x}"),
                }
                if frame.fin {
                    let (opcode, payload) = message.take().expect("a data message");
                    return Ok(if opcode == TEXT { Data::Text(payload) } else { Data::Binary(payload) });
                }
            }
        })
        .await
    }

    /// Reads until the next pong and returns its payload.
    pub async fn recv_pong(&mut self) -> Result<Vec<u8>, Ended> {
        bounded("read pong", async {
            loop {
                match self.read_frame().await {
                    Ok(Some(f)) if f.opcode == PONG => return Ok(f.payload),
                    Ok(Some(f)) if f.opcode == CLOSE => {
                        let code = f.close_code().unwrap_or(1005);
                        return Err(Ended::Close(code, f.payload.get(2..).unwrap_or_default().to_vec()));
                    }
                    Ok(Some(_)) => continue,
                    Ok(None) | Err(_) => return Err(Ended::Dropped),
                }
            }
        })
        .await
    }

    /// Reads (discarding data frames) until the server's close frame or the
    /// end of the connection.
    pub async fn expect_close(&mut self) -> Ended {
        bounded("wait for close", async {
            loop {
                match self.read_frame().await {
                    Ok(Some(f)) if f.opcode == CLOSE => {
                        let code = f.close_code().unwrap_or(1005);
                        return Ended::Close(code, f.payload.get(2..).unwrap_or_default().to_vec());
                    }
                    Ok(Some(_)) => continue,
                    Ok(None) | Err(_) => return Ended::Dropped,
                }
            }
        })
        .await
    }

    /// After the close handshake: waits until the server closes the TCP
    /// connection (EOF or reset); false if it sends another frame instead.
    pub async fn expect_eof(&mut self) -> bool {
        matches!(bounded("wait for EOF", self.read_frame()).await, Ok(None) | Err(_))
    }
}

/// The close code of the server's close frame (1005 for an empty one), or
/// `None` when the connection ended without a close frame ("dropped").
pub async fn expect_close_code(client: &mut Client) -> Option<u16> {
    match client.expect_close().await {
        Ended::Close(code, _) => Some(code),
        Ended::Dropped => None,
    }
}

/// Parses one server frame from the front of `buf`: `Ok(None)` when more
/// bytes are needed, else the frame and how many bytes it took.
fn parse_server_frame(buf: &[u8]) -> io::Result<Option<(ServerFrame, usize)>> {
    let [first, second, ..] = *buf else { return Ok(None) };
    assert_eq!(first & 0x70, 0, "server frame with a reserved bit set: {first:#010b}");
    assert_eq!(second & 0x80, 0, "server frame is masked (RFC 6455 5.1 forbids it)");
    let (len, mut at) = match second & 0x7F {
        126 => match buf.get(2..4) {
            Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10) {
            Some(b) => (u64::from_be_bytes(b.try_into().expect("8 bytes")), 10),
            None => return Ok(None),
        },
        n => (u64::from(n), 2),
    };
    let len = usize::try_from(len).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "frame too long"))?;
    if len > 64 << 20 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("server frame of {len} bytes")));
    }
    let Some(payload) = buf.get(at..at + len) else { return Ok(None) };
    let frame = ServerFrame { fin: first & 0x80 != 0, opcode: first & 0x0F, payload: payload.to_vec() };
    at += len;
    Ok(Some((frame, at)))
}
