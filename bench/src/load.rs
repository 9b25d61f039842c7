//! The load generator: one function per scenario, each driving a server on
//! 127.0.0.1 with tokio-tungstenite clients and returning its figures.
//!
//! Every network wait is bounded ([`IO_LIMIT`]): a server that stops
//! answering fails the run instead of hanging it.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{FutureExt, SinkExt, StreamExt, TryStreamExt};
use hdrhistogram::Histogram;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::{fail, Res};

pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Longest wait for any single network step.
const IO_LIMIT: Duration = Duration::from_secs(10);

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

fn higher(key: &'static str, value: f64) -> Figure {
    Figure { key, value, better: Better::Higher }
}

fn lower(key: &'static str, value: f64) -> Figure {
    Figure { key, value, better: Better::Lower }
}

/// Nanoseconds since the first call (one clock for every task of the bench
/// process, so a timestamp written by the publisher is read by subscribers).
fn now_ns() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

fn histogram() -> Histogram<u64> {
    // 1 ns .. 100 s at 3 significant digits; the bounds are constants.
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("valid histogram bounds")
}

fn micros(h: &Histogram<u64>, quantile: f64) -> f64 {
    h.value_at_quantile(quantile) as f64 / 1000.0
}

async fn bounded<T>(what: &str, fut: impl Future<Output = T>) -> Res<T> {
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
async fn connect_many(port: u16, path: &str, n: usize, parallel: usize) -> Res<Vec<Ws>> {
    futures_util::stream::iter(0..n).map(|_| connect(port, path)).buffer_unordered(parallel).try_collect().await
}

/// The next data message, skipping control frames.
async fn next_data(ws: &mut Ws) -> Res<Message> {
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
async fn close(mut ws: Ws) {
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        if ws.close(None).await.is_ok() {
            while let Some(Ok(_)) = ws.next().await {}
        }
    })
    .await;
}

