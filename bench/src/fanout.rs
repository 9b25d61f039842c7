//! The fan-out scenarios: one publisher and N subscribers on a room, the
//! publisher sending as fast as the slowest subscriber allows (burst) or
//! at a fixed rate (paced); every delivery is checked.
//!
//! Figures: deliveries/s, publisher send → subscriber receive latency,
//! server CPU time per delivery and the server's peak RSS (when the bench
//! knows its process).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;

use crate::load::{
    bounded, brief, close, connect, connect_many, field, higher, histogram, join_all, lower, micros, next_data, now_ns,
    Figure, Timing, Ws, CPU_PER_DELIVERY, IO_LIMIT, USER_CPU_PER_DELIVERY,
};
use crate::procfs::{peak_rss_kib, Watch};
use crate::{fail, Res};

// Broadcast payload kinds (first byte of a data message).
const DATA: u8 = 1;
/// Size of a broadcast data message.
const FANOUT_SIZE: usize = 64;
/// The publisher waits for every subscriber to finish a bucket of `window / 2`
/// messages before it runs two buckets ahead of it.
const RING: usize = 64;

/// The shape of a fan-out run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fanout {
    /// Subscribers.
    pub(crate) subs: usize,
    /// How far (in messages) the publisher may run ahead of the slowest
    /// subscriber.
    pub(crate) window: usize,
    /// `None`: burst, as fast as the window allows, every message counted.
    /// `Some(r)`: `r` messages a second; the messages of the warm-up are
    /// delivered and checked but not counted in the figures.
    pub(crate) rate: Option<u32>,
}

/// Shared state of a broadcast run.
struct Fan {
    subs: usize,
    bucket: u64,
    /// The first sequence number the figures count.
    measure_from: u64,
    ready: AtomicUsize,
    /// For bucket `b`, at `b % RING`: how many subscribers completed it.
    completed: Vec<AtomicUsize>,
    failed: AtomicBool,
    /// The first subscriber's error, set before `failed`.
    failure: std::sync::Mutex<Option<String>>,
    wake: Notify,
    /// Subscribers that got the end marker.
    finished: AtomicUsize,
    /// The servers' CPU time (µs, plus one) when the last subscriber got the
    /// end marker; 0 until then or when not watched.
    cpu_end: AtomicU64,
    /// The same for user CPU time alone.
    user_end: AtomicU64,
    watch: Watch,
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

    /// A subscriber got the end marker: the last one reads the servers' CPU
    /// time, so that the closes that follow are not counted.
    fn finish(&self) -> Res<()> {
        if self.finished.fetch_add(1, Ordering::AcqRel) + 1 == self.subs {
            if let Some((user, system)) = self.watch.cpu_split_now()? {
                self.cpu_end.store(user + system + 1, Ordering::Release);
                self.user_end.store(user + 1, Ordering::Release);
            }
        }
        Ok(())
    }
}

/// What one subscriber saw.
struct SubOut {
    latency: Histogram<u64>,
    finished_ns: u64,
}

/// Where the counted part of a run began.
struct Start {
    /// `now_ns()` when the first counted message was sent.
    at_ns: u64,
    /// The servers' CPU time then, in µs.
    cpu: Option<u64>,
    /// Their user CPU time then, in µs.
    user: Option<u64>,
}

