//! The Redis backplane (cargo feature `redis`): Redis pub/sub between
//! instances, and presence in Redis sorted sets.
//!
//! Channels (with the default prefix `wirehub`):
//! - `wirehub:r:<room>`: broadcasts to a room. An instance subscribes while
//!   the room has local members (one subscription per active room, so an
//!   instance receives only traffic it has members for; a single pattern
//!   subscription would make every instance receive and discard every room's
//!   traffic);
//! - `wirehub:c:<instance>`: sends to one connection id (the id names its instance);
//! - `wirehub:p`: sends to an identity (every instance may hold some of its tabs).
//!
//! Presence: `wirehub:presence:<room>` is a sorted set of `id|principal`
//! members scored by their expiry time (ms since the Unix epoch). Each
//! instance re-adds its members every `presence_ttl / 3`; a crashed
//! instance's members disappear within `presence_ttl` (default 15 s).
//!
//! Security: Redis is trusted with what it relays. Use `rediss://` (cargo
//! feature `redis-tls`) across networks, an ACL user that may only use the
//! prefix's keys and channels ([`Redis::credentials`], or
//! `redis://user:password@host`), and a shared key
//! ([`Redis::shared_key`]) so envelopes are authenticated (HMAC-SHA256):
//! then a client that can publish to Redis cannot forge messages, and what
//! fails to verify is dropped and counted (`wirehub_backplane_rejected_total`).
//! The instance number is claimed in Redis (see `claim.rs`).
//!
//! Faults: local delivery never waits for Redis. Commands go through a
//! queue bounded in commands (16 384) and in payload bytes (64 MiB) to one
//! publishing connection, which sends everything waiting in one pipeline
//! per round trip; while Redis is down,
//! messages for other instances are **dropped and counted**
//! (`wirehub_backplane_dropped_total`), not buffered: a burst of stale chat
//! messages after an outage is worse than a gap clients can resync from.
//! Both connections reconnect with exponential backoff (100 ms to 2 s); on
//! reconnect the subscriber subscribes again to every room still in use.
//! `wirehub_backplane_up` is 1 while both connections are up.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use prometheus::{IntCounter, IntGauge, Registry};
use redis::aio::MultiplexedConnection;
use tokio::sync::{mpsc, watch, Notify};
use tokio::time::{sleep, timeout, Instant};
use tokio_tungstenite::tungstenite;

use super::claim::Claim;
use super::stream::{Append, Streams};
use super::{
    decode, encode, encode_presence, member_key, open, parse_member, relayed, seal, Backplane, PresenceDelta, Relay,
    Relayed, StartCx, Target,
};
use crate::connection::ConnId;
use crate::hub::history::Limits;
use crate::hub::room::Step;
use crate::hub::shared::Template;
use crate::hub::{Hub, Member, Position};
use crate::sync::lock;

/// Commands waiting for Redis, at most, by default (see [`Redis::queue`]).
const QUEUE: usize = 16_384;
/// Payload bytes waiting for Redis, at most, by default (see [`Redis::queue_bytes`]).
const QUEUE_BYTES: usize = 64 << 20;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// The Redis backplane's settings: `Redis::connect("redis://127.0.0.1:6379")`.
///
/// Its `Debug` output hides the URL's password, the ACL password and the
/// shared key.
#[derive(Clone)]
pub struct Redis {
    url: String,
    prefix: String,
    presence_ttl: Duration,
    queue: usize,
    queue_bytes: usize,
    credentials: Option<(String, String)>,
    key: Option<Arc<[u8]>>,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("url", &redact_url(&self.url))
            .field("prefix", &self.prefix)
            .field("presence_ttl", &self.presence_ttl)
            .field("queue", &self.queue)
            .field("queue_bytes", &self.queue_bytes)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .field("shared_key", &self.key.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// `redis://user:secret@host` → `redis://user:<redacted>@host`.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let user = rest[..at].split_once(':').map_or(&rest[..at], |(user, _)| user);
            format!("{scheme}://{user}:<redacted>{}", &rest[at..])
        }
        None => url.to_owned(),
    }
}

impl Redis {
    /// A backplane on the Redis server at `url` (connected when the app starts).
    pub fn connect(url: impl Into<String>) -> Self {
        Redis {
            url: url.into(),
            prefix: "wirehub".to_owned(),
            presence_ttl: Duration::from_secs(15),
            queue: QUEUE,
            queue_bytes: QUEUE_BYTES,
            credentials: None,
            key: None,
        }
    }

