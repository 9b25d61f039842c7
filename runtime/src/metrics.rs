//! Prometheus metrics, resolved once per route so the hot path never hashes
//! a label or looks up a map: each connection holds an `Arc<RouteMetrics>`
//! of ready counter handles. Message and byte counts and handler durations
//! are added up in the connection's task and added to those shared
//! counters once per read burst or write batch (and when the connection
//! ends), so a scrape may lag a busy connection by one burst.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `wirehub_connections_open` | gauge | route |
//! | `wirehub_connections_opened_total` | counter | route |
//! | `wirehub_connections_closed_total` | counter | route, reason |
//! | `wirehub_handshakes_rejected_total` | counter | route, reason (`not_found` (upgrade requests only), `bad_request`, `upgrade_required`, `auth`, `origin`, `limit`, `no_upgrade` (the server in front cannot hand the connection over: HTTP/2, or hyper without upgrades)); every reason a route can have, and `none`'s `not_found` and `limit` (connections the accept gate refuses), are series at 0 from the start |
//! | `wirehub_messages_received_total` | counter | route, kind (`text`, `binary`, `ping`, `pong`, `close`) |
//! | `wirehub_messages_sent_total` | counter | route, kind |
//! | `wirehub_received_bytes_total` | counter | route |
//! | `wirehub_sent_bytes_total` | counter | route |
//! | `wirehub_handler_errors_total` | counter | route, action (handler `Err`s: `close`, the connection closed; `reply`, the sender got the error body and the connection stayed open) |
//! | `wirehub_handler_panics_total` | counter | route |
//! | `wirehub_handler_duration_seconds` | histogram | route |
//! | `wirehub_broadcast_fanout` | histogram | route (`external` for broadcasts from outside handlers) |
//! | `wirehub_messages_dropped_total` | counter | route, reason (`queue_full`; `closed`: still queued when the connection was dropped) |
//! | `wirehub_rooms_open` | gauge | (none: rooms are shared by routes) |
//! | `wirehub_heartbeat_rtt_seconds` | histogram | route |
//! | `wirehub_outbound_queue_depth` | histogram | route (outbound queue length seen when the writer takes from it: sends from other tasks, broadcasts) |
//!
//! The `route` label is the route *pattern* (`/chat/{room}`), never the
//! concrete path, so cardinality is bounded by the number of routes.
//!
//! To serve these next to your own metrics, give the app your registry
//! ([`App::registry`](crate::App::registry)), a [`prometheus::Registry`] of
//! the `prometheus` crate wirehub re-exports as `wirehub::prometheus`.

use prometheus::local::LocalHistogram;
use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

use crate::connection::CloseReason;
use crate::message::MessageKind;

/// Every close reason label, indexed by [`reason_index`].
pub(crate) const CLOSE_REASONS: [&str; 14] = [
    "normal",
    "heartbeat_timeout",
    "idle_timeout",
    "write_timeout",
    "protocol_error",
    "unsupported_data",
    "slow_consumer",
    "handler_error",
    "panic",
    "shutdown",
    "io_error",
    "rate_limited",
    "auth_expired",
    "fragment_timeout",
];

const KINDS: [MessageKind; 5] =
    [MessageKind::Text, MessageKind::Binary, MessageKind::Ping, MessageKind::Pong, MessageKind::Close];

/// Why a handshake was refused (the `reason` label).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Rejected {
    NotFound,
    BadRequest,
    UpgradeRequired,
    Auth,
    Origin,
    Limit,
    NoUpgrade,
}

impl Rejected {
    /// The reasons a request on a route can be refused for (all but `NotFound`).
    const ON_ROUTES: [Rejected; 5] =
        [Rejected::BadRequest, Rejected::UpgradeRequired, Rejected::Auth, Rejected::Origin, Rejected::Limit];

    const fn as_str(self) -> &'static str {
        match self {
            Rejected::NotFound => "not_found",
            Rejected::BadRequest => "bad_request",
            Rejected::UpgradeRequired => "upgrade_required",
            Rejected::Auth => "auth",
            Rejected::Origin => "origin",
            Rejected::Limit => "limit",
            Rejected::NoUpgrade => "no_upgrade",
        }
    }
}

