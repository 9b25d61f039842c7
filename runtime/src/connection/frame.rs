//! RFC 6455 framing as a server sees it, in plain functions over bytes: a
//! client frame's header (with every rule that can be checked on it alone),
//! unmasking, a close frame's payload, text checked as it arrives, and a
//! server frame's encoding. The socket (`socket.rs`) drives them; nothing
//! here reads, writes or allocates but the encoded output.

use std::fmt;

use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WireCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame as WireClose;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// The opcodes (RFC 6455 section 5.2).
pub(crate) mod op {
    pub(crate) const CONTINUATION: u8 = 0x0;
    pub(crate) const TEXT: u8 = 0x1;
    pub(crate) const BINARY: u8 = 0x2;
    pub(crate) const CLOSE: u8 = 0x8;
    pub(crate) const PING: u8 = 0x9;
    pub(crate) const PONG: u8 = 0xA;
}

/// The longest header: 2 bytes, a 64-bit length, a mask.
pub(crate) const MAX_HEADER: usize = 14;

/// A client frame's header, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) fin: bool,
    pub(crate) opcode: u8,
    pub(crate) mask: [u8; 4],
    /// The payload's length.
    pub(crate) len: usize,
    /// The header's own length.
    pub(crate) size: usize,
}

impl Header {
    /// The whole frame's length.
    pub(crate) fn total(&self) -> usize {
        self.size.saturating_add(self.len)
    }
}

/// Why a peer's frames failed the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Broke the framing rules (1002).
    Protocol(&'static str),
    /// A frame or a message longer than the route takes (1009).
    TooLong,
    /// A text message or a close reason that is not UTF-8 (1007).
    NotUtf8,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Protocol(what) => f.write_str(what),
            Refusal::TooLong => f.write_str("message too long"),
            Refusal::NotUtf8 => f.write_str("invalid UTF-8"),
        }
    }
}

/// Reads the header at the start of `bytes`: `None` while it is incomplete.
/// Refuses what the header alone shows to be wrong, the length over `max`
/// included, before any of the payload is read.
pub(crate) fn parse(bytes: &[u8], max: usize) -> Result<Option<Header>, Refusal> {
    let [first, second, ..] = *bytes else { return Ok(None) };
    let (fin, opcode) = (first & 0x80 != 0, first & 0x0F);
    if first & 0x70 != 0 {
        return Err(Refusal::Protocol("reserved bits set without an extension"));
    }
    let control = opcode & 0x08 != 0;
    match opcode {
        op::CONTINUATION | op::TEXT | op::BINARY | op::CLOSE | op::PING | op::PONG => {}
        _ => return Err(Refusal::Protocol("unknown opcode")),
    }
    if control && !fin {
        return Err(Refusal::Protocol("fragmented control frame"));
    }
    if second & 0x80 == 0 {
        return Err(Refusal::Protocol("unmasked frame from a client"));
    }
    let (extended, short) = match second & 0x7F {
        126 => (2, None),
        127 => (8, None),
        n => (0, Some(u64::from(n))),
    };
    let size = 2 + extended + 4;
    let Some(head) = bytes.get(..size) else { return Ok(None) };
    let len = short.unwrap_or_else(|| head[2..2 + extended].iter().fold(0u64, |n, b| n << 8 | u64::from(*b)));
    if control && len > 125 {
        return Err(Refusal::Protocol("control frame longer than 125 bytes"));
    }
    // A 64-bit length with its top bit set is invalid too: refused as too long.
    let len = usize::try_from(len).ok().filter(|len| *len <= max).ok_or(Refusal::TooLong)?;
    let mask = [head[size - 4], head[size - 3], head[size - 2], head[size - 1]];
    Ok(Some(Header { fin, opcode, mask, len, size }))
}

/// Removes (or applies) the mask, eight bytes at a time. `offset` is how
/// many bytes of the same payload came before `bytes`.
pub(crate) fn unmask(bytes: &mut [u8], mask: [u8; 4], offset: usize) {
    let mask = {
        let r = offset % 4;
        [mask[r], mask[(r + 1) % 4], mask[(r + 2) % 4], mask[(r + 3) % 4]]
    };
    let wide = u64::from_ne_bytes([mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3]]);
    let mut chunks = bytes.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let Ok(eight) = <[u8; 8]>::try_from(&*chunk) else { continue };
        chunk.copy_from_slice(&(u64::from_ne_bytes(eight) ^ wide).to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= mask[i % 4];
    }
}

/// Checks the text of a message arriving in fragments, from `checked` (the
/// bytes already known good) on: the new `checked`. A character cut by the
/// fragment's end waits for the next one; at the message's end (`fin`) it
/// is an error, as is any invalid sequence at once (fail fast).
pub(crate) fn check_text(text: &[u8], checked: usize, fin: bool) -> Result<usize, Refusal> {
    match std::str::from_utf8(text.get(checked..).unwrap_or_default()) {
        Ok(_) => Ok(text.len()),
        Err(e) if e.error_len().is_none() && !fin => Ok(checked + e.valid_up_to()),
        Err(_) => Err(Refusal::NotUtf8),
    }
}

/// A close frame's payload: nothing, or a permitted code and a UTF-8 reason.
pub(crate) fn close_payload(payload: bytes::Bytes) -> Result<Option<WireClose>, Refusal> {
    match payload.len() {
        0 => return Ok(None),
        1 => return Err(Refusal::Protocol("close frame with a one-byte payload")),
        _ => {}
    }
    let code = WireCode::from(u16::from_be_bytes([payload[0], payload[1]]));
    if !code.is_allowed() {
        return Err(Refusal::Protocol("close code not permitted on the wire"));
    }
    let reason = Utf8Bytes::try_from(payload.slice(2..)).map_err(|_| Refusal::NotUtf8)?;
    Ok(Some(WireClose { code, reason }))
}

