//! The instance id of a Redis backplane, claimed in Redis: connection ids
//! carry their instance (`ConnId::instance`), so two instances with the same
//! number would misroute each other's `send_to` and ignore each other's
//! publishes as their own. Each instance draws a random 20-bit number and
//! claims `<prefix>:instance:<n>` with `SET NX PX` (atomic: one owner),
//! drawing again while the number is taken; the claim expires unless its
//! owner refreshes it (with the presence refresh), so a crashed instance's
//! number frees itself.
//!
//! Redis unreachable at startup: the drawn number is used unclaimed, and
//! the first refresh claims it; if another instance owns it by then, that
//! is logged as an error and counted (`wirehub_backplane_instance_conflicts_total`):
//! the instance must be restarted.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use redis::aio::MultiplexedConnection;

/// Numbers drawn before giving up on claiming one (2^20 numbers: a taken
/// one is drawn again with the odds of instances running over 2^20).
const DRAWS: usize = 32;

/// Extends the claim if this instance still owns it.
const REFRESH: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
                       return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";

/// This instance's claim on its number.
#[derive(Debug)]
pub(crate) struct Claim {
    pub(crate) instance: u32,
    /// What the claim key holds: only its owner refreshes it.
    token: String,
    key: String,
    ttl: Duration,
}

/// A random instance number: 20 bits, never 0.
pub(crate) fn draw() -> u32 {
    let n = RandomState::new().hash_one(std::time::SystemTime::now()) as u32 & 0xF_FFFF;
    n.max(1)
}

impl Claim {
    /// An unclaimed number (claimed by the first [`Claim::refresh`]).
    pub(crate) fn unclaimed(prefix: &str, ttl: Duration) -> Claim {
        let token = format!("{:016x}", RandomState::new().hash_one((std::process::id(), std::time::SystemTime::now())));
        let instance = draw();
        Claim { instance, token, key: key(prefix, instance), ttl }
    }

    /// Claims a free number in Redis, drawing again while the drawn one is taken.
    pub(crate) async fn acquire(
        conn: &mut MultiplexedConnection,
        prefix: &str,
        ttl: Duration,
    ) -> redis::RedisResult<Option<Claim>> {
        let mut claim = Claim::unclaimed(prefix, ttl);
        for _ in 0..DRAWS {
            if claim.set_nx(conn).await? {
                return Ok(Some(claim));
            }
            claim.instance = draw();
            claim.key = key(prefix, claim.instance);
        }
        Ok(None)
    }

    async fn set_nx(&self, conn: &mut MultiplexedConnection) -> redis::RedisResult<bool> {
        let set: Option<String> = redis::cmd("SET")
            .arg(&self.key)
            .arg(&self.token)
            .arg("NX")
            .arg("PX")
            .arg(self.ttl.as_millis() as u64)
            .query_async(conn)
            .await?;
        Ok(set.is_some())
    }

    /// Extends the claim, or claims the number if it expired meanwhile;
    /// `Ok(false)`: another instance owns it.
    pub(crate) async fn refresh(&self, conn: &mut MultiplexedConnection) -> redis::RedisResult<bool> {
        let extended: i64 = redis::cmd("EVAL")
            .arg(REFRESH)
            .arg(1)
            .arg(&self.key)
            .arg(&self.token)
            .arg(self.ttl.as_millis() as u64)
            .query_async(conn)
            .await?;
        if extended == 1 {
            return Ok(true);
        }
        self.set_nx(conn).await
    }

    /// Gives the number back (a clean shutdown).
    pub(crate) fn release_command(&self, pipe: &mut redis::Pipeline) {
        pipe.cmd("EVAL")
            .arg("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end")
            .arg(1)
            .arg(&self.key)
            .arg(&self.token)
            .ignore();
    }
}

fn key(prefix: &str, instance: u32) -> String {
    format!("{prefix}:instance:{instance}")
}