/// The metric families of one app, registered in its registry.
#[derive(Debug, Clone)]
pub(crate) struct Metrics {
    pub(crate) registry: Registry,
    open: IntGaugeVec,
    opened: IntCounterVec,
    closed: IntCounterVec,
    rejected: IntCounterVec,
    received: IntCounterVec,
    sent: IntCounterVec,
    received_bytes: IntCounterVec,
    sent_bytes: IntCounterVec,
    handler_errors: IntCounterVec,
    handler_panics: IntCounterVec,
    handler_duration: HistogramVec,
    fanout: HistogramVec,
    dropped: IntCounterVec,
    pub(crate) rooms_open: IntGauge,
    rtt: HistogramVec,
    queue_depth: HistogramVec,
}

/// Ready handles for one route.
#[derive(Debug)]
pub(crate) struct RouteMetrics {
    pub(crate) open: IntGauge,
    pub(crate) opened: IntCounter,
    closed: Vec<IntCounter>,
    received: Vec<IntCounter>,
    sent: Vec<IntCounter>,
    pub(crate) received_bytes: IntCounter,
    pub(crate) sent_bytes: IntCounter,
    /// Handler errors that closed the connection (`action="close"`).
    pub(crate) handler_errors: IntCounter,
    /// Handler errors answered to the sender (`action="reply"`).
    pub(crate) handler_errors_replied: IntCounter,
    pub(crate) handler_panics: IntCounter,
    pub(crate) handler_duration: Histogram,
    pub(crate) fanout: Histogram,
    pub(crate) dropped_queue_full: IntCounter,
    /// Queued for a connection that was dropped before they could be written.
    pub(crate) dropped_closed: IntCounter,
    pub(crate) rtt: Histogram,
    pub(crate) queue_depth: Histogram,
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> prometheus::Result<IntCounterVec> {
    let c = IntCounterVec::new(Opts::new(name, help), labels)?;
    registry.register(Box::new(c.clone()))?;
    Ok(c)
}

fn histogram(registry: &Registry, name: &str, help: &str, buckets: Vec<f64>) -> prometheus::Result<HistogramVec> {
    let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), &["route"])?;
    registry.register(Box::new(h.clone()))?;
    Ok(h)
}

impl Metrics {
    /// Creates and registers every family in `registry`.
    pub(crate) fn new(registry: Registry) -> prometheus::Result<Self> {
        let r = &registry;
        let open = IntGaugeVec::new(Opts::new("wirehub_connections_open", "Open WebSocket connections."), &["route"])?;
        r.register(Box::new(open.clone()))?;
        let rooms_open = IntGauge::new("wirehub_rooms_open", "Rooms with at least one member.")?;
        r.register(Box::new(rooms_open.clone()))?;
        let seconds = prometheus::exponential_buckets(0.000_05, 4.0, 10)?; // 50 µs .. 13 s
        let rejected = counter(
            r,
            "wirehub_handshakes_rejected_total",
            "Upgrade requests refused, by reason.",
            &["route", "reason"],
        )?;
        // What is refused before a route is known: unknown paths, and the
        // connections the accept gate turns away.
        for why in [Rejected::NotFound, Rejected::Limit] {
            rejected.get_metric_with_label_values(&["none", why.as_str()])?;
        }
        Ok(Metrics {
            open,
            opened: counter(r, "wirehub_connections_opened_total", "Connections opened.", &["route"])?,
            closed: counter(
                r,
                "wirehub_connections_closed_total",
                "Connections closed, by reason.",
                &["route", "reason"],
            )?,
            rejected,
            received: counter(r, "wirehub_messages_received_total", "Messages received, by kind.", &["route", "kind"])?,
            sent: counter(r, "wirehub_messages_sent_total", "Messages sent, by kind.", &["route", "kind"])?,
            received_bytes: counter(r, "wirehub_received_bytes_total", "Payload bytes received.", &["route"])?,
            sent_bytes: counter(r, "wirehub_sent_bytes_total", "Payload bytes sent.", &["route"])?,
            handler_errors: counter(
                r,
                "wirehub_handler_errors_total",
                "Handler calls that returned Err, by what it did.",
                &["route", "action"],
            )?,
            handler_panics: counter(r, "wirehub_handler_panics_total", "Handler calls that panicked.", &["route"])?,
            handler_duration: histogram(
                r,
                "wirehub_handler_duration_seconds",
                "Time spent in handler calls.",
                seconds.clone(),
            )?,
            fanout: histogram(
                r,
                "wirehub_broadcast_fanout",
                "Members a broadcast was queued for.",
                prometheus::exponential_buckets(1.0, 4.0, 9)?,
            )?,
            dropped: counter(
                r,
                "wirehub_messages_dropped_total",
                "Messages dropped for a member, by reason.",
                &["route", "reason"],
            )?,
            rooms_open,
            rtt: histogram(r, "wirehub_heartbeat_rtt_seconds", "Heartbeat ping round-trip time.", seconds)?,
            queue_depth: histogram(
                r,
                "wirehub_outbound_queue_depth",
                "Outbound queue length seen when the writer takes from it.",
                prometheus::exponential_buckets(1.0, 4.0, 8)?,
            )?,
            registry,
        })
    }