/// Broadcast fan-out: `shape.subs` subscribers on `port`, one publisher on
/// `publish_port` (another instance sharing a backplane, or `port` itself),
/// all on `room`. The publisher sends 64-byte binary messages (sequence
/// number, timestamp, pattern), at most about `shape.window` messages
/// ahead of the slowest subscriber. Every subscriber checks every
/// delivery: in order, none missing, none duplicated, bytes and frame kind
/// unchanged; and the publisher checks it never gets its own messages back.
pub(crate) async fn broadcast(
    (port, publish_port): (u16, u16),
    room: &str,
    shape: Fanout,
    timing: Timing,
    watch: &Watch,
) -> Res<Vec<Figure>> {
    let subs = shape.subs;
    let subscribers = connect_many(port, room, subs, 64).await?;
    let publisher = connect(publish_port, room).await?;
    let measure_from = shape.rate.map_or(0, |rate| (timing.warmup.as_secs_f64() * f64::from(rate)).ceil() as u64);
    let fan = Arc::new(Fan {
        subs,
        bucket: (shape.window as u64 / 2).max(1),
        measure_from,
        ready: AtomicUsize::new(0),
        completed: (0..RING).map(|_| AtomicUsize::new(0)).collect(),
        failed: AtomicBool::new(false),
        failure: std::sync::Mutex::new(None),
        wake: Notify::new(),
        finished: AtomicUsize::new(0),
        cpu_end: AtomicU64::new(0),
        user_end: AtomicU64::new(0),
        watch: watch.clone(),
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

    let result = publish(&fan, &mut sink, shape.rate, timing).await;
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
    let (start, sent) = result?;
    echo_check.abort();
    if let Ok(Ok(Err(e))) = tokio::time::timeout(Duration::from_millis(1), echo_check).await {
        return Err(e);
    }
    let _ = sink.close().await;
    figures(&fan, &outs, start, sent)
}

/// deliveries/s, latency, and when watched CPU per delivery and peak RSS.
fn figures(fan: &Fan, outs: &[SubOut], start: Start, sent: u64) -> Res<Vec<Figure>> {
    let counted = sent.saturating_sub(fan.measure_from);
    if counted == 0 {
        return fail("no message was sent after the warm-up");
    }
    let mut latency = histogram();
    let mut finished = start.at_ns;
    for out in outs {
        latency.add(&out.latency).map_err(|e| format!("histogram: {e}"))?;
        finished = finished.max(out.finished_ns);
    }
    let deliveries = counted as f64 * fan.subs as f64;
    let secs = (finished - start.at_ns) as f64 / 1e9;
    let mut figures = vec![
        higher("deliveries/s", deliveries / secs),
        lower("p50 µs", micros(&latency, 0.5)),
        lower("p99 µs", micros(&latency, 0.99)),
    ];
    let cpu_end = fan.cpu_end.load(Ordering::Acquire).checked_sub(1);
    if let (Some(begin), Some(end)) = (start.cpu, cpu_end) {
        figures.push(lower(CPU_PER_DELIVERY, end.saturating_sub(begin) as f64 / deliveries));
    }
    let user_end = fan.user_end.load(Ordering::Acquire).checked_sub(1);
    if let (Some(begin), Some(end)) = (start.user, user_end) {
        figures.push(lower(USER_CPU_PER_DELIVERY, end.saturating_sub(begin) as f64 / deliveries));
    }
    if let Some(pid) = fan.watch.rss {
        figures.push(lower("peak RSS MiB", peak_rss_kib(pid)? as f64 / 1024.0));
    }
    Ok(figures)
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
/// warm-up and measured time (`rate` messages a second, or as fast as the
/// window allows); returns where the counted part began and the messages
/// sent.
async fn publish(fan: &Fan, sink: &mut PubSink, rate: Option<u32>, timing: Timing) -> Res<(Start, u64)> {
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

    // The interval's first tick is immediate; a late tick is caught up, so
    // the count matches the rate.
    let mut pace = rate.map(|r| tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(r.max(1)))));
    let end = Instant::now() + timing.warmup + timing.measure;
    let mut start = Start { at_ns: now_ns(), cpu: None, user: None };
    let mut seq = 0u64;
    while Instant::now() < end {
        if let Some(pace) = &mut pace {
            pace.tick().await;
        }
        if seq % fan.bucket == 0 {
            let bucket = seq / fan.bucket;
            if bucket >= 2 {
                wait_bucket(fan, bucket - 2).await?;
            }
            fan.completed[bucket as usize % RING].store(0, Ordering::Release);
        }
        if seq == fan.measure_from {
            let cpu = fan.watch.cpu_split_now()?;
            start = Start { cpu: cpu.map(|(u, s)| u + s), user: cpu.map(|(u, _)| u), at_ns: now_ns() };
        }
        bounded("send", sink.send(Message::Binary(fanout_payload(seq)))).await??;
        seq += 1;
    }
    bounded("send", sink.send(Message::text(format!("end:{seq}")))).await??;
    Ok((start, seq))
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
                fan.finish()?;
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
        if seq >= fan.measure_from {
            latency.saturating_record(now_ns().saturating_sub(field(&payload, 8)));
        }
        expected += 1;
        if expected % fan.bucket == 0 {
            let slot = &fan.completed[(expected / fan.bucket - 1) as usize % RING];
            if slot.fetch_add(1, Ordering::AcqRel) + 1 == fan.subs {
                fan.wake.notify_one();
            }
        }
    }
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
        let shape = Fanout { subs: 10, window: 16, rate: None };
        let watch = Watch::default();
        let run = broadcast((port, port), "/room", shape, timing, &watch);
        let result = tokio::time::timeout(Duration::from_secs(30), run).await.expect("the broadcast scenario finishes");
        server.abort();
        result
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_correct_room_passes() {
        let figures = room_with(Fault::None).await.expect("a correct room passes");
        assert_eq!(figures[0].key, "deliveries/s");
        assert!(figures[0].value > 0.0);
    }

    /// Paced: the warm-up's messages are not counted, so deliveries/s is
    /// the rate times the subscribers; the watched process (this one, the
    /// room runs in it) gets a CPU time per delivery and a peak RSS.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_paced_room_delivers_at_its_rate() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("local addr").port();
        let server = tokio::spawn(serve_baseline_on(listener, None, Fault::None));
        let timing = Timing { warmup: Duration::from_millis(200), measure: Duration::from_millis(1000) };
        let shape = Fanout { subs: 10, window: 16, rate: Some(50) };
        let watch = Watch::one(Some(std::process::id()));
        let run = broadcast((port, port), "/room", shape, timing, &watch);
        let figures = tokio::time::timeout(Duration::from_secs(30), run).await.expect("finishes").expect("passes");
        server.abort();
        let value = |key: &str| figures.iter().find(|f| f.key == key).map(|f| f.value);
        let rate = value("deliveries/s").expect("deliveries/s");
        assert!((350.0..=650.0).contains(&rate), "50 msg/s to 10 subscribers, got {rate} deliveries/s");
        assert!(value(CPU_PER_DELIVERY).is_some_and(|v| v > 0.0), "{figures:?}");
        assert!(value("peak RSS MiB").is_some_and(|v| v > 0.0), "{figures:?}");
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