/// Appends a server frame (final, unmasked) to `out`.
pub(crate) fn encode(out: &mut Vec<u8>, opcode: u8, payload: &[&[u8]]) {
    let len: usize = payload.iter().map(|p| p.len()).sum();
    out.reserve(10 + len);
    out.push(0x80 | opcode);
    match len {
        0..=125 => out.push(len as u8),
        126..=0xFFFF => {
            out.push(126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    for part in payload {
        out.extend_from_slice(part);
    }
}

/// The length of a frame `encode` writes for `len` payload bytes.
pub(crate) fn encoded_len(len: usize) -> usize {
    len + match len {
        0..=125 => 2,
        126..=0xFFFF => 4,
        _ => 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(first: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
        let mut out = Vec::new();
        encode(&mut out, first & 0x0F, &[payload]);
        out[0] = first;
        out[1] |= 0x80;
        let mut body = out.split_off(out.len() - payload.len());
        unmask(&mut body, mask, 0);
        out.extend_from_slice(&mask);
        out.extend(body);
        out
    }

    #[test]
    fn headers_parse_in_every_length_form_and_wait_when_cut() {
        for len in [0, 5, 125, 126, 300, 65_535, 65_536, 100_000] {
            let payload = vec![7u8; len];
            let wire = masked(0x82, &payload, [1, 2, 3, 4]);
            let header = parse(&wire, usize::MAX).expect("valid").expect("complete");
            assert_eq!((header.fin, header.opcode, header.len, header.mask), (true, 2, len, [1, 2, 3, 4]));
            assert_eq!(header.size + len, wire.len());
            for cut in 0..header.size {
                assert_eq!(parse(&wire[..cut], usize::MAX), Ok(None), "len {len} cut {cut}");
            }
            let mut body = wire[header.size..].to_vec();
            unmask(&mut body, header.mask, 0);
            assert_eq!(body, payload);
        }
    }

    #[test]
    fn headers_refuse_what_the_rfc_forbids() {
        let protocol = |bytes: &[u8]| matches!(parse(bytes, 1000), Err(Refusal::Protocol(_)));
        assert!(protocol(&[0x81, 0x05]), "unmasked");
        assert!(protocol(&[0xC1, 0x80]), "rsv1");
        assert!(protocol(&[0x83, 0x80]), "opcode 3");
        assert!(protocol(&[0x09, 0x80]), "fragmented ping");
        assert!(protocol(&[0x89, 0xFE, 0x00, 0x7E, 0, 0, 0, 0]), "126-byte ping");
        assert_eq!(parse(&[0x82, 0xFE, 0x03, 0xE9, 0, 0, 0, 0], 1000), Err(Refusal::TooLong));
        let huge = [0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0];
        assert_eq!(parse(&huge, 1 << 40), Err(Refusal::TooLong));
    }

    #[test]
    fn unmasking_in_pieces_equals_unmasking_at_once() {
        let data: Vec<u8> = (0..=255).collect();
        let mask = [0xA1, 0x02, 0x7F, 0xFF];
        let mut whole = data.clone();
        unmask(&mut whole, mask, 0);
        let expected: Vec<u8> = data.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]).collect();
        assert_eq!(whole, expected);
        let mut pieces = data.clone();
        let (a, rest) = pieces.split_at_mut(3);
        let (b, c) = rest.split_at_mut(101);
        unmask(a, mask, 0);
        unmask(b, mask, 3);
        unmask(c, mask, 104);
        assert_eq!(pieces, expected);
    }

    #[test]
    fn text_is_checked_as_fragments_arrive() {
        let euro = "€".as_bytes();
        assert_eq!(check_text(&euro[..2], 0, false), Ok(0));
        assert_eq!(check_text(euro, 0, true), Ok(3));
        assert_eq!(check_text(&euro[..2], 0, true), Err(Refusal::NotUtf8));
        assert_eq!(check_text(b"a\xFF", 0, false), Err(Refusal::NotUtf8), "fails fast");
        assert_eq!(check_text(b"a\xE2\x82(", 1, false), Err(Refusal::NotUtf8));
    }

    #[test]
    fn close_payloads_are_checked() {
        use bytes::Bytes;
        assert_eq!(close_payload(Bytes::new()), Ok(None));
        assert!(matches!(close_payload(Bytes::from_static(&[3])), Err(Refusal::Protocol(_))));
        assert!(matches!(close_payload(Bytes::from_static(&[0x03, 0xEC])), Err(Refusal::Protocol(_))), "1004");
        assert!(matches!(close_payload(Bytes::from_static(&[0x13, 0x88])), Err(Refusal::Protocol(_))), "5000");
        assert_eq!(close_payload(Bytes::from_static(b"\x03\xe8\xc3\x28")), Err(Refusal::NotUtf8));
        let frame = close_payload(Bytes::from_static(b"\x0f\xa0app")).expect("valid").expect("a frame");
        assert_eq!((u16::from(frame.code), frame.reason.as_str()), (4000, "app"));
    }

    #[test]
    fn encoded_lengths_match_the_encoding() {
        for len in [0, 125, 126, 65_535, 65_536] {
            let mut out = Vec::new();
            encode(&mut out, op::BINARY, &[&vec![0; len]]);
            assert_eq!(out.len(), encoded_len(len));
        }
    }
}
