//! The load generator: one function per scenario, each driving a server on
//! 127.0.0.1 with tokio-tungstenite clients and returning its figures.
//!
//! Every network wait is bounded ([`IO_LIMIT`]): a server that stops
//! answering fails the run instead of hanging it.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{FutureExt, SinkExt, StreamExt, TryStreamExt};
use hdrhistogram::Histogram;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::procfs::{rss_kib, Watch};
use crate::{fail, Res};

pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Longest wait for any single network step.
pub(crate) const IO_LIMIT: Duration = Duration::from_secs(10);

/// Whether a bigger figure is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Better {
    /// Throughput-like.
    Higher,
    /// Latency- or cost-like.
    Lower,
}

/// One measured figure of one run.
#[derive(Debug, Clone)]
pub(crate) struct Figure {
    /// Its name, with the unit (`"msgs/s"`, `"p99 µs"`).
    pub(crate) key: &'static str,
    /// Its value.
    pub(crate) value: f64,
    /// Which direction is better.
    pub(crate) better: Better,
}

pub(crate) fn higher(key: &'static str, value: f64) -> Figure {
    Figure { key, value, better: Better::Higher }
}

pub(crate) fn lower(key: &'static str, value: f64) -> Figure {
    Figure { key, value, better: Better::Lower }
}

/// Nanoseconds since the first call (one clock for every task of the bench
/// process, so a timestamp written by the publisher is read by subscribers).
pub(crate) fn now_ns() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

pub(crate) fn histogram() -> Histogram<u64> {
    // 1 ns .. 100 s at 3 significant digits; the bounds are constants.
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("valid histogram bounds")
}

pub(crate) fn micros(h: &Histogram<u64>, quantile: f64) -> f64 {
    h.value_at_quantile(quantile) as f64 / 1000.0
}

pub(crate) async fn bounded<T>(what: &str, fut: impl Future<Output = T>) -> Res<T> {
    match tokio::time::timeout(IO_LIMIT, fut).await {
        Ok(value) => Ok(value),
        Err(_) => fail(format!("{what}: no progress for {} s", IO_LIMIT.as_secs())),
    }
}

/// Opens one WebSocket connection to `path` (TCP_NODELAY on).
///
/// The client reads in 8 KiB chunks: tungstenite zero-fills its whole read
/// chunk (128 KiB by default) before every socket read, and the client shares
/// the 2 cores with the server under test, so a lean client leaves the server
/// more of the machine. Same client for every server.
pub(crate) async fn connect(port: u16, path: &str) -> Res<Ws> {
    let url = format!("ws://127.0.0.1:{port}{path}");
    let config = WebSocketConfig::default().read_buffer_size(8 * 1024);
    let (ws, _) = bounded("connect", tokio_tungstenite::connect_async_with_config(url, Some(config), true))
        .await?
        .map_err(|e| format!("connect to {path}: {e}"))?;
    Ok(ws)
}

/// Opens `n` connections, `parallel` handshakes at a time.
pub(crate) async fn connect_many(port: u16, path: &str, n: usize, parallel: usize) -> Res<Vec<Ws>> {
    futures_util::stream::iter(0..n).map(|_| connect(port, path)).buffer_unordered(parallel).try_collect().await
}

/// The next data message, skipping control frames.
pub(crate) async fn next_data(ws: &mut Ws) -> Res<Message> {
    loop {
        match bounded("read", ws.next()).await? {
            Some(Ok(m @ (Message::Text(_) | Message::Binary(_)))) => return Ok(m),
            Some(Ok(Message::Close(frame))) => return fail(format!("the server closed the connection: {frame:?}")),
            Some(Ok(_)) => {}
            Some(Err(e)) => return fail(format!("read error: {e}")),
            None => return fail("the server closed the connection"),
        }
    }
}

/// Closes with a close handshake, waiting (bounded) for the server's answer.
pub(crate) async fn close(mut ws: Ws) {
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        if ws.close(None).await.is_ok() {
            while let Some(Ok(_)) = ws.next().await {}
        }
    })
    .await;
}

