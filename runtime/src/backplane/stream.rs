//! Shared room history in Redis Streams (the Redis backplane, rooms of
//! routes with `history`): one offset sequence per room across instances,
//! its epoch kept in Redis, recovery on any instance.
//!
//! Keys (with the default prefix `wirehub`):
//! - `wirehub:hm:<room>`: a hash, `e` the epoch (hex) and `t` the room's
//!   last offset;
//! - `wirehub:hs:<room>`: a stream, one entry per message (`o` its offset,
//!   `f` its frame, sealed with the shared key if there is one), with
//!   Redis-time ids, trimmed to the route's count (`MAXLEN ~`) and age
//!   (`MINID ~`); reads apply both limits exactly. With an age limit both
//!   keys expire that long after the room's last message.
//!
//! [`APPEND`] runs for each message, atomically: a missing hash, or a
//! missing stream while the hash has an offset (the history was lost:
//! flushed, deleted, expired), starts a new epoch (drawn by the instance)
//! at offset 0; then the offset is incremented, the entry added and
//! trimmed, and the frame published on the room's channel with its
//! position (`[2]<epoch>-<offset>|<frame>`): every instance, the
//! publishing one included, delivers it from there, so every member of
//! every instance sees the room's offset order. An instance restart keeps
//! the epoch while Redis keeps the keys.
//!
//! [`RECOVER`] reads, atomically, the epoch, the last offset and the
//! entries after the client's position (none when another epoch, or more
//! than the route keeps), and publishes a marker (`[3]<conn id>:<nonce>`)
//! on the room's channel: once the instance sees the marker, every message
//! up to that offset went through it (see `hub/shared.rs` for the seam).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use tokio_tungstenite::tungstenite;

use super::{decode_at, encode_template, marker, open, seal};
use crate::connection::ConnId;
use crate::hub::history::Limits;
use crate::hub::shared::{Read, Template};
use crate::hub::{Hub, Position};

/// Appends a message: KEYS meta, stream; ARGV epoch if new, count, age
/// (ms, 0: none), channel, frame. Returns the offset.
pub(crate) const APPEND: &str = r"
if redis.replicate_commands then redis.replicate_commands() end
local epoch = redis.call('HGET', KEYS[1], 'e')
local top = tonumber(redis.call('HGET', KEYS[1], 't') or '0')
if not epoch or (top > 0 and redis.call('EXISTS', KEYS[2]) == 0) then
  epoch = ARGV[1]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', epoch, 't', '0')
end
local offset = string.format('%d', redis.call('HINCRBY', KEYS[1], 't', 1))
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'o', offset, 'f', ARGV[5])
local age = tonumber(ARGV[3])
if age > 0 then
  local now = redis.call('TIME')
  redis.call('XTRIM', KEYS[2], 'MINID', '~', string.format('%d', now[1] * 1000 + math.floor(now[2] / 1000) - age))
  redis.call('PEXPIRE', KEYS[1], age)
  redis.call('PEXPIRE', KEYS[2], age)
end
redis.call('PUBLISH', ARGV[4], '\2' .. epoch .. '-' .. offset .. '|' .. ARGV[5])
return offset
";

/// Reads for a recovery: KEYS meta, stream; ARGV epoch, offset (the
/// client's), count, age (ms, 0: none), channel, marker. Returns the epoch
/// (`''`: none), the last offset, then offset and frame of each entry
/// after the client's, oldest first.
pub(crate) const RECOVER: &str = r"
if redis.replicate_commands then redis.replicate_commands() end
redis.call('PUBLISH', ARGV[5], ARGV[6])
local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then return {'', '0'} end
local top = tonumber(redis.call('HGET', KEYS[1], 't') or '0')
local out = {epoch, string.format('%d', top)}
local want = top - tonumber(ARGV[2])
if epoch ~= ARGV[1] or want <= 0 or want > tonumber(ARGV[3]) then return out end
local min = '-'
local age = tonumber(ARGV[4])
if age > 0 then
  local now = redis.call('TIME')
  min = string.format('%d', now[1] * 1000 + math.floor(now[2] / 1000) - age)