    /// The backplane of `WIREHUB_REDIS_URL`, if that variable is set, with
    /// `WIREHUB_REDIS_PREFIX`, `WIREHUB_REDIS_PRESENCE_TTL_MS`,
    /// `WIREHUB_REDIS_USER` and `WIREHUB_REDIS_PASSWORD` (an ACL user), and
    /// `WIREHUB_REDIS_KEY` (the shared key, at least 32 bytes) applied when
    /// they are set.
    pub fn from_env() -> Option<Self> {
        let url = std::env::var("WIREHUB_REDIS_URL").ok().filter(|u| !u.is_empty())?;
        let mut redis = Redis::connect(url);
        if let Ok(prefix) = std::env::var("WIREHUB_REDIS_PREFIX") {
            redis = redis.prefix(prefix);
        }
        if let Some(ms) = std::env::var("WIREHUB_REDIS_PRESENCE_TTL_MS").ok().and_then(|v| v.parse().ok()) {
            redis = redis.presence_ttl(Duration::from_millis(ms));
        }
        if let (Ok(user), Ok(password)) = (std::env::var("WIREHUB_REDIS_USER"), std::env::var("WIREHUB_REDIS_PASSWORD"))
        {
            redis = redis.credentials(user, password);
        }
        if let Ok(key) = std::env::var("WIREHUB_REDIS_KEY") {
            redis = redis.shared_key(key.into_bytes());
        }
        Some(redis)
    }

    /// An ACL user and its password (Redis 6 `AUTH user password`), instead
    /// of the URL's. Give the user only the prefix's keys and channels, e.g.
    /// `ACL SETUSER wirehub on >password ~wirehub:* &wirehub:* +@pubsub
    /// +@sortedset +@string +@keyspace +@scripting +ping +hello +client`
    /// (and `+@hash +@stream` for routes with `history`).
    pub fn credentials(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some((user.into(), password.into()));
        self
    }

    /// Authenticates every envelope with HMAC-SHA256 under `key` (the same
    /// on every instance; 32 random bytes or more). Envelopes whose tag does
    /// not verify, forged or from an instance without the key, are dropped
    /// and counted in `wirehub_backplane_rejected_total`.
    pub fn shared_key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.key = Some(Arc::from(key.into()));
        self
    }

    /// How many payload bytes may wait for Redis (default 64 MiB); past it,
    /// publishes are dropped and counted like a full [`queue`](Redis::queue).
    pub fn queue_bytes(mut self, bytes: usize) -> Self {
        self.queue_bytes = bytes.max(1);
        self
    }

    fn client(&self) -> crate::Result<redis::Client> {
        let info = redis::IntoConnectionInfo::into_connection_info(self.url.as_str())
            .map_err(|e| crate::Error::Backplane(Box::new(e)))?;
        let info = match &self.credentials {
            Some((user, password)) => {
                let settings = info.redis_settings().clone().set_username(user).set_password(password);
                info.set_redis_settings(settings)
            }
            None => info,
        };
        redis::Client::open(info).map_err(|e| crate::Error::Backplane(Box::new(e)))
    }

    /// The prefix of every channel and key (default `wirehub`), so several
    /// apps can share one Redis.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How many commands (publishes, presence updates) may wait for Redis
    /// (default 16 384). Each round trip sends everything waiting in one
    /// pipeline, so the queue only fills when messages are published faster
    /// than Redis takes them, or while Redis is unreachable: what does not
    /// fit is dropped and counted in `wirehub_backplane_dropped_total`
    /// (local members still get it).
    pub fn queue(mut self, commands: usize) -> Self {
        self.queue = commands.max(1);
        self
    }

    /// How long a presence entry outlives its instance (default 15 s).
    pub fn presence_ttl(mut self, ttl: Duration) -> Self {
        self.presence_ttl = ttl.max(Duration::from_millis(300));
        self
    }
}

impl Backplane for Redis {
    fn start(self: Box<Self>, cx: StartCx) -> BoxFuture<'static, crate::Result<Option<Arc<dyn Relay>>>> {
        Box::pin((*self).start_relay(cx))
    }
}