async fn join_all<T>(tasks: Vec<JoinHandle<Res<T>>>) -> Res<Vec<T>> {
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

fn field(payload: &[u8], at: usize) -> u64 {
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

/// Echo request/response: `conns` connections each send a `size`-byte binary
/// message and wait for its echo before sending the next.
pub(crate) async fn echo(port: u16, conns: usize, size: usize, timing: Timing) -> Res<Vec<Figure>> {
    let sockets = connect_many(port, "/echo", conns, 64).await?;
    let start = Instant::now() + timing.warmup;
    let end = start + timing.measure;
    let tasks = sockets.into_iter().map(|ws| tokio::spawn(echo_conn(ws, size, start, end))).collect();
    let mut count = 0;
    let mut hist = histogram();
    for (n, h) in join_all(tasks).await? {
        count += n;
        hist.add(&h).map_err(|e| format!("histogram: {e}"))?;
    }
    let secs = timing.measure.as_secs_f64();
    Ok(vec![
        higher("msgs/s", count as f64 / secs),
        lower("p50 µs", micros(&hist, 0.5)),
        lower("p99 µs", micros(&hist, 0.99)),
        lower("p99.9 µs", micros(&hist, 0.999)),
    ])
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

fn brief(m: &Message) -> String {
    match m {
        Message::Text(t) => format!("text of {} bytes", t.len()),
        Message::Binary(b) => format!("binary of {} bytes", b.len()),
        other => format!("{other:?}"),
    }
}

/// Pipelined echo: `conns` connections each keep `depth` messages in flight.
pub(crate) async fn pipelined(port: u16, conns: usize, size: usize, depth: usize, timing: Timing) -> Res<Vec<Figure>> {
    let sockets = connect_many(port, "/echo", conns, 64).await?;
    let start = Instant::now() + timing.warmup;
    let end = start + timing.measure;
    let tasks = sockets.into_iter().map(|ws| tokio::spawn(pipelined_conn(ws, size, depth, start, end))).collect();
    let mut count = 0;
    let mut hist = histogram();
    for (n, h) in join_all(tasks).await? {
        count += n;
        hist.add(&h).map_err(|e| format!("histogram: {e}"))?;
    }
    Ok(vec![
        higher("msgs/s", count as f64 / timing.measure.as_secs_f64()),
        lower("p50 µs", micros(&hist, 0.5)),
        lower("p99 µs", micros(&hist, 0.99)),
    ])
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

// Broadcast payload kinds (first byte of a data message).
const DATA: u8 = 1;
/// Size of a broadcast data message.
const FANOUT_SIZE: usize = 64;
/// The publisher waits for every subscriber to finish a bucket of `window / 2`
/// messages before it runs two buckets ahead of it.
const RING: usize = 64;

/// Shared state of a broadcast run.
struct Fan {
    subs: usize,
    bucket: u64,
    ready: AtomicUsize,
    /// For bucket `b`, at `b % RING`: how many subscribers completed it.
    completed: Vec<AtomicUsize>,
    failed: AtomicBool,
    /// The first subscriber's error, set before `failed`.
    failure: std::sync::Mutex<Option<String>>,
    wake: Notify,
}

impl Fan {
    /// Records a subscriber's failure and wakes the publisher.
    fn fail(&self, error: String) {
        self.failure.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get_or_insert(error);
        self.failed.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    /// The recorded failure as an error, when there is one.
    fn check(&self) -> Res<()> {
        if !self.failed.load(Ordering::Acquire) {
            return Ok(());
        }
        let failure = self.failure.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        fail(failure.unwrap_or_else(|| "a subscriber failed".to_owned()))
    }
}

/// What one subscriber saw.
struct SubOut {
    latency: Histogram<u64>,
    finished_ns: u64,
}

/// Broadcast fan-out: `subs` subscribers and one publisher on `/room`. The
/// publisher sends 64-byte binary messages (sequence number, timestamp,
/// pattern) and keeps at most about `window` messages ahead of the slowest
/// subscriber. Every subscriber checks every delivery: in order, none
/// missing, none duplicated, bytes and frame kind unchanged; and the
/// publisher checks it never gets its own messages back.
/// Fan-out: `subs` subscribers on `port`, one publisher on `publish_port`
/// (another instance sharing a backplane, or `port` itself).
pub(crate) async fn broadcast(
    port: u16,
    publish_port: u16,
    room: &str,
    subs: usize,
    window: usize,
    timing: Timing,
) -> Res<Vec<Figure>> {
    let subscribers = connect_many(port, room, subs, 64).await?;
    let publisher = connect(publish_port, room).await?;
    let fan = Arc::new(Fan {
        subs,
        bucket: (window as u64 / 2).max(1),
        ready: AtomicUsize::new(0),
        completed: (0..RING).map(|_| AtomicUsize::new(0)).collect(),
        failed: AtomicBool::new(false),
        failure: std::sync::Mutex::new(None),
        wake: Notify::new(),
    });
    let tasks: Vec<_> = subscribers
        .into_iter()
        .enumerate()
        .map(|(i, ws)| {
            let fan = fan.clone();
            tokio::spawn(async move {
                let out = subscriber(ws, &fan, i).await;
                if let Err(e) = &out {
                    fan.fail(e.to_string());
                }
                out
            })
        })
        .collect();

    let (mut sink, mut stream) = publisher.split();
    // The sender is excluded: anything but control frames coming back is a bug.
    let echo_check = tokio::spawn(async move {
        while let Some(frame) = stream.next().await {
            match frame {
                Ok(Message::Text(_) | Message::Binary(_)) => {
                    return fail::<()>("the publisher received its own broadcast (exclude_sender broken)")
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        Ok(())
    });

    let result = publish(&fan, &mut sink, timing).await;
    let outs = match result {
        Ok(_) => bounded("subscribers finishing", join_all(tasks)).await??,
        Err(e) => {
            for task in tasks {
                task.abort();
            }
            echo_check.abort();
            return Err(e);
        }
    };
    let (t0, sent) = result?;
    echo_check.abort();
    if let Ok(Ok(Err(e))) = tokio::time::timeout(Duration::from_millis(1), echo_check).await {
        return Err(e);
    }
    let _ = sink.close().await;

    let mut latency = histogram();
    let mut finished = t0;
    for out in &outs {
        latency.add(&out.latency).map_err(|e| format!("histogram: {e}"))?;
        finished = finished.max(out.finished_ns);
    }
    let deliveries = sent as f64 * subs as f64;
    let secs = (finished - t0) as f64 / 1e9;
    Ok(vec![
        higher("deliveries/s", deliveries / secs),
        lower("p50 µs", micros(&latency, 0.5)),
        lower("p99 µs", micros(&latency, 0.99)),
    ])
}

/// A broadcast data message: kind byte, 7-byte sequence number, send
/// timestamp, then a pattern derived from the sequence number (64 bytes).
fn fanout_payload(seq: u64) -> Bytes {
    let mut payload = [0u8; FANOUT_SIZE];
    payload[0] = DATA;
    payload[1..8].copy_from_slice(&seq.to_le_bytes()[..7]);
    payload[8..16].copy_from_slice(&now_ns().to_le_bytes());
    for (i, b) in payload[16..].iter_mut().enumerate() {
        *b = (seq as u8).wrapping_add(i as u8);
    }
    Bytes::copy_from_slice(&payload)
}

type PubSink = futures_util::stream::SplitSink<Ws, Message>;

/// Probes until every subscriber is in the room, then publishes for the
/// warm-up and measured time; returns the start timestamp and messages sent.
async fn publish(fan: &Fan, sink: &mut PubSink, timing: Timing) -> Res<(u64, u64)> {
    // Membership is registered by the server after the handshake: probe until
    // every subscriber got one, so that all of them receive sequence 0 on.
    let deadline = Instant::now() + IO_LIMIT;
    while fan.ready.load(Ordering::Acquire) < fan.subs {
        fan.check()?;
        if Instant::now() > deadline {
            return fail(format!(
                "only {} of {} subscribers got a probe within {} s",
                fan.ready.load(Ordering::Acquire),
                fan.subs,
                IO_LIMIT.as_secs()
            ));
        }
        bounded("send", sink.send(Message::text("probe"))).await??;
        let _ = tokio::time::timeout(Duration::from_millis(20), fan.wake.notified()).await;
    }

    let t0 = now_ns();
    let end = Instant::now() + timing.warmup + timing.measure;
    let mut seq = 0u64;
    while Instant::now() < end {
        if seq % fan.bucket == 0 {
            let bucket = seq / fan.bucket;
            if bucket >= 2 {
                wait_bucket(fan, bucket - 2).await?;
            }
            fan.completed[bucket as usize % RING].store(0, Ordering::Release);
        }
        bounded("send", sink.send(Message::Binary(fanout_payload(seq)))).await??;
        seq += 1;
    }
    bounded("send", sink.send(Message::text(format!("end:{seq}")))).await??;
    Ok((t0, seq))
}

async fn wait_bucket(fan: &Fan, bucket: u64) -> Res<()> {
    let slot = &fan.completed[bucket as usize % RING];
    loop {
        let woken = fan.wake.notified();
        if slot.load(Ordering::Acquire) >= fan.subs {
            return Ok(());
        }
        fan.check()?;
        if tokio::time::timeout(IO_LIMIT, woken).await.is_err() {
            return fail(format!(
                "broadcast stalled: {} of {} subscribers completed bucket {bucket} within {} s",
                slot.load(Ordering::Acquire),
                fan.subs,
                IO_LIMIT.as_secs()
            ));
        }
    }
}

async fn subscriber(mut ws: Ws, fan: &Fan, index: usize) -> Res<SubOut> {
    let mut latency = histogram();
    let mut probed = false;
    let mut expected = 0u64;
    loop {
        let message = next_data(&mut ws).await.map_err(|e| format!("subscriber {index}: {e}"))?;
        let payload = match message {
            Message::Text(text) if text.as_str() == "probe" => {
                if !probed {
                    probed = true;
                    if fan.ready.fetch_add(1, Ordering::AcqRel) + 1 == fan.subs {
                        fan.wake.notify_one();
                    }
                }
                continue;
            }
            Message::Text(text) => {
                let Some(total) = text.as_str().strip_prefix("end:").and_then(|n| n.parse::<u64>().ok()) else {
                    return fail(format!("subscriber {index}: unexpected text {:?}", text.as_str()));
                };
                if expected != total {
                    return fail(format!(
                        "subscriber {index}: MISSING deliveries: got {expected} of {total} messages before the end marker"
                    ));
                }
                let finished_ns = now_ns();
                close(ws).await;
                return Ok(SubOut { latency, finished_ns });
            }
            Message::Binary(payload) => payload,
            other => return fail(format!("subscriber {index}: unexpected {}", brief(&other))),
        };
        if payload.len() != FANOUT_SIZE || payload[0] != DATA {
            return fail(format!("subscriber {index}: corrupted delivery of {} bytes", payload.len()));
        }
        let mut word = [0u8; 8];
        word[..7].copy_from_slice(&payload[1..8]);
        let seq = u64::from_le_bytes(word);
        if seq != expected {
            let what = if seq < expected { "DUPLICATE or reordered" } else { "MISSING" };
            return fail(format!("subscriber {index}: {what} delivery: got seq {seq}, expected {expected}"));
        }
        let pattern_ok = payload[16..].iter().enumerate().all(|(i, b)| *b == (seq as u8).wrapping_add(i as u8));
        if !pattern_ok {
            return fail(format!("subscriber {index}: payload of seq {seq} altered"));
        }
        latency.saturating_record(now_ns().saturating_sub(field(&payload, 8)));
        expected += 1;
        if expected % fan.bucket == 0 {
            let slot = &fan.completed[(expected / fan.bucket - 1) as usize % RING];
            if slot.fetch_add(1, Ordering::AcqRel) + 1 == fan.subs {
                fan.wake.notify_one();
            }
        }
    }
}

/// Connection rate: `workers` loops each open a connection to `/echo`
/// (complete upgrade), close it with a close handshake, and start over.
pub(crate) async fn connrate(port: u16, workers: usize, measure: Duration) -> Res<Vec<Figure>> {
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
    Ok(vec![
        higher("handshakes/s", total.load(Ordering::Relaxed) as f64 / secs),
        lower("connect p99 µs", micros(&hist, 0.99)),
    ])
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
    let mut last = crate::servers::rss_kib(pid)?;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = crate::servers::rss_kib(pid)?;
        if now.abs_diff(last) * 200 < last.max(1) {
            return Ok(now);
        }
        last = now;
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    //! The delivery checks must catch a broken room: run the broadcast
    //! scenario against the baseline room with each injected bug.

    use super::*;
    use crate::peers::{serve_baseline_on, Fault};

    async fn room_with(fault: Fault) -> Res<Vec<Figure>> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("local addr").port();
        let server = tokio::spawn(serve_baseline_on(listener, None, fault));
        let timing = Timing { warmup: Duration::ZERO, measure: Duration::from_millis(300) };
        let result = tokio::time::timeout(Duration::from_secs(30), broadcast(port, port, "/room", 10, 16, timing))
            .await
            .expect("the broadcast scenario finishes");
        server.abort();
        result
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_correct_room_passes() {
        let figures = room_with(Fault::None).await.expect("a correct room passes");
        assert_eq!(figures[0].key, "deliveries/s");
        assert!(figures[0].value > 0.0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_missing_delivery_fails() {
        let error = room_with(Fault::Drop).await.expect_err("a dropped delivery is caught").to_string();
        assert!(error.contains("MISSING"), "{error}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_duplicate_delivery_fails() {
        let error = room_with(Fault::Duplicate).await.expect_err("a duplicate is caught").to_string();
        assert!(error.contains("DUPLICATE"), "{error}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_message_back_to_its_sender_fails() {
        let error = room_with(Fault::EchoSender).await.expect_err("an echo to the sender is caught").to_string();
        assert!(error.contains("own broadcast"), "{error}");
    }
}
