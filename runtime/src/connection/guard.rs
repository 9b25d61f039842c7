//! The frame guard: what the socket (`socket.rs`) enforces on every frame
//! header as it arrives, before the frame is complete, beyond the framing
//! rules themselves:
//!
//! - the control budget: pings, pongs and empty continuation frames take a
//!   token of the route's `control_rate` bucket; a peer that sends them
//!   faster (a ping flood, or endless empty fragments that keep a message
//!   open) is closed with 1008;
//! - the fragment deadline: a fragmented message must be complete
//!   `fragment_timeout` after its first frame, or the connection closes with
//!   1008, whatever else (pongs, pings) the peer keeps sending meanwhile.
//!
//! A violation fails the read with a [`Violation`]; the reader turns it into
//! the close code, the metric and the log line.
//!
//! ```text
//! bytes in ─▶ frame::parse (a header) ─▶ Guard::on_header ─▶ budget, deadline
//!                                     └─▶ the frame, once complete
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::Context;
use std::time::Duration;

use tokio::time::{Instant, Sleep};

use crate::limits::{Bucket, Rate};

/// Why the guard ended a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Violation {
    /// Pings, pongs and empty continuation frames came faster than `control_rate`.
    #[error("control frame rate exceeded")]
    ControlRate,
    /// A fragmented message was not complete within `fragment_timeout`.
    #[error("fragmented message not completed in time")]
    FragmentTimeout,
}

/// What the guard enforces, per route.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) control_rate: Rate,
    pub(crate) fragment_timeout: Duration,
}

/// One connection's guard.
#[derive(Debug)]
pub(crate) struct Guard {
    control: Bucket,
    fragment_timeout: Duration,
    /// Set while a fragmented message is open: when it must be complete.
    /// Allocated for the first fragmented message only.
    deadline: Option<Pin<Box<Sleep>>>,
    open: bool,
}

impl Guard {
    pub(crate) fn new(limits: Limits) -> Self {
        Guard {
            control: Bucket::new(limits.control_rate, None),
            fragment_timeout: limits.fragment_timeout,
            deadline: None,
            open: false,
        }
    }

    /// Applies the budget and the deadline to a frame header, as soon as
    /// it is read (its payload may still be on the way).
    pub(crate) fn on_header(&mut self, fin: bool, opcode: u8, len: usize) -> Result<(), Violation> {
        use super::frame::op;
        let counts = matches!(opcode, op::PING | op::PONG) || (opcode == op::CONTINUATION && len == 0);
        let opens = matches!(opcode, op::TEXT | op::BINARY) && !fin;
        if opcode == op::CONTINUATION && fin {
            self.open = false;
        }
        if !counts && !opens {
            return Ok(());
        }
        let now = Instant::now();
        if counts && !self.control.take(now) {
            return Err(Violation::ControlRate);
        }
        if opens {
            self.open = true;
            let until = now + self.fragment_timeout;
            match &mut self.deadline {
                Some(sleep) => sleep.as_mut().reset(until),
                None => self.deadline = Some(Box::pin(tokio::time::sleep_until(until))),
            }
        }
        Ok(())
    }

    /// Fails once an open fragmented message is past its deadline (and
    /// registers the reader to be woken then).
    pub(crate) fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Result<(), Violation> {
        match self.deadline.as_mut() {
            Some(deadline) if self.open => match deadline.as_mut().poll(cx) {
                std::task::Poll::Ready(()) => Err(Violation::FragmentTimeout),
                std::task::Poll::Pending => Ok(()),
            },
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::frame::op;

    #[tokio::test]
    async fn the_control_budget_and_the_fragment_deadline_hold() {
        let limits = |count| Limits {
            control_rate: Rate { count, per: Duration::from_secs(3600) },
            fragment_timeout: Duration::from_millis(20),
        };
        let mut guard = Guard::new(limits(4));
        for _ in 0..4 {
            assert_eq!(guard.on_header(true, op::PING, 0), Ok(()));
        }
        assert_eq!(guard.on_header(true, op::PONG, 0), Err(Violation::ControlRate), "5 over a budget of 4");
        assert_eq!(guard.on_header(true, op::TEXT, 10), Ok(()), "data frames take no token");

        let mut guard = Guard::new(limits(100));
        guard.on_header(false, op::TEXT, 2).expect("first fragment");
        guard.on_header(false, op::CONTINUATION, 0).expect("an empty fragment takes a token");
        let waited = std::future::poll_fn(|cx| match guard.poll_deadline(cx) {
            Ok(()) => std::task::Poll::Pending,
            Err(violation) => std::task::Poll::Ready(violation),
        });
        let violation = tokio::time::timeout(Duration::from_secs(5), waited).await.expect("the deadline fires");
        assert_eq!(violation, Violation::FragmentTimeout);
        guard.on_header(true, op::CONTINUATION, 1).expect("last fragment");
        assert_eq!(std::future::poll_fn(|cx| std::task::Poll::Ready(guard.poll_deadline(cx))).await, Ok(()));
    }
}
