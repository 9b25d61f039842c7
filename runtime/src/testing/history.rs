//! What a test client received: the last few frames and counts of all of
//! them, printed in every failed expectation so that it says what came
//! instead.
//!
//! Invariant: recording costs a reference count per frame (payloads are
//! `Bytes`), never a copy or a formatted string; text is only made when a
//! failure is reported.

use std::collections::VecDeque;
use std::fmt;

use crate::message::{CloseFrame, Message};

/// How many of the last frames a failure message shows.
const KEPT: usize = 8;

/// How much of a payload a failure message shows (characters of text, bytes
/// of binary).
const SHOWN: usize = 160;

/// The frames a client received: the last [`KEPT`] data and close frames,
/// and how many of each kind came in all.
#[derive(Debug, Default)]
pub(crate) struct History {
    last: VecDeque<Message>,
    messages: u64,
    pings: u64,
}

impl History {
    /// Notes a frame that arrived.
    pub(crate) fn record(&mut self, frame: &Message) {
        match frame {
            // Answered by the client (tungstenite) and not shown: a busy
            // heartbeat would push the messages out of the window.
            Message::Ping(_) => self.pings += 1,
            Message::Pong(_) => {}
            _ => {
                if matches!(frame, Message::Text(_) | Message::Binary(_)) {
                    self.messages += 1;
                }
                if self.last.len() == KEPT {
                    self.last.pop_front();
                }
                self.last.push_back(frame.clone());
            }
        }
    }

    /// How many pings the server sent (each one answered).
    pub(crate) fn pings(&self) -> u64 {
        self.pings
    }
}

impl fmt::Display for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pings = match self.pings {
            0 => String::new(),
            1 => " (and 1 ping, answered)".to_owned(),
            n => format!(" (and {n} pings, answered)"),
        };
        if self.last.is_empty() {
            return write!(f, "received so far: nothing{pings}");
        }
        let shown = self.last.iter().filter(|m| m.is_text() || m.is_binary()).count() as u64;
        write!(f, "received so far: {} message(s){pings}", self.messages)?;
        match self.messages.saturating_sub(shown) {
            0 => write!(f, ", oldest first:")?,
            earlier => write!(f, "; the last {} frames, oldest first ({earlier} earlier not shown):", self.last.len())?,
        }
        for (i, frame) in self.last.iter().enumerate() {
            write!(f, "\n  {}. {}", i + 1, Described(frame))?;
        }
        Ok(())
    }
}

/// A frame as a failure message shows it: its kind, then its payload, cut
/// to [`SHOWN`].
pub(crate) struct Described<'a>(pub(crate) &'a Message);

impl fmt::Display for Described<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Message::Text(text) => {
                let text = text.as_str();
                match text.char_indices().nth(SHOWN) {
                    Some((cut, _)) => write!(f, "text {:?}... ({} bytes)", &text[..cut], text.len()),
                    None => write!(f, "text {text:?}"),
                }
            }
            Message::Binary(bytes) => {
                write!(f, "binary ({} bytes) [", bytes.len())?;
                for (i, byte) in bytes.iter().take(SHOWN / 4).enumerate() {
                    write!(f, "{}{byte:02x}", if i == 0 { "" } else { " " })?;
                }
                write!(f, "{}]", if bytes.len() > SHOWN / 4 { " ..." } else { "" })
            }
            Message::Ping(_) => write!(f, "ping"),
            Message::Pong(_) => write!(f, "pong"),
            Message::Close(Some(frame)) => write!(f, "{}", ClosedBy(frame)),
            Message::Close(None) => write!(f, "close without a code"),
        }
    }
}

/// How a connection ended, as a failure message shows it.
pub(crate) struct ClosedBy<'a>(pub(crate) &'a CloseFrame);

impl fmt::Display for ClosedBy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let CloseFrame { code, reason } = self.0;
        match u16::from(*code) {
            1006 => write!(f, "the connection dropped without a close frame ({reason})"),
            _ => write!(f, "close {code} {:?}", reason.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CloseCode;

    #[test]
    fn shows_the_last_frames_and_counts_the_rest() {
        let mut history = History::default();
        assert_eq!(history.to_string(), "received so far: nothing");
        for i in 0..10 {
            history.record(&Message::text(format!("m{i}")));
        }
        history.record(&Message::Ping(bytes::Bytes::new()));
        history.record(&Message::Close(Some(CloseFrame::new(CloseCode::Policy, "slow down"))));
        let shown = history.to_string();
        assert!(
            shown.starts_with(
                "received so far: 10 message(s) (and 1 ping, answered); the last 8 frames, oldest first (3 earlier"
            ),
            "{shown}"
        );
        assert!(!shown.contains("\"m2\"") && shown.contains("\"m3\""), "{shown}");
        assert!(shown.ends_with("8. close 1008 \"slow down\""), "{shown}");
    }

    #[test]
    fn cuts_long_payloads() {
        let long = Message::text("é".repeat(500));
        let shown = Described(&long).to_string();
        assert!(shown.ends_with("... (1000 bytes)") && shown.chars().count() < 200, "{shown}");
        let binary = Message::binary(vec![0xab; 100]);
        assert!(Described(&binary).to_string().starts_with("binary (100 bytes) [ab ab"));
        assert!(Described(&Message::binary(vec![1, 2])).to_string().ends_with("[01 02]"));
    }
}