end
local entries = redis.call('XREVRANGE', KEYS[2], '+', min, 'COUNT', want)
for i = #entries, 1, -1 do
  local fields = entries[i][2]
  local offset, frame = '', ''
  for j = 1, #fields, 2 do
    if fields[j] == 'o' then offset = fields[j + 1] elseif fields[j] == 'f' then frame = fields[j + 1] end
  end
  out[#out + 1] = offset
  out[#out + 1] = frame
end
return out
";

/// The shared histories of one backplane: its key names, scripts and
/// shared key.
pub(crate) struct Streams {
    prefix: String,
    key: Option<Arc<[u8]>>,
    /// The SHA1s Redis gave [`APPEND`] and [`RECOVER`] (the same on every
    /// Redis: set by the first load).
    hashes: OnceLock<(String, String)>,
    /// Draws the epochs of new histories (random, then counted).
    epochs: AtomicU64,
}

/// A message on its way to a shared history (kept until Redis took it, so
/// that it is delivered here if Redis cannot).
pub(crate) struct Append {
    pub(crate) room: Arc<str>,
    except: Option<ConnId>,
    template: Template,
    frame: Bytes,
    channel: String,
    limits: Limits,
}

impl Append {
    /// The payload bytes it holds.
    pub(crate) fn bytes(&self) -> usize {
        self.frame.len()
    }

    /// The message, given back (the queue to Redis is full).
    pub(crate) fn into_template(self) -> Template {
        self.template
    }

    /// Delivers it to this instance's members alone (Redis did not take
    /// it), with a position of this instance's own history.
    pub(crate) fn deliver_here(self, hub: &Hub) {
        hub.0.deliver_template(&self.room, &self.template, self.except);
    }
}

impl Streams {
    pub(crate) fn new(prefix: &str, key: Option<Arc<[u8]>>) -> Streams {
        let seed = std::hash::BuildHasher::hash_one(&std::hash::RandomState::new(), std::time::SystemTime::now());
        Streams { prefix: prefix.to_owned(), key, hashes: OnceLock::new(), epochs: AtomicU64::new(seed) }
    }

    fn meta_key(&self, room: &str) -> String {
        format!("{}:hm:{room}", self.prefix)
    }

    fn stream_key(&self, room: &str) -> String {
        format!("{}:hs:{room}", self.prefix)
    }

    /// Loads both scripts (on each new command connection), so that the
    /// pipeline can call them by hash.
    pub(crate) async fn load(&self, conn: &mut redis::aio::MultiplexedConnection) -> redis::RedisResult<()> {
        let mut pipe = redis::pipe();
        pipe.cmd("SCRIPT").arg("LOAD").arg(APPEND);
        pipe.cmd("SCRIPT").arg("LOAD").arg(RECOVER);
        let hashes: (String, String) = pipe.query_async(conn).await?;
        let _ = self.hashes.set(hashes);
        Ok(())
    }

    /// `EVALSHA` of a loaded script (`EVAL` of its text before any load).
    fn call(&self, pipe: &mut redis::Pipeline, append: bool) {
        let (script, hash) = match (self.hashes.get(), append) {
            (Some((hash, _)), true) => (APPEND, Some(hash)),
            (Some((_, hash)), false) => (RECOVER, Some(hash)),
            (None, true) => (APPEND, None),
            (None, false) => (RECOVER, None),
        };
        match hash {
            Some(hash) => pipe.cmd("EVALSHA").arg(hash),
            None => pipe.cmd("EVAL").arg(script),
        };
    }

    /// The message `template` of `room` as the backplane sends it.
    pub(crate) fn prepare(
        &self,
        room: &str,
        channel: String,
        origin: u32,
        except: Option<ConnId>,
        limits: Limits,
        template: Template,
    ) -> Result<Append, Template> {
        let frame = encode_template(origin, except, &template);
        let frame = match &self.key {
            Some(key) => frame.and_then(|f| seal(key, &channel, &f)),
            None => frame,
        };
        let Some(frame) = frame else { return Err(template) };
        Ok(Append { room: Arc::from(room), except, template, frame, channel, limits })
    }

    /// Adds `append`'s script call to `pipe`.
    pub(crate) fn queue(&self, pipe: &mut redis::Pipeline, append: &Append) {
        let epoch = self.epochs.fetch_add(1, Ordering::Relaxed).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.call(pipe, true);
        pipe.arg(2)
            .arg(self.meta_key(&append.room))
            .arg(self.stream_key(&append.room))
            .arg(format!("{epoch:x}"))
            .arg(append.limits.count)
            .arg(age_ms(append.limits))
            .arg(&append.channel)
            .arg(append.frame.as_ref())
            .ignore();
    }

    /// Reads what a client last at `since` missed in `room`, and relays the
    /// marker of `member`'s recovery `nonce` on the room's `channel`.
    pub(crate) async fn read(
        &self,
        conn: &mut redis::aio::MultiplexedConnection,
        room: &str,
        channel: &str,
        since: Position,
        limits: Limits,
        (member, nonce): (ConnId, u64),
    ) -> redis::RedisResult<Option<Read>> {
        let mut pipe = redis::pipe();
        self.call(&mut pipe, false);
        pipe.arg(2)
            .arg(self.meta_key(room))
            .arg(self.stream_key(room))
            .arg(format!("{:x}", since.epoch()))
            .arg(since.offset())
            .arg(limits.count)
            .arg(age_ms(limits))
            .arg(channel)
            .arg(marker(member, nonce));
        let (reply,): (Vec<Vec<u8>>,) = pipe.query_async(conn).await?;
        Ok(self.parse(channel, reply))
    }

    /// The read of [`RECOVER`]'s reply; `None` when it is not one.
    fn parse(&self, channel: &str, reply: Vec<Vec<u8>>) -> Option<Read> {
        let mut fields = reply.into_iter();
        let epoch = fields.next()?;
        let top = std::str::from_utf8(&fields.next()?).ok()?.parse().ok()?;
        let epoch = match epoch.as_slice() {
            b"" => None,
            hex => Some(u64::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?),
        };
        let mut entries = Vec::new();
        while let (Some(offset), Some(frame)) = (fields.next(), fields.next()) {
            let offset: u64 = std::str::from_utf8(&offset).ok()?.parse().ok()?;
            let wire = self.message(channel, Position::new(epoch?, offset), Bytes::from(frame))?;
            entries.push((offset, wire.1));
        }
        Some(Read { epoch, top, entries })
    }

    /// The message at `pos` of a frame relayed on `channel` (its seal
    /// checked): who it skips and the message.
    pub(crate) fn message(
        &self,
        channel: &str,
        pos: Position,
        frame: Bytes,
    ) -> Option<(Option<ConnId>, tungstenite::Message)> {
        let frame = match &self.key {
            Some(key) => open(key, channel, frame)?,
            None => frame,
        };
        decode_at(frame, pos)
    }
}

fn age_ms(limits: Limits) -> u64 {
    limits.ttl.map_or(0, |ttl| (ttl.as_millis() as u64).max(1))
}