impl Redis {
    /// Claims an instance number, then starts the publisher and the subscriber.
    async fn start_relay(self, cx: StartCx) -> crate::Result<Option<Arc<dyn Relay>>> {
        let client = self.client()?;
        let metrics = BackplaneMetrics::new(cx.registry.as_ref()).map_err(crate::Error::Metrics)?;
        let ttl = self.presence_ttl;
        let claimed = match timeout(CONNECT_TIMEOUT, client.get_multiplexed_async_connection()).await {
            Ok(Ok(mut conn)) => Claim::acquire(&mut conn, &self.prefix, ttl).await.ok().flatten(),
            _ => None,
        };
        let reachable = claimed.is_some();
        let claim = claimed.unwrap_or_else(|| {
            tracing::warn!("backplane: instance number not claimed yet (Redis unreachable); claiming it when it is");
            Claim::unclaimed(&self.prefix, ttl)
        });
        cx.hub.0.set_instance(claim.instance);
        let (commands, queue) = mpsc::channel(self.queue);
        let (stop, _) = watch::channel(false);
        let inner = Arc::new(Inner {
            client,
            instance: claim.instance,
            claim,
            streams: Streams::new(&self.prefix, self.key.clone()),
            key: self.key,
            queued_bytes: AtomicUsize::new(0),
            max_queued_bytes: self.queue_bytes,
            prefix: self.prefix,
            ttl: self.presence_ttl,
            hub: cx.hub,
            desired: Mutex::default(),
            changed: Notify::new(),
            active: Mutex::default(),
            confirmed: Notify::new(),
            publisher_done: AtomicBool::new(false),
            drained: Notify::new(),
            commands,
            metrics,
            conn: tokio::sync::Mutex::default(),
            subscriber_up: AtomicBool::new(false),
            publisher_up: AtomicBool::new(false),
            stop,
        });
        tokio::spawn(publisher(inner.clone(), queue));
        tokio::spawn(subscriber(inner.clone()));
        if reachable {
            // Serve with both connections up (bounded): the first joins can
            // then recover from the shared history.
            let _ = timeout(CONNECT_TIMEOUT, inner.connected()).await;
        }
        Ok(Some(Arc::new(RedisRelay(inner))))
    }
}

struct Inner {
    client: redis::Client,
    instance: u32,
    claim: Claim,
    /// The shared histories of rooms with `history` (Redis Streams).
    streams: Streams,
    /// The shared key envelopes are sealed with.
    key: Option<Arc<[u8]>>,
    /// Payload bytes of the publishes waiting in `commands`.
    queued_bytes: AtomicUsize,
    max_queued_bytes: usize,
    prefix: String,
    ttl: Duration,
    hub: Hub,
    /// Rooms with local members: what the subscriber should be subscribed to.
    desired: Mutex<HashSet<Arc<str>>>,
    changed: Notify,
    /// Rooms whose subscription Redis confirmed (cleared when the
    /// subscription connection is lost); `confirmed` wakes the waiters.
    active: Mutex<HashSet<Arc<str>>>,
    confirmed: Notify,
    /// Set (then `drained` notified) when the publisher task has finished.
    publisher_done: AtomicBool,
    drained: Notify,
    commands: mpsc::Sender<Command>,
    metrics: BackplaneMetrics,
    conn: tokio::sync::Mutex<Link>,
    subscriber_up: AtomicBool,
    publisher_up: AtomicBool,
    stop: watch::Sender<bool>,
}

/// The shared command connection and when to try connecting again.
#[derive(Default)]
struct Link {
    conn: Option<MultiplexedConnection>,
    retry_at: Option<Instant>,
    backoff: Duration,
}

enum Command {
    Publish { channel: String, frame: Bytes },
    PresenceAdd { key: String, member: String },
    PresenceRemove { key: String, member: String },
    Append(Box<Append>),
}

impl Command {
    /// The payload bytes it holds (what `queue_bytes` bounds).
    fn bytes(&self) -> usize {
        match self {
            Command::Publish { frame, .. } => frame.len(),
            Command::Append(append) => append.bytes(),
            Command::PresenceAdd { .. } | Command::PresenceRemove { .. } => 0,
        }
    }
}

struct BackplaneMetrics {
    up: IntGauge,
    publish_errors: IntCounter,
    dropped: IntCounter,
    reconnects: IntCounter,
    received: IntCounter,
    rejected: IntCounter,
    conflicts: IntCounter,
}

