//! Abuse limits: before any request, the [`Gate`] (TCP connections held at
//! once, connections per client IP and second, failed authentications per
//! client IP); concurrent connections per route and per client IP, taken at
//! the handshake; and the per-connection rates of data messages and of
//! control frames.
//!
//! A connection's slot is taken before the `101` answer (so a client over a
//! cap gets `503` for a full route or `429` for its IP, and no WebSocket) and
//! released when the connection's task ends, whatever way it ends.
//!
//! Invariant: every table keyed by client IP is bounded (per-IP rate tables
//! forget idle entries, and at worst a whole shard, rather than grow).

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::proxy::mask;
use crate::sync::lock;

const SHARDS: usize = 16;

/// Open connections per client IP on one route (only routes with a
/// `max_connections_per_ip` keep one), sharded.
#[derive(Debug)]
pub(crate) struct PerIp {
    shards: Box<[Mutex<HashMap<IpAddr, usize>>]>,
    hasher: RandomState,
}

impl Default for PerIp {
    fn default() -> Self {
        PerIp { shards: (0..SHARDS).map(|_| Mutex::default()).collect(), hasher: RandomState::new() }
    }
}

impl PerIp {
    fn shard(&self, ip: IpAddr) -> &Mutex<HashMap<IpAddr, usize>> {
        &self.shards[(self.hasher.hash_one(ip) as usize) % SHARDS]
    }

    /// Counts one more connection for `ip` unless it has `max` already.
    fn try_add(&self, ip: IpAddr, max: Option<usize>) -> bool {
        let mut shard = lock(self.shard(ip));
        let n = shard.entry(ip).or_insert(0);
        if max.is_some_and(|max| *n >= max) {
            if *n == 0 {
                shard.remove(&ip);
            }
            return false;
        }
        *n += 1;
        true
    }

    fn remove(&self, ip: IpAddr) {
        let mut shard = lock(self.shard(ip));
        if let Some(n) = shard.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                shard.remove(&ip);
            }
        }
    }

    /// Number of IPs with open connections (for tests of cleanup).
    #[cfg(test)]
    fn ips(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }
}

/// The key a client counts under for `max_connections_per_ip`: an IPv4
/// address itself (an IPv4-mapped IPv6 address as IPv4), an IPv6 address by
/// its first `v6_prefix` bits (a site is handed a /64: one address each
/// would be no cap at all).
pub(crate) fn cap_key(ip: IpAddr, v6_prefix: u8) -> IpAddr {
    match ip.to_canonical() {
        v4 @ IpAddr::V4(_) => v4,
        v6 @ IpAddr::V6(_) => mask(v6, v6_prefix),
    }
}

/// Which cap refused a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CapReached {
    /// The route's `max_connections` (answered 503).
    Route,
    /// The client IP's `max_connections_per_ip` (answered 429).
    Ip,
}

/// One connection's place under the caps; dropping it gives the place back.
#[derive(Debug)]
pub(crate) struct Slot {
    route_open: Arc<AtomicUsize>,
    per_ip: Option<Arc<PerIp>>,
    ip: IpAddr,
}

impl Slot {
    /// Takes a place on a route (`route_max`) and, when the route caps
    /// connections per IP, in its per-IP table (`per_ip`, `ip_max`).
    pub(crate) fn acquire(
        route_open: &Arc<AtomicUsize>,
        route_max: Option<usize>,
        per_ip: Option<&Arc<PerIp>>,
        ip: IpAddr,
        ip_max: Option<usize>,
    ) -> Result<Slot, CapReached> {
        let before = route_open.fetch_add(1, Ordering::AcqRel);
        if route_max.is_some_and(|max| before >= max) {
            route_open.fetch_sub(1, Ordering::AcqRel);
            return Err(CapReached::Route);
        }
        if per_ip.is_some_and(|table| !table.try_add(ip, ip_max)) {
            route_open.fetch_sub(1, Ordering::AcqRel);
            return Err(CapReached::Ip);
        }
        Ok(Slot { route_open: route_open.clone(), per_ip: per_ip.cloned(), ip })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.route_open.fetch_sub(1, Ordering::AcqRel);
        if let Some(table) = &self.per_ip {
            table.remove(self.ip);
        }
    }
}

/// A message rate: `count` messages per `per`, e.g. `rate = "50/s"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Messages allowed per period.
    pub count: u32,
    /// The period.
    pub per: Duration,
}

/// A token bucket: `burst` messages at once, refilled at `rate`.
#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    per_token: Duration,
    burst: u32,
    tokens: u32,
    last: Instant,
}

impl Bucket {
    pub(crate) fn new(rate: Rate, burst: Option<u32>) -> Self {
        let burst = burst.unwrap_or(rate.count).max(1);
        let per_token = rate.per / rate.count.max(1);
        Bucket { per_token, burst, tokens: burst, last: Instant::now() }
    }