    /// Resolves every handle of one route (label hashing happens here, once).
    pub(crate) fn route(&self, route: &str) -> prometheus::Result<RouteMetrics> {
        let one = |v: &IntCounterVec| v.get_metric_with_label_values(&[route]);
        let each = |v: &IntCounterVec, labels: &[&str]| -> prometheus::Result<Vec<IntCounter>> {
            labels.iter().map(|l| v.get_metric_with_label_values(&[route, l])).collect()
        };
        let kinds: Vec<&str> = KINDS.iter().map(|k| k.as_str()).collect();
        // Every refusal a route can have is a series from the start (0), so
        // a dashboard shows 0, not "no data", until the first one.
        for why in Rejected::ON_ROUTES {
            self.rejected.get_metric_with_label_values(&[route, why.as_str()])?;
        }
        Ok(RouteMetrics {
            open: self.open.get_metric_with_label_values(&[route])?,
            opened: one(&self.opened)?,
            closed: each(&self.closed, &CLOSE_REASONS)?,
            received: each(&self.received, &kinds)?,
            sent: each(&self.sent, &kinds)?,
            received_bytes: one(&self.received_bytes)?,
            sent_bytes: one(&self.sent_bytes)?,
            handler_errors: self.handler_errors.get_metric_with_label_values(&[route, "close"])?,
            handler_errors_replied: self.handler_errors.get_metric_with_label_values(&[route, "reply"])?,
            handler_panics: one(&self.handler_panics)?,
            handler_duration: self.handler_duration.get_metric_with_label_values(&[route])?,
            fanout: self.fanout.get_metric_with_label_values(&[route])?,
            dropped_queue_full: self.dropped.get_metric_with_label_values(&[route, "queue_full"])?,
            dropped_closed: self.dropped.get_metric_with_label_values(&[route, "closed"])?,
            rtt: self.rtt.get_metric_with_label_values(&[route])?,
            queue_depth: self.queue_depth.get_metric_with_label_values(&[route])?,
        })
    }

    /// The fan-out histogram for a label that is not a route (`external`).
    pub(crate) fn fanout_for(&self, label: &str) -> prometheus::Result<Histogram> {
        self.fanout.get_metric_with_label_values(&[label])
    }

    /// Counts a refused handshake (`route` is the pattern, or `none`).
    pub(crate) fn reject(&self, route: &str, why: Rejected) {
        if let Ok(c) = self.rejected.get_metric_with_label_values(&[route, why.as_str()]) {
            c.inc();
        }
    }

    /// The text exposition of the whole registry.
    pub(crate) fn render(&self) -> String {
        prometheus::TextEncoder::new().encode_to_string(&self.registry.gather()).unwrap_or_default()
    }
}

impl RouteMetrics {
    pub(crate) fn closed(&self, reason: &CloseReason) {
        self.closed[reason_index(reason)].inc();
    }

    pub(crate) fn sent(&self, kind: MessageKind, bytes: usize) {
        self.sent[kind as usize].inc();
        self.sent_bytes.inc_by(bytes as u64);
    }
}

/// What a connection's reader counts (received messages and bytes, handler
/// durations), added to the route's metrics when the reader has nothing
/// more to read at once, and when it ends.
#[derive(Debug)]
pub(crate) struct Received<'a> {
    metrics: Option<&'a RouteMetrics>,
    tally: Tally,
    /// Allocated with the first handler call, so idle connections pay nothing.
    durations: Option<Box<LocalHistogram>>,
    pending: bool,
}

impl<'a> Received<'a> {
    pub(crate) fn new(metrics: Option<&'a RouteMetrics>) -> Self {
        Received { metrics, tally: Tally::default(), durations: None, pending: false }
    }

    pub(crate) fn message(&mut self, kind: MessageKind, bytes: usize) {
        if self.metrics.is_some() {
            self.tally.add(kind, bytes);
            self.pending = true;
        }
    }