impl BackplaneMetrics {
    fn new(registry: Option<&Registry>) -> prometheus::Result<Self> {
        let m = BackplaneMetrics {
            up: IntGauge::new("wirehub_backplane_up", "1 while the backplane's connections to Redis are up.")?,
            publish_errors: IntCounter::new("wirehub_backplane_publish_errors_total", "Redis commands that failed.")?,
            dropped: IntCounter::new(
                "wirehub_backplane_dropped_total",
                "Messages for other instances dropped (Redis down or queue full).",
            )?,
            reconnects: IntCounter::new(
                "wirehub_backplane_reconnects_total",
                "Reconnections to Redis after a loss (of the subscription).",
            )?,
            received: IntCounter::new("wirehub_backplane_received_total", "Messages received from other instances.")?,
            rejected: IntCounter::new(
                "wirehub_backplane_rejected_total",
                "Envelopes from Redis dropped: undecodable, or not authenticated by the shared key.",
            )?,
            conflicts: IntCounter::new(
                "wirehub_backplane_instance_conflicts_total",
                "Refreshes that found this instance's number owned by another instance.",
            )?,
        };
        if let Some(r) = registry {
            r.register(Box::new(m.up.clone()))?;
            r.register(Box::new(m.publish_errors.clone()))?;
            r.register(Box::new(m.dropped.clone()))?;
            r.register(Box::new(m.reconnects.clone()))?;
            r.register(Box::new(m.received.clone()))?;
            r.register(Box::new(m.rejected.clone()))?;
            r.register(Box::new(m.conflicts.clone()))?;
        }
        Ok(m)
    }
}

impl Inner {
    fn room_channel(&self, room: &str) -> String {
        format!("{}:r:{room}", self.prefix)
    }

    fn conn_channel(&self, instance: u32) -> String {
        format!("{}:c:{instance}", self.prefix)
    }

    fn principal_channel(&self) -> String {
        format!("{}:p", self.prefix)
    }

    fn presence_key(&self, room: &str) -> String {
        format!("{}:presence:{room}", self.prefix)
    }

    /// A presence key outlives its last refresh by two TTLs, then Redis
    /// deletes it: rooms of crashed instances leave no keys behind.
    fn key_ttl_ms(&self) -> u64 {
        2 * self.ttl.as_millis() as u64
    }

    /// Publishes `frame` on `channel`, sealed with the shared key if there
    /// is one (`None`, not encodable: dropped and counted).
    fn send_sealed(&self, channel: String, frame: Option<Bytes>) {
        let frame = match &self.key {
            Some(key) => frame.and_then(|f| seal(key, &channel, &f)),
            None => frame,
        };
        match frame {
            Some(frame) => self.send(Command::Publish { channel, frame }),
            None => self.metrics.dropped.inc(),
        }
    }

    fn send(&self, command: Command) {
        if self.try_send(command).is_err() {
            self.metrics.dropped.inc();
        }
    }

    /// Queues a command, or gives it back (the queue is full).
    fn try_send(&self, command: Command) -> Result<(), Command> {
        let bytes = command.bytes();
        if bytes > 0 && self.queued_bytes.fetch_add(bytes, Ordering::AcqRel) + bytes > self.max_queued_bytes {
            self.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
            return Err(command);
        }
        self.commands.try_send(command).map_err(|e| {
            self.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
            e.into_inner()
        })
    }

    /// Resolves once both connections to Redis are up.
    async fn connected(&self) {
        if self.link().await.is_none() {
            return;
        }
        loop {
            let confirmed = self.confirmed.notified();
            let mut confirmed = std::pin::pin!(confirmed);
            confirmed.as_mut().enable();
            if self.subscriber_up.load(Ordering::Acquire) {
                return;
            }
            confirmed.await;
        }
    }

    /// Resolves once `room`'s subscription is confirmed, or at once while
    /// the subscription connection is down.
    async fn subscribed(&self, room: &str) {
        loop {
            let confirmed = self.confirmed.notified();
            let mut confirmed = std::pin::pin!(confirmed);
            confirmed.as_mut().enable();
            if lock(&self.active).contains(room) || !self.subscriber_up.load(Ordering::Acquire) {
                return;
            }
            confirmed.await;
        }
    }