    /// Takes a token for one message; false when the rate is exceeded.
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        self.refill(now);
        match self.tokens.checked_sub(1) {
            Some(left) => {
                self.tokens = left;
                true
            }
            None => false,
        }
    }

    /// Whether a token is there, without taking it.
    fn has_token(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens > 0
    }

    /// Whether the bucket is full: its owner was quiet long enough to be forgotten.
    fn is_full(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens == self.burst
    }

    fn refill(&mut self, now: Instant) {
        if self.tokens < self.burst && !self.per_token.is_zero() {
            let earned = now.saturating_duration_since(self.last).as_nanos() / self.per_token.as_nanos().max(1);
            if earned > 0 {
                let earned = u32::try_from(earned).unwrap_or(u32::MAX);
                self.tokens = self.tokens.saturating_add(earned).min(self.burst);
                self.last += self.per_token * earned.min(self.burst);
                if self.tokens == self.burst {
                    self.last = now;
                }
            }
        } else if self.tokens == self.burst {
            self.last = now;
        }
    }
}

/// Entries a shard of an [`IpRates`] table holds; when it is full, the idle
/// ones are forgotten, and if that does not free half of it, all of them
/// (an attack from more addresses than this then gets through the limit
/// rather than growing memory; `max_sockets` still holds). At most about
/// 64 bytes an entry: 4 MiB a table.
const IP_SHARD_MAX: usize = 4096;

/// A token bucket per client IP (an IPv6 client by its /64, since one host
/// holds a whole /64), sharded and bounded.
#[derive(Debug)]
struct IpRates {
    rate: Rate,
    shards: Box<[Mutex<HashMap<IpAddr, Bucket>>]>,
    hasher: RandomState,
}

impl IpRates {
    fn new(rate: Rate) -> Self {
        IpRates { rate, shards: (0..SHARDS).map(|_| Mutex::default()).collect(), hasher: RandomState::new() }
    }

    fn with<T>(&self, ip: IpAddr, f: impl FnOnce(&mut Bucket, Instant) -> T) -> T {
        let key = client_key(ip);
        let now = Instant::now();
        let mut shard = lock(&self.shards[(self.hasher.hash_one(key) as usize) % SHARDS]);
        if shard.len() >= IP_SHARD_MAX && !shard.contains_key(&key) {
            shard.retain(|_, b| !b.is_full(now));
            if shard.len() > IP_SHARD_MAX / 2 {
                tracing::warn!("per-IP rate table full: forgetting a shard");
                shard.clear();
            }
        }
        let bucket = shard.entry(key).or_insert_with(|| Bucket::new(self.rate, None));
        f(bucket, now)
    }
}

/// The key a client IP is limited by: the address, or an IPv6 address's /64.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(prefix.into())
        }
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Why the gate refused a TCP connection or an authentication attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GateClosed {
    /// `max_sockets` connections are held (answered 503).
    Sockets,
    /// The IP's `handshake_rate_per_ip` is exceeded (answered 429).
    Rate,
    /// The IP's `failed_auth_per_ip` is exceeded (answered 429).
    FailedAuth,
}

/// The checks before an upgrade: how many TCP connections the server holds,
/// and per client IP the connection rate and the failed authentications.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    max_sockets: Option<usize>,
    /// TCP connections not (yet) upgraded.
    sockets: Arc<AtomicUsize>,
    connects: Option<IpRates>,
    failed_auth: Option<IpRates>,
}

/// One TCP connection's place under `max_sockets` until it upgrades or ends.
#[derive(Debug)]
pub(crate) struct SocketSlot(Arc<AtomicUsize>);

impl Drop for SocketSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Gate {
    pub(crate) fn new(max_sockets: Option<usize>, connect_rate: Option<Rate>, failed_auth: Option<Rate>) -> Self {
        Gate {
            max_sockets,
            sockets: Arc::default(),
            connects: connect_rate.map(IpRates::new),
            failed_auth: failed_auth.map(IpRates::new),
        }
    }

    /// Admits a TCP connection from `ip` while `upgraded` connections are
    /// open: its place under `max_sockets`, held until it upgrades or ends.
    pub(crate) fn admit(&self, ip: IpAddr, upgraded: usize) -> Result<SocketSlot, GateClosed> {
        let before = self.sockets.fetch_add(1, Ordering::AcqRel);
        let slot = SocketSlot(self.sockets.clone());
        if self.max_sockets.is_some_and(|max| before + upgraded >= max) {
            return Err(GateClosed::Sockets);
        }
        if self.connects.as_ref().is_some_and(|rates| !rates.with(ip, Bucket::take)) {
            return Err(GateClosed::Rate);
        }
        Ok(slot)
    }

    /// Whether `ip` may try to authenticate (it has not failed too often).
    pub(crate) fn may_authenticate(&self, ip: IpAddr) -> Result<(), GateClosed> {
        match self.failed_auth.as_ref().is_some_and(|rates| !rates.with(ip, Bucket::has_token)) {
            true => Err(GateClosed::FailedAuth),
            false => Ok(()),
        }
    }