pub(crate) async fn join_all<T>(tasks: Vec<JoinHandle<Res<T>>>) -> Res<Vec<T>> {
    let mut out = Vec::with_capacity(tasks.len());
    let mut first_error = None;
    for task in tasks {
        match task.await {
            Ok(Ok(value)) => out.push(value),
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(e) => {
                first_error.get_or_insert(format!("task failed: {e}").into());
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// A message of `size` bytes (at least 16) carrying a sequence number and a
/// send timestamp; the rest is a pattern derived from the sequence number.
fn stamped(seq: u64, size: usize) -> Bytes {
    let mut payload = vec![0u8; size.max(16)];
    payload[..8].copy_from_slice(&seq.to_le_bytes());
    payload[8..16].copy_from_slice(&now_ns().to_le_bytes());
    for (i, b) in payload[16..].iter_mut().enumerate() {
        *b = (seq as u8).wrapping_add(i as u8);
    }
    Bytes::from(payload)
}

pub(crate) fn field(payload: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&payload[at..at + 8]);
    u64::from_le_bytes(word)
}

/// Parameters of the timed scenarios.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    /// Traffic before measuring starts.
    pub(crate) warmup: Duration,
    /// Measured time.
    pub(crate) measure: Duration,
}

/// Server CPU time per echoed message (echo: per round trip).
pub(crate) const CPU_PER_MSG: &str = "server CPU µs/msg";
/// Server CPU time per delivery (fan-out).
pub(crate) const CPU_PER_DELIVERY: &str = "server CPU µs/delivery";
/// The user-space part of it (the rest is the kernel's, loopback's receiving side included).
pub(crate) const USER_CPU_PER_DELIVERY: &str = "server user CPU µs/delivery";
/// Server CPU time per handshake (upgrade and close handshake).
pub(crate) const CPU_PER_HANDSHAKE: &str = "server CPU µs/handshake";

/// Reads the watched servers' CPU time at `start` and at `end`, from a
/// task that waits for each instant: the CPU time (µs) of the measured
/// window, `None` when no process is watched.
fn cpu_window(watch: &Watch, start: Instant, end: Instant) -> JoinHandle<Res<Option<u64>>> {
    let watch = watch.clone();
    tokio::spawn(async move {
        tokio::time::sleep_until(start.into()).await;
        let Some(begin) = watch.cpu_now()? else { return Ok(None) };
        tokio::time::sleep_until(end.into()).await;
        Ok(watch.cpu_now()?.map(|end| end.saturating_sub(begin)))
    })
}

/// `key` = CPU µs ÷ `count`, appended when the CPU time was read.
fn push_cpu(figures: &mut Vec<Figure>, key: &'static str, cpu: Option<u64>, count: u64) {
    if let Some(micros) = cpu {
        figures.push(lower(key, micros as f64 / count.max(1) as f64));
    }
}

/// Echo request/response: `conns` connections each send a `size`-byte binary
/// message and wait for its echo before sending the next.
pub(crate) async fn echo(port: u16, conns: usize, size: usize, timing: Timing, watch: &Watch) -> Res<Vec<Figure>> {
    let sockets = connect_many(port, "/echo", conns, 64).await?;
    let start = Instant::now() + timing.warmup;
    let end = start + timing.measure;
    let cpu = cpu_window(watch, start, end);
    let tasks = sockets.into_iter().map(|ws| tokio::spawn(echo_conn(ws, size, start, end))).collect();
    let mut count = 0;
    let mut hist = histogram();
    for (n, h) in join_all(tasks).await? {
        count += n;
        hist.add(&h).map_err(|e| format!("histogram: {e}"))?;
    }
    let secs = timing.measure.as_secs_f64();
    let mut figures = vec![
        higher("msgs/s", count as f64 / secs),
        lower("p50 µs", micros(&hist, 0.5)),
        lower("p99 µs", micros(&hist, 0.99)),
        lower("p99.9 µs", micros(&hist, 0.999)),
    ];
    push_cpu(&mut figures, CPU_PER_MSG, cpu.await??, count);
    Ok(figures)
}

async fn echo_conn(mut ws: Ws, size: usize, start: Instant, end: Instant) -> Res<(u64, Histogram<u64>)> {
    let mut hist = histogram();
    let mut count = 0;
    for seq in 0.. {
        let sent_at = Instant::now();
        if sent_at >= end {
            break;
        }
        let sent = stamped(seq, size);
        bounded("send", ws.send(Message::Binary(sent.clone()))).await??;
        let reply = next_data(&mut ws).await?;
        let took = sent_at.elapsed();
        match reply {
            Message::Binary(got) if got == sent => {}
            other => return fail(format!("echo mismatch: sent {} binary bytes, got {:?}", sent.len(), brief(&other))),
        }
        if sent_at >= start {
            count += 1;
            hist.saturating_record(took.as_nanos() as u64);
        }
    }
    close(ws).await;
    Ok((count, hist))
}

pub(crate) fn brief(m: &Message) -> String {
    match m {
        Message::Text(t) => format!("text of {} bytes", t.len()),
        Message::Binary(b) => format!("binary of {} bytes", b.len()),
        other => format!("{other:?}"),
    }
}

/// Pipelined echo: `conns` connections each keep `depth` messages in flight.
pub(crate) async fn pipelined(
    port: u16,
    (conns, size, depth): (usize, usize, usize),
    timing: Timing,
    watch: &Watch,
) -> Res<Vec<Figure>> {
    let sockets = connect_many(port, "/echo", conns, 64).await?;
    let start = Instant::now() + timing.warmup;
    let end = start + timing.measure;
    let cpu = cpu_window(watch, start, end);
    let tasks = sockets.into_iter().map(|ws| tokio::spawn(pipelined_conn(ws, size, depth, start, end))).collect();
    let mut count = 0;
    let mut hist = histogram();
    for (n, h) in join_all(tasks).await? {
        count += n;
        hist.add(&h).map_err(|e| format!("histogram: {e}"))?;
    }
    let mut figures = vec![
        higher("msgs/s", count as f64 / timing.measure.as_secs_f64()),
        lower("p50 µs", micros(&hist, 0.5)),
        lower("p99 µs", micros(&hist, 0.99)),
    ];
    push_cpu(&mut figures, CPU_PER_MSG, cpu.await??, count);
    Ok(figures)
}

/// What a pipelined connection checked and measured so far.
struct PipeState {
    size: usize,
    expected: u64,
    count: u64,
    hist: Histogram<u64>,
    start: Instant,
    end: Instant,
}

impl PipeState {
    /// Checks one echo: binary, the right size, the next sequence number.
    fn check(&mut self, m: Message) -> Res<()> {
        let Message::Binary(got) = m else {
            return fail(format!("pipelined echo: expected binary, got {}", brief(&m)));
        };
        if got.len() != self.size.max(16) || field(&got, 0) != self.expected {
            return fail(format!(
                "pipelined echo: expected seq {}, got {} bytes with seq {}",
                self.expected,
                got.len(),
                field(&got, 0)
            ));
        }
        self.expected += 1;
        let now = Instant::now();
        if now >= self.start && now < self.end {
            self.count += 1;
            self.hist.saturating_record(now_ns().saturating_sub(field(&got, 8)));
        }
        Ok(())
    }
}

async fn pipelined_conn(
    mut ws: Ws,
    size: usize,
    depth: usize,
    start: Instant,
    end: Instant,
) -> Res<(u64, Histogram<u64>)> {
    let mut state = PipeState { size, expected: 0, count: 0, hist: histogram(), start, end };
    let mut next = 0u64;
    for _ in 0..depth {
        bounded("send", ws.feed(Message::Binary(stamped(next, size)))).await??;
        next += 1;
    }
    bounded("flush", ws.flush()).await??;
    loop {
        state.check(next_data(&mut ws).await?)?;
        // Take every echo already here, then refill the window in one flush.
        let mut done = 1;
        while done < depth {
            match ws.next().now_or_never() {
                Some(Some(Ok(m @ (Message::Binary(_) | Message::Text(_))))) => state.check(m)?,
                Some(Some(Ok(_))) => continue,
                Some(Some(Err(e))) => return fail(format!("read error: {e}")),
                Some(None) => return fail("the server closed the connection"),
                None => break,
            }
            done += 1;
        }
        if Instant::now() >= end {
            break;
        }
        for _ in 0..done {
            bounded("send", ws.feed(Message::Binary(stamped(next, size)))).await??;
            next += 1;
        }
        bounded("flush", ws.flush()).await??;
    }
    // Every message sent must come back, in order, exactly once.
    while state.expected < next {
        state.check(next_data(&mut ws).await?)?;
    }
    close(ws).await;
    Ok((state.count, state.hist))
}

/// Connection rate: `workers` loops each open a connection to `/echo`
/// (complete upgrade), close it with a close handshake, and start over.
pub(crate) async fn connrate(port: u16, workers: usize, measure: Duration, watch: &Watch) -> Res<Vec<Figure>> {
    let cpu_before = watch.cpu_now()?;
    let started = Instant::now();
    let end = started + measure;
    let total = Arc::new(AtomicU64::new(0));
    let tasks = (0..workers)
        .map(|_| {
            let total = total.clone();
            tokio::spawn(async move {
                let mut hist = histogram();
                while Instant::now() < end {
                    let t = Instant::now();
                    let ws = connect(port, "/echo").await?;
                    hist.saturating_record(t.elapsed().as_nanos() as u64);
                    close(ws).await;
                    total.fetch_add(1, Ordering::Relaxed);
                }
                Ok(hist)
            })
        })
        .collect();
    let mut hist = histogram();
    for h in join_all(tasks).await? {
        hist.add(&h).map_err(|e| format!("histogram: {e}"))?;
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu = match (cpu_before, watch.cpu_now()?) {
        (Some(before), Some(after)) => Some(after.saturating_sub(before)),
        _ => None,
    };
    let total = total.load(Ordering::Relaxed);
    let mut figures = vec![higher("handshakes/s", total as f64 / secs), lower("connect p99 µs", micros(&hist, 0.99))];
    push_cpu(&mut figures, CPU_PER_HANDSHAKE, cpu, total);
    Ok(figures)
}

/// Idle memory: the server's RSS growth over `conns` open, idle connections
/// to `/echo`, per connection (`pause`: wait before each reading).
pub(crate) async fn idle_memory(port: u16, pid: u32, conns: usize, pause: Duration) -> Res<Vec<Figure>> {
    // One round trip first, so that lazily initialised state is in the baseline.
    let mut ws = connect(port, "/echo").await?;
    bounded("send", ws.send(Message::text("warm"))).await??;
    next_data(&mut ws).await?;
    close(ws).await;
    tokio::time::sleep(pause / 4).await;
    let before = settled_rss(pid).await?;
    let sockets = connect_many(port, "/echo", conns, 128).await?;
    tokio::time::sleep(pause / 4).await;
    let after = settled_rss(pid).await?;
    drop(sockets);
    let per_conn = after.saturating_sub(before) as f64 / conns as f64;
    Ok(vec![lower("KiB/conn", per_conn), lower("RSS MiB", after as f64 / 1024.0)])
}

/// RSS once two readings 50 ms apart differ by less than 0.5% (at most 3 s).
async fn settled_rss(pid: u32) -> Res<u64> {
    let mut last = rss_kib(pid)?;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = rss_kib(pid)?;
        if now.abs_diff(last) * 200 < last.max(1) {
            return Ok(now);
        }
        last = now;
    }
    Ok(last)
}