    /// Keeps this instance's number claimed (with the presence refresh).
    async fn refresh_claim(&self) {
        let Some(mut conn) = self.link().await else { return };
        match self.claim.refresh(&mut conn).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::error!(
                    instance = self.instance,
                    "backplane: another instance owns this instance's number; sends to ids may be misrouted: restart this instance"
                );
                self.metrics.conflicts.inc();
            }
            Err(e) => self.lost(&e).await,
        }
    }

    fn set_up(&self) {
        let up = self.subscriber_up.load(Ordering::Acquire) && self.publisher_up.load(Ordering::Acquire);
        self.metrics.up.set(i64::from(up));
    }

    fn stopped(&self) -> bool {
        *self.stop.borrow()
    }

    /// The command connection, connecting if needed (at most once per
    /// backoff step): `None` while Redis is unreachable.
    async fn link(&self) -> Option<MultiplexedConnection> {
        let mut link = self.conn.lock().await;
        if let Some(conn) = &link.conn {
            return Some(conn.clone());
        }
        if link.retry_at.is_some_and(|at| Instant::now() < at) {
            return None;
        }
        let connect = async {
            let mut conn = self.client.get_multiplexed_async_connection().await?;
            self.streams.load(&mut conn).await?;
            Ok::<_, redis::RedisError>(conn)
        };
        match timeout(CONNECT_TIMEOUT, connect).await {
            Ok(Ok(conn)) => {
                if link.retry_at.take().is_some() {
                    // Counted once per outage, by the subscriber.
                    tracing::info!("backplane: publishing connection to Redis restored");
                }
                link.backoff = BACKOFF_MIN;
                link.conn = Some(conn.clone());
                self.publisher_up.store(true, Ordering::Release);
                self.set_up();
                Some(conn)
            }
            _ => {
                link.backoff = (link.backoff * 2).clamp(BACKOFF_MIN, BACKOFF_MAX);
                link.retry_at = Some(Instant::now() + link.backoff);
                self.publisher_up.store(false, Ordering::Release);
                self.set_up();
                None
            }
        }
    }

    /// Forgets a failed command connection.
    async fn lost(&self, error: &redis::RedisError) {
        tracing::warn!(error = %error, "backplane: Redis command failed");
        self.metrics.publish_errors.inc();
        let mut link = self.conn.lock().await;
        link.conn = None;
        link.backoff = BACKOFF_MIN;
        link.retry_at = Some(Instant::now() + BACKOFF_MIN);
        self.publisher_up.store(false, Ordering::Release);
        self.set_up();
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Runs queued commands on the command connection, and refreshes presence.
async fn publisher(inner: Arc<Inner>, queue: mpsc::Receiver<Command>) {
    publish_until_stopped(&inner, queue).await;
    inner.publisher_done.store(true, Ordering::Release);
    inner.drained.notify_waiters();
}

async fn publish_until_stopped(inner: &Arc<Inner>, mut queue: mpsc::Receiver<Command>) {
    let mut stop = inner.stop.subscribe();
    let mut refresh = tokio::time::interval(inner.ttl / 3);
    loop {
        tokio::select! {
            _ = stop.changed() => {
                // The last presence removals (and publishes) of a stopping
                // instance still go out, so other instances do not list its
                // members until their entries expire.
                let mut batch = Vec::with_capacity(queue.len());
                while let Ok(next) = queue.try_recv() {
                    batch.push(next);
                }
                if !batch.is_empty() {
                    let _ = timeout(CONNECT_TIMEOUT, run_batch(inner, batch)).await;
                }
                release_claim(inner).await;
                return;
            }
            command = queue.recv() => {
                let Some(command) = command else { return };
                // Everything queued meanwhile goes in the same pipeline, in
                // queue order: the busier the publishers, the bigger the
                // batch, so one round trip per batch keeps up with them.
                let mut batch = Vec::with_capacity(1 + queue.len());
                batch.push(command);
                while batch.len() < queue.max_capacity() {
                    let Ok(next) = queue.try_recv() else { break };
                    batch.push(next);
                }
                run_batch(inner, batch).await;
            }
            _ = refresh.tick() => {
                inner.refresh_claim().await;
                inner.hub.0.presence_tick(inner.ttl);
                refresh_presence(inner).await;
            }
        }
    }
}

/// Sends `batch` in one pipeline; on failure counts it dropped (and
/// delivers its shared history messages here: local delivery continues).
async fn run_batch(inner: &Inner, batch: Vec<Command>) {
    let bytes: usize = batch.iter().map(Command::bytes).sum();
    inner.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
    let Some(mut conn) = inner.link().await else {
        return dropped(inner, batch);
    };
    let expiry = now_ms() + inner.ttl.as_millis() as u64;
    let mut pipe = redis::pipe();
    for command in &batch {
        match command {
            Command::Publish { channel, frame } => {
                pipe.cmd("PUBLISH").arg(channel).arg(frame.as_ref()).ignore();
            }
            Command::PresenceAdd { key, member } => {
                pipe.cmd("ZADD").arg(key).arg(expiry).arg(member).ignore();
                pipe.cmd("PEXPIRE").arg(key).arg(inner.key_ttl_ms()).ignore();
            }
            Command::PresenceRemove { key, member } => {
                pipe.cmd("ZREM").arg(key).arg(member).ignore();
            }
            Command::Append(append) => inner.streams.queue(&mut pipe, append.as_ref()),
        }
    }
    if let Err(e) = pipe.query_async::<()>(&mut conn).await {
        inner.lost(&e).await;
        dropped(inner, batch);
    }
}

/// Counts a batch Redis did not take; its shared history messages reach
/// this instance's members all the same (a dying Redis may have relayed
/// some: they may then arrive twice).
fn dropped(inner: &Inner, batch: Vec<Command>) {
    inner.metrics.dropped.inc_by(batch.len() as u64);
    for command in batch {
        if let Command::Append(append) = command {
            append.deliver_here(&inner.hub);
        }
    }
}

/// Gives this instance's number back (bounded), so a restart may take it.
async fn release_claim(inner: &Inner) {
    let release = async {
        let mut conn = inner.link().await?;
        let mut pipe = redis::pipe();
        inner.claim.release_command(&mut pipe);
        pipe.query_async::<()>(&mut conn).await.ok()
    };
    let _ = timeout(CONNECT_TIMEOUT, release).await;
}

/// Re-adds every local member with a fresh expiry, and trims expired ones.
async fn refresh_presence(inner: &Inner) {
    let members = inner.hub.0.local_presence();
    if members.is_empty() {
        return;
    }
    let Some(mut conn) = inner.link().await else { return };
    let now = now_ms();
    let expiry = now + inner.ttl.as_millis() as u64;
    let mut pipe = redis::pipe();
    let mut rooms = HashSet::new();
    for (room, member) in &members {
        let key = inner.presence_key(room);
        pipe.cmd("ZADD").arg(&key).arg(expiry).arg(member_key(member)).ignore();
        if rooms.insert(room.clone()) {
            pipe.cmd("ZREMRANGEBYSCORE").arg(&key).arg("-inf").arg(now).ignore();
            pipe.cmd("PEXPIRE").arg(&key).arg(inner.key_ttl_ms()).ignore();
        }
    }
    if let Err(e) = pipe.query_async::<()>(&mut conn).await {
        inner.lost(&e).await;
    }
}

/// Keeps one pub/sub connection subscribed to the instance's channels and
/// every room with local members; delivers what other instances publish.
async fn subscriber(inner: Arc<Inner>) {
    let mut stop = inner.stop.subscribe();
    let mut backoff = BACKOFF_MIN;
    let mut connected_before = false;
    while !inner.stopped() {
        let pubsub = match timeout(CONNECT_TIMEOUT, inner.client.get_async_pubsub()).await {
            Ok(Ok(pubsub)) => pubsub,
            _ => {
                tokio::select! {
                    _ = stop.changed() => return,
                    () = sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
                continue;
            }
        };
        let (mut sink, mut stream) = pubsub.split();
        let own = [inner.conn_channel(inner.instance), inner.principal_channel()];
        let mut subscribed: HashSet<Arc<str>> = HashSet::new();
        if bounded(sink.subscribe(&own)).await.is_err() || reconcile(&inner, &mut sink, &mut subscribed).await.is_err()
        {
            tokio::select! {
                _ = stop.changed() => return,
                () = sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
            continue;
        }
        backoff = BACKOFF_MIN;
        if connected_before {
            inner.metrics.reconnects.inc();
            tracing::info!(rooms = subscribed.len(), "backplane: resubscribed to Redis");
        }
        connected_before = true;
        inner.subscriber_up.store(true, Ordering::Release);
        inner.set_up();
        inner.confirmed.notify_waiters();
        loop {
            tokio::select! {
                biased;
                _ = stop.changed() => return,
                () = inner.changed.notified() => {
                    if reconcile(&inner, &mut sink, &mut subscribed).await.is_err() {
                        break;
                    }
                }
                message = stream.next() => match message {
                    Some(message) => deliver(&inner, &message),
                    None => break,
                },
            }
        }
        tracing::warn!("backplane: lost the Redis subscription connection; reconnecting");
        lock(&inner.active).clear();
        inner.subscriber_up.store(false, Ordering::Release);
        inner.confirmed.notify_waiters();
        inner.set_up();
    }
}

/// Subscribes to rooms that gained local members and unsubscribes from
/// rooms that lost them.
async fn reconcile(
    inner: &Inner,
    sink: &mut redis::aio::PubSubSink,
    subscribed: &mut HashSet<Arc<str>>,
) -> redis::RedisResult<()> {
    let desired = lock(&inner.desired).clone();
    let add: Vec<Arc<str>> = desired.difference(subscribed).cloned().collect();
    let remove: Vec<Arc<str>> = subscribed.difference(&desired).cloned().collect();
    if !add.is_empty() {
        let channels: Vec<String> = add.iter().map(|r| inner.room_channel(r)).collect();
        // Resolves with Redis's confirmation: from here on, the room's
        // messages reach this instance. A half-open connection must not
        // stall every join: no answer in time counts as a lost connection.
        bounded(sink.subscribe(&channels)).await?;
        for room in &add {
            inner.hub.0.presence_resync(room); // presence events: ask the others for theirs
        }
        lock(&inner.active).extend(add.iter().cloned());
        subscribed.extend(add);
        inner.confirmed.notify_waiters();
    }
    if !remove.is_empty() {
        let channels: Vec<String> = remove.iter().map(|r| inner.room_channel(r)).collect();
        {
            let mut active = lock(&inner.active);
            for room in &remove {
                active.remove(room);
            }
        }
        bounded(sink.unsubscribe(&channels)).await?;
        for room in remove {
            subscribed.remove(&room);
        }
    }
    Ok(())
}

/// A Redis command of the subscriber, bounded by [`CONNECT_TIMEOUT`].
async fn bounded(command: impl std::future::Future<Output = redis::RedisResult<()>>) -> redis::RedisResult<()> {
    match timeout(CONNECT_TIMEOUT, command).await {
        Ok(result) => result,
        Err(_) => Err(redis::RedisError::from(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "Redis did not answer a (un)subscribe in time",
        ))),
    }
}

fn deliver(inner: &Inner, message: &redis::Msg) {
    let channel = message.get_channel_name();
    let frame = Bytes::copy_from_slice(message.get_payload_bytes());
    if let Some(room) = channel.strip_prefix(&inner.prefix).and_then(|c| c.strip_prefix(":r:")) {
        match relayed(frame.clone()) {
            Some(Relayed::At(pos, frame)) => return deliver_at(inner, room, channel, pos, frame),
            Some(Relayed::Marker(member, nonce)) => {
                if member.instance() == inner.instance {
                    inner.hub.0.recovery(room, member, nonce, Step::Marked);
                }
                return;
            }
            Some(Relayed::Frame(_)) | None => {}
        }
    }
    let frame = match &inner.key {
        Some(key) => open(key, channel, frame),
        None => Some(frame),
    };
    let Some(envelope) = frame.and_then(decode) else {
        tracing::warn!(channel, "backplane: undecodable or unauthenticated message ignored");
        inner.metrics.rejected.inc();
        return;
    };
    if envelope.origin == inner.instance {
        return; // delivered locally when it was published
    }
    inner.metrics.received.inc();
    let room_prefix = format!("{}:r:", inner.prefix);
    if envelope.presence {
        let delta = envelope.message.into_data();
        match (channel.strip_prefix(&room_prefix), super::presence::decode(&delta)) {
            (Some(room), Some(delta)) => inner.hub.0.presence_remote(room, envelope.origin, delta),
            _ => inner.metrics.rejected.inc(),
        }
    } else if let Some(room) = channel.strip_prefix(&room_prefix) {
        inner.hub.0.deliver_room(room, envelope.message, envelope.except);
    } else if channel == inner.principal_channel() {
        inner.hub.0.deliver_principal(&envelope.key, envelope.message);
    } else if let Ok(id) = envelope.key.parse::<ConnId>() {
        let _ = inner.hub.0.deliver_conn(id, envelope.message);
    }
}

/// Delivers a message of a room's shared history (every instance does,
/// the publishing one included: Redis gave its position).
fn deliver_at(inner: &Inner, room: &str, channel: &str, pos: Position, frame: Bytes) {
    let Some((except, wire)) = inner.streams.message(channel, pos, frame) else {
        tracing::warn!(channel, "backplane: undecodable or unauthenticated history message ignored");
        inner.metrics.rejected.inc();
        return;
    };
    inner.metrics.received.inc();
    inner.hub.0.deliver_at(room, pos, &wire, except);
}

/// How long a recovery may wait for its read, then for its marker.
const RECOVERY_STEP: Duration = Duration::from_secs(2);

/// Reads what `member` missed in `room` (once the room's subscription is
/// confirmed, so nothing after the read can be missed) and hands it to the
/// hub; a recovery whose read or marker does not come in time ends "not
/// recovered".
async fn recover(inner: Arc<Inner>, room: Arc<str>, member: ConnId, nonce: u64, since: Position, limits: Limits) {
    let read = async {
        inner.subscribed(&room).await;
        if !lock(&inner.active).contains(&room) {
            return None;
        }
        let mut conn = inner.link().await?;
        let channel = inner.room_channel(&room);
        match inner.streams.read(&mut conn, &room, &channel, since, limits, (member, nonce)).await {
            Ok(read) => read,
            Err(e) => {
                inner.lost(&e).await;
                None
            }
        }
    };
    let step = match timeout(RECOVERY_STEP, read).await {
        Ok(Some(read)) => Step::Read(read),
        _ => Step::Failed,
    };
    let read = matches!(step, Step::Read(_));
    inner.hub.0.recovery(&room, member, nonce, step);
    if read {
        sleep(RECOVERY_STEP).await;
        inner.hub.0.recovery(&room, member, nonce, Step::Failed);
    }
}

struct RedisRelay(Arc<Inner>);

impl Relay for RedisRelay {
    fn subscribe(&self, room: &Arc<str>) {
        if lock(&self.0.desired).insert(room.clone()) {
            self.0.changed.notify_one();
        }
    }

    fn unsubscribe(&self, room: &Arc<str>) {
        if lock(&self.0.desired).remove(room) {
            self.0.changed.notify_one();
        }
    }

    fn publish(&self, target: Target<'_>, except: Option<ConnId>, message: &tungstenite::Message) {
        let inner = &self.0;
        let (channel, key) = match target {
            Target::Room(room) => (inner.room_channel(room), String::new()),
            Target::Conn(id) => (inner.conn_channel(id.instance()), id.to_string()),
            Target::Principal(principal) => (inner.principal_channel(), principal.to_owned()),
        };
        inner.send_sealed(channel, encode(inner.instance, except, &key, message));
    }

    fn presence_publish(&self, room: &str, delta: &PresenceDelta) {
        let inner = &self.0;
        let channel = inner.room_channel(room);
        inner.send_sealed(channel, encode_presence(inner.instance, &super::presence::encode(delta)));
    }

    fn presence_add(&self, room: &Arc<str>, member: &Member) {
        self.0.send(Command::PresenceAdd { key: self.0.presence_key(room), member: member_key(member) });
    }

    fn presence_remove(&self, room: &Arc<str>, member: &Member) {
        self.0.send(Command::PresenceRemove { key: self.0.presence_key(room), member: member_key(member) });
    }

    fn presence<'a>(&'a self, room: &'a str) -> BoxFuture<'a, Vec<Member>> {
        Box::pin(async move {
            let Some(mut conn) = self.0.link().await else { return self.0.hub.presence(room) };
            let key = self.0.presence_key(room);
            let found: redis::RedisResult<Vec<String>> =
                redis::cmd("ZRANGEBYSCORE").arg(key).arg(now_ms()).arg("+inf").query_async(&mut conn).await;
            match found {
                Ok(keys) => keys.iter().filter_map(|k| parse_member(k)).collect(),
                Err(e) => {
                    self.0.lost(&e).await;
                    self.0.hub.presence(room)
                }
            }
        })
    }

    fn subscribed<'a>(&'a self, room: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(self.0.subscribed(room))
    }

    fn history_up(&self) -> bool {
        self.0.subscriber_up.load(Ordering::Acquire) && self.0.publisher_up.load(Ordering::Acquire)
    }

    fn history_ready(&self, room: &str) -> bool {
        self.history_up() && lock(&self.0.active).contains(room)
    }

    fn append(&self, room: &str, limits: Limits, except: Option<ConnId>, message: Template) -> Result<(), Template> {
        let inner = &self.0;
        let append = inner.streams.prepare(room, inner.room_channel(room), inner.instance, except, limits, message)?;
        match inner.try_send(Command::Append(Box::new(append))) {
            Ok(()) => Ok(()),
            Err(Command::Append(append)) => {
                inner.metrics.dropped.inc();
                Err(append.into_template())
            }
            Err(_) => Ok(()), // what comes back is what went in: an Append
        }
    }

    fn recover(&self, room: &Arc<str>, member: ConnId, nonce: u64, since: Position, limits: Limits) -> bool {
        tokio::spawn(recover(self.0.clone(), room.clone(), member, nonce, since, limits));
        true
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let drained = self.0.drained.notified();
            self.0.stop.send_replace(true);
            // The publisher sends its last batch (presence removals), bounded.
            if !self.0.publisher_done.load(Ordering::Acquire) {
                let _ = timeout(CONNECT_TIMEOUT + CONNECT_TIMEOUT, drained).await;
            }
        })
    }
}
