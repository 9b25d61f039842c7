//! [`Life`]: one connection's life in one place. Its phase
//! ([`ConnState`]), why it ends (the first close request wins, and wakes
//! its task), and what the heartbeat knows of the peer. Only this module
//! touches the fields; the connection asks it what it means.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use futures_util::task::AtomicWaker;

use crate::close::CloseReason;
use crate::message::CloseFrame;

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// Upgraded, not yet serving (the `on_open` hook runs in this state).
    Connecting,
    /// Serving messages.
    Open,
    /// A close was decided (by either side); no more messages are handled.
    Closing,
    /// Gone: the socket is released.
    Closed,
}

impl ConnState {
    const fn to_u8(self) -> u8 {
        match self {
            ConnState::Connecting => 0,
            ConnState::Open => 1,
            ConnState::Closing => 2,
            ConnState::Closed => 3,
        }
    }

    const fn from_u8(n: u8) -> ConnState {
        match n {
            0 => ConnState::Connecting,
            1 => ConnState::Open,
            2 => ConnState::Closing,
            _ => ConnState::Closed,
        }
    }
}

/// Why a connection ends and the Close frame to send, once decided.
pub(crate) type CloseRequest = (CloseReason, Option<CloseFrame>);

/// The state of one connection's life.
#[derive(Debug)]
pub(crate) struct Life {
    phase: AtomicU8,
    close: Mutex<Option<CloseRequest>>,
    /// Set (before `wake`) once a close was requested: read without the lock.
    close_requested: AtomicBool,
    /// The connection's task (`register_task`): woken when a close is
    /// requested, and by the reader's own waker.
    wake: AtomicWaker,
    /// Something the reader waits for happened: poll it (see `impl Wake
    /// for ConnInner`).
    reader_woken: AtomicBool,
    /// The same waker was used since the writer last looked: its heartbeat
    /// timer (registered with that waker) may have fired. The writer polls
    /// the timer only then, not on every message it writes (issue 19).
    timer_due: AtomicBool,
    /// Milliseconds since the app started, when a frame last arrived.
    last_seen_ms: AtomicU64,
    /// The reader holds an unhandled message: the peer is alive.
    paused: AtomicBool,
    /// Last heartbeat round trip, in microseconds (`u64::MAX`: none yet).
    rtt_micros: AtomicU64,
    /// The payload of the heartbeat ping awaiting its pong.
    ping_nonce: AtomicU64,
    /// When that ping was sent, in microseconds since the app started
    /// (`u64::MAX`: no ping awaits a pong).
    ping_sent_us: AtomicU64,
}

impl Life {
    /// A connection that just upgraded, heard from `now_ms`.
    pub(crate) fn new(now_ms: u64) -> Self {
        Life {
            phase: AtomicU8::new(ConnState::Connecting.to_u8()),
            close: Mutex::new(None),
            close_requested: AtomicBool::new(false),
            wake: AtomicWaker::new(),
            reader_woken: AtomicBool::new(true),
            timer_due: AtomicBool::new(true),
            last_seen_ms: AtomicU64::new(now_ms),
            paused: AtomicBool::new(false),
            rtt_micros: AtomicU64::new(u64::MAX),
            ping_nonce: AtomicU64::new(0),
            ping_sent_us: AtomicU64::new(u64::MAX),
        }
    }

    pub(crate) fn phase(&self) -> ConnState {
        ConnState::from_u8(self.phase.load(Ordering::Acquire))
    }

    pub(crate) fn enter(&self, phase: ConnState) {
        self.phase.store(phase.to_u8(), Ordering::Release);
    }

    /// Closing or closed, or a close was requested.
    pub(crate) fn is_closing(&self) -> bool {
        matches!(self.phase(), ConnState::Closing | ConnState::Closed) || self.close_requested.load(Ordering::Acquire)
    }

    /// Records why the connection ends (the first request wins) and wakes its task.
    pub(crate) fn request_close(&self, reason: CloseReason, frame: Option<CloseFrame>) {
        let mut slot = crate::sync::lock(&self.close);
        if slot.is_none() {
            *slot = Some((reason, frame));
            drop(slot);
            self.close_requested.store(true, Ordering::Release);
            self.wake.wake();
        }
    }

    pub(crate) fn close_request(&self) -> Option<CloseRequest> {
        crate::sync::lock(&self.close).clone()
    }

    /// The task's waker, registered at the start of each of its polls
    /// while it serves: a wake taken here is always followed by a poll that
    /// registers it again, so no wake-up is lost.
    pub(crate) fn register_task(&self, waker: &std::task::Waker) {
        self.wake.register(waker);
    }

    /// Wakes the task for its reader: what `ConnInner`'s waker does.
    pub(crate) fn wake_reader(&self) {
        self.reader_woken.store(true, Ordering::Release);
        self.wake.wake();
    }

    /// Whether the reader was woken since the last call (and clears it);
    /// if so, the writer's timer is due for a look too.
    pub(crate) fn take_reader_wake(&self) -> bool {
        let woken = self.reader_woken.swap(false, Ordering::AcqRel);
        if woken {
            self.timer_due.store(true, Ordering::Relaxed);
        }
        woken
    }

    /// The writer's timer was reset: it must be polled to register.
    pub(crate) fn set_timer_due(&self) {
        self.timer_due.store(true, Ordering::Relaxed);
    }

    /// Whether the writer's timer may have fired since the last call (and
    /// clears it).
    pub(crate) fn take_timer_due(&self) -> bool {
        self.timer_due.swap(false, Ordering::Relaxed)
    }

    /// A frame arrived at `now_ms`.
    pub(crate) fn heard(&self, now_ms: u64) {
        self.last_seen_ms.store(now_ms, Ordering::Relaxed);
    }

    pub(crate) fn last_heard_ms(&self) -> u64 {
        self.last_seen_ms.load(Ordering::Relaxed)
    }

    /// The reader holds a message back (or stopped holding one): a peer
    /// that is paused on our side is not silent.
    pub(crate) fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::Relaxed);
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed)
    }

    /// A heartbeat ping with payload `nonce` went out at `at_us`; it
    /// replaces any earlier one still unanswered.
    pub(crate) fn ping_sent(&self, nonce: u64, at_us: u64) {
        self.ping_nonce.store(nonce, Ordering::Relaxed);
        self.ping_sent_us.store(at_us, Ordering::Relaxed);
    }

    /// A pong with payload `nonce` arrived: when the ping it answers was
    /// sent, if it answers the one in flight (once: a replay matches nothing).
    pub(crate) fn pong(&self, nonce: u64) -> Option<u64> {
        if self.ping_nonce.load(Ordering::Relaxed) != nonce {
            return None;
        }
        match self.ping_sent_us.swap(u64::MAX, Ordering::Relaxed) {
            u64::MAX => None,
            sent => Some(sent),
        }
    }

    pub(crate) fn set_rtt(&self, rtt: Duration) {
        self.rtt_micros.store(u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX - 1), Ordering::Relaxed);
    }

    pub(crate) fn rtt(&self) -> Option<Duration> {
        match self.rtt_micros.load(Ordering::Relaxed) {
            u64::MAX => None,
            us => Some(Duration::from_micros(us)),
        }
    }
}
