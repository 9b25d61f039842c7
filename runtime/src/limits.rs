//! Abuse limits: concurrent connections per route and per client IP, taken
//! at the handshake, and the per-connection message rate.
//!
//! A connection's slot is taken before the `101` answer (so a client over a
//! cap gets `503` for a full route or `429` for its IP, and no WebSocket) and
//! released when the connection's task ends, whatever way it ends.

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
#[derive(Debug)]
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
        match self.tokens.checked_sub(1) {
            Some(left) => {
                self.tokens = left;
                true
            }
            None => false,
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