    pub(crate) fn handler_took(&mut self, took: std::time::Duration) {
        let Some(m) = self.metrics else { return };
        self.durations.get_or_insert_with(|| Box::new(m.handler_duration.local())).observe(took.as_secs_f64());
        self.pending = true;
    }

    /// Whether counts wait to be flushed.
    pub(crate) fn pending(&self) -> bool {
        self.pending
    }

    pub(crate) fn flush(&mut self) {
        self.pending = false;
        let Some(m) = self.metrics else { return };
        self.tally.flush_received(m);
        if let Some(durations) = &self.durations {
            durations.flush();
        }
    }
}

impl Drop for Received<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Message and byte counts of one direction of one connection, added up in
/// the connection's task and added to the route's counters once per batch
/// (a write batch, or a read burst), so the shared counters (contended
/// cache lines when connections run on several threads) are not touched
/// for every message.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    counts: [u32; KINDS.len()],
    bytes: u64,
}

impl Tally {
    pub(crate) fn add(&mut self, kind: MessageKind, bytes: usize) {
        self.counts[kind as usize] += 1;
        self.bytes += bytes as u64;
    }

    /// Adds the counts to the route's received counters and resets them.
    pub(crate) fn flush_received(&mut self, m: &RouteMetrics) {
        Self::flush(&mut self.counts, &mut self.bytes, &m.received, &m.received_bytes);
    }

    /// Adds the counts to the route's sent counters and resets them.
    pub(crate) fn flush_sent(&mut self, m: &RouteMetrics) {
        Self::flush(&mut self.counts, &mut self.bytes, &m.sent, &m.sent_bytes);
    }

    fn flush(counts: &mut [u32; KINDS.len()], bytes: &mut u64, to: &[IntCounter], to_bytes: &IntCounter) {
        for (count, counter) in counts.iter_mut().zip(to) {
            if *count > 0 {
                counter.inc_by(u64::from(std::mem::take(count)));
            }
        }
        if *bytes > 0 {
            to_bytes.inc_by(std::mem::take(bytes));
        }
    }
}

/// The index of a close reason's label in [`CLOSE_REASONS`].
pub(crate) const fn reason_index(reason: &CloseReason) -> usize {
    match reason {
        CloseReason::Peer { .. } | CloseReason::Local { .. } => 0,
        CloseReason::HeartbeatTimeout => 1,
        CloseReason::IdleTimeout => 2,
        CloseReason::WriteTimeout => 3,
        CloseReason::ProtocolError { .. } => 4,
        CloseReason::UnsupportedData => 5,
        CloseReason::SlowConsumer => 6,
        CloseReason::HandlerError => 7,
        CloseReason::Panic => 8,
        CloseReason::Shutdown => 9,
        CloseReason::Io => 10,
        CloseReason::RateLimited => 11,
        CloseReason::AuthExpired => 12,
        CloseReason::FragmentTimeout => 13,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_labels_match_close_reason_names() {
        let reasons = [
            CloseReason::Peer { code: None },
            CloseReason::HeartbeatTimeout,
            CloseReason::IdleTimeout,
            CloseReason::WriteTimeout,
            CloseReason::ProtocolError { code: crate::CloseCode::Protocol },
            CloseReason::UnsupportedData,
            CloseReason::SlowConsumer,
            CloseReason::HandlerError,
            CloseReason::Panic,
            CloseReason::Shutdown,
            CloseReason::Io,
            CloseReason::RateLimited,
            CloseReason::AuthExpired,
            CloseReason::FragmentTimeout,
        ];
        for r in reasons {
            assert_eq!(CLOSE_REASONS[reason_index(&r)], r.as_str());
        }
        let kinds: Vec<usize> = KINDS.iter().map(|k| *k as usize).collect();
        assert_eq!(kinds, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn families_register_and_render() {
        let m = Metrics::new(Registry::new()).expect("metrics");
        let r = m.route("/chat/{room}").expect("route");
        r.opened.inc();
        r.closed(&CloseReason::IdleTimeout);
        m.reject("none", Rejected::NotFound);
        let text = m.render();
        assert!(text.contains(r#"wirehub_connections_opened_total{route="/chat/{room}"} 1"#), "{text}");
        assert!(text.contains(r#"wirehub_connections_closed_total{reason="idle_timeout",route="/chat/{room}"} 1"#));
        assert!(text.contains(r#"wirehub_handshakes_rejected_total{reason="not_found",route="none"} 1"#));
        assert!(Metrics::new(m.registry.clone()).is_err(), "double registration is refused");
    }
}
