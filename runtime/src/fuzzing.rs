//! Entry points for the fuzz targets (`fuzz/`, cargo-fuzz) and the
//! properties that cover the same code on stable (`tests/fuzz_props.rs`):
//! the upgrade request's header handling, the frame guard's header reader,
//! and the backplane codec. Not a public API.
//!
//! Each takes arbitrary bytes and returns `Err` with what broke when an
//! invariant does not hold; none may panic.

use http::header::{HeaderMap, HeaderName, HeaderValue};

use crate::auth::handshake::{kept_query, offered_protocols};
use crate::auth::{origin_allowed, AllowedHosts, Handshake, Origins};

/// A request head as a peer sends it: `GET <target> HTTP/1.1`, then
/// `name: value` lines. Checks the key, origin and subprotocol handling and
/// what a validator reads, and that `Handshake`'s `Debug` shows no credential.
pub fn upgrade_request(data: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split("\r\n");
    let target = lines.next().and_then(|l| l.split(' ').nth(1)).unwrap_or("/");
    let (path, query) = target.split_once('?').map_or((target, None), |(p, q)| (p, Some(q)));
    let mut headers = HeaderMap::new();
    for line in lines.take(64) {
        let Some((name, value)) = line.split_once(':') else { continue };
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name.trim().as_bytes()), HeaderValue::from_str(value.trim()))
        {
            headers.append(name, value);
        }
    }
    if let Some(key) = headers.get(http::header::SEC_WEBSOCKET_KEY) {
        let _ = crate::server::valid_key(key.as_bytes());
    }
    let hosts = AllowedHosts::new(([127, 0, 0, 1], 8000).into(), &["app.example".to_owned()]);
    for policy in
        [Origins::AllowedHosts, Origins::SameHost, Origins::from_list(&["https://a.example", "*.b.example", "null"])]
    {
        let _ = origin_allowed(&headers, None, &policy, &hosts);
    }
    let hs = Handshake {
        method: http::Method::GET,
        path: path.to_owned(),
        param_names: &[],
        params: Box::new([]),
        query: query.map(str::to_owned),
        protocols: offered_protocols(&headers),
        headers: headers.clone(),
        peer: ([127, 0, 0, 1], 1).into(),
        secure: false,
    };
    let _ = (hs.token(), hs.cookie("session"), hs.query("token"), hs.protocol_token());
    let kept = kept_query(query.unwrap_or(""), true);
    if kept.split('&').any(|pair| pair == "token" || pair.starts_with("token=")) {
        return Err(format!("a token stayed in the kept query {kept:?}"));
    }
    // Each credential header alone: its value may show in the Debug text
    // only as often as in the text of the same handshake without it.
    let is_credential = |name: &HeaderName| name.as_str().contains("auth") || name.as_str().contains("token");
    for (name, value) in headers.iter().filter(|(name, _)| is_credential(name)) {
        let with = |v: HeaderValue| {
            let mut alone = HeaderMap::new();
            alone.append(name.clone(), v);
            format!("{:?}", Handshake { headers: alone, query: None, protocols: Vec::new(), ..hs.clone() })
        };
        let text = value.to_str().unwrap_or("");
        let (shown, skeleton) = (with(value.clone()), with(HeaderValue::from_static("-")));
        if !text.is_empty() && shown.matches(text).count() > skeleton.matches(text).count() {
            return Err(format!("Debug shows the value of {name}"));
        }
    }
    Ok(())
}

/// The connection's frame reader (`connection/socket.rs`: framing rules,
/// unmasking, fragments, UTF-8, close frames, the guard): the messages read
/// from `data` and how the reading ends are the same whatever the cuts the
/// bytes arrive in (`data[0]` picks the cut size).
pub fn frame_reader(data: &[u8]) -> Result<(), String> {
    let Some((&cut, stream)) = data.split_first() else { return Ok(()) };
    let whole = crate::connection::read_all(stream, stream.len().max(1));
    let pieces = crate::connection::read_all(stream, usize::from(cut).max(1));
    match whole == pieces {
        true => Ok(()),
        false => Err(format!("cut {cut}: {whole:?} whole, {pieces:?} in pieces")),
    }
}

/// The backplane codec: what decodes re-encodes to the same bytes, and a
/// sealed frame opens only unchanged, under its key and channel.
#[cfg(feature = "redis")]
pub fn backplane_codec(data: &[u8]) -> Result<(), String> {
    use crate::backplane::{decode, encode, encode_presence, open, seal};
    use tokio_tungstenite::tungstenite;
    let frame = bytes::Bytes::copy_from_slice(data);
    if let Some(envelope) = decode(frame.clone()) {
        let again = match &envelope.message {
            tungstenite::Message::Binary(payload) if envelope.presence => encode_presence(envelope.origin, payload),
            message => encode(envelope.origin, envelope.except, &envelope.key, message),
        };
        if again.as_ref() != Some(&frame) {
            return Err("a decoded envelope does not re-encode to its bytes".to_owned());
        }
    }
    if open(b"key", "ch", frame.clone()).is_some() {
        return Err("arbitrary bytes opened as a sealed frame".to_owned());
    }
    let sealed = seal(b"key", "ch", data).ok_or("sealing failed")?;
    match (open(b"key", "ch", sealed.clone()), open(b"key", "other", sealed)) {
        (Some(opened), None) if opened == frame => Ok(()),
        _ => Err("a sealed frame did not open exactly under its key and channel".to_owned()),
    }
}