    /// Counts a refused authentication of `ip`.
    pub(crate) fn auth_failed(&self, ip: IpAddr) {
        if let Some(rates) = &self.failed_auth {
            rates.with(ip, Bucket::take);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_count_and_release() {
        let open = Arc::new(AtomicUsize::new(0));
        let per_ip = Arc::new(PerIp::default());
        let ip: IpAddr = "10.0.0.1".parse().expect("ip");
        let other: IpAddr = "10.0.0.2".parse().expect("ip");
        let a = Slot::acquire(&open, Some(3), Some(&per_ip), ip, Some(2)).expect("first");
        let b = Slot::acquire(&open, Some(3), Some(&per_ip), ip, Some(2)).expect("second");
        assert_eq!(Slot::acquire(&open, Some(3), Some(&per_ip), ip, Some(2)).err(), Some(CapReached::Ip));
        let c = Slot::acquire(&open, Some(3), Some(&per_ip), other, Some(2)).expect("other ip");
        assert_eq!(Slot::acquire(&open, Some(3), Some(&per_ip), other, Some(2)).err(), Some(CapReached::Route));
        drop((a, b, c));
        assert_eq!(open.load(Ordering::Acquire), 0);
        assert_eq!(per_ip.ips(), 0);
    }

    #[test]
    fn the_gate_caps_sockets_and_rates_per_ip() {
        let per_s = |count| Some(Rate { count, per: Duration::from_secs(3600) });
        let gate = Gate::new(Some(3), per_s(2), per_s(1));
        let ip: IpAddr = "10.0.0.1".parse().expect("ip");
        let a = gate.admit(ip, 0).expect("first");
        let _b = gate.admit(ip, 0).expect("second");
        assert_eq!(gate.admit(ip, 0).err(), Some(GateClosed::Rate));
        let other: IpAddr = "10.0.0.2".parse().expect("ip");
        assert_eq!(gate.admit(other, 1).err(), Some(GateClosed::Sockets), "2 pending + 1 upgraded");
        drop(a);
        assert!(gate.admit(other, 0).is_ok(), "a place was given back");
        assert_eq!(gate.may_authenticate(ip), Ok(()));
        gate.auth_failed(ip);
        assert_eq!(gate.may_authenticate(ip), Err(GateClosed::FailedAuth));
        assert_eq!(gate.may_authenticate(other), Ok(()));
    }

    #[test]
    fn ipv6_clients_are_limited_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().expect("ip");
        assert_eq!(client_key(mapped), "10.0.0.1".parse::<IpAddr>().expect("ip"));
    }

    #[test]
    fn per_ip_tables_stay_bounded() {
        let rates = IpRates::new(Rate { count: 1, per: Duration::from_secs(3600) });
        for n in 0..(SHARDS * IP_SHARD_MAX * 2) as u32 {
            rates.with(IpAddr::from(n.to_be_bytes()), Bucket::take);
        }
        let held: usize = rates.shards.iter().map(|s| lock(s).len()).sum();
        assert!(held <= SHARDS * IP_SHARD_MAX, "{held}");
    }

    #[test]
    fn ipv6_clients_count_by_prefix() {
        let key = |ip: &str, prefix| cap_key(ip.parse().expect("ip"), prefix).to_string();
        assert_eq!(key("2001:db8:1:2:aaaa::1", 64), "2001:db8:1:2::");
        assert_eq!(key("2001:db8:1:2:bbbb::9", 64), "2001:db8:1:2::");
        assert_eq!(key("2001:db8:1:3::1", 64), "2001:db8:1:3::");
        assert_eq!(key("2001:db8:1:2::1", 128), "2001:db8:1:2::1");
        assert_eq!(key("2001:db8:1:2::1", 48), "2001:db8:1::");
        assert_eq!(key("::ffff:192.0.2.1", 64), "192.0.2.1", "IPv4-mapped: the IPv4 address");
        assert_eq!(key("192.0.2.1", 64), "192.0.2.1");
    }

    #[test]
    fn bucket_allows_burst_then_rate() {
        let start = Instant::now();
        let mut b = Bucket::new(Rate { count: 10, per: Duration::from_secs(1) }, Some(3));
        b.last = start;
        assert!(b.take(start) && b.take(start) && b.take(start));
        assert!(!b.take(start), "burst exhausted");
        assert!(!b.take(start + Duration::from_millis(50)), "not refilled yet");
        assert!(b.take(start + Duration::from_millis(100)), "one token per 100 ms");
        assert!(!b.take(start + Duration::from_millis(150)));
        let later = start + Duration::from_secs(10);
        assert!(b.take(later) && b.take(later) && b.take(later));
        assert!(!b.take(later), "refill is capped at the burst");
    }
}
