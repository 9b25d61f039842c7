//! The client behind a reverse proxy: which socket peers are trusted
//! proxies ([`Cidr`], `Config::trusted_proxies`), and what their forwarding
//! headers say about the client (`X-Forwarded-For`/`-Host`/`-Proto`, or
//! RFC 7239 `Forwarded`, as `Config::proxy_headers` chooses).
//!
//! ```
//! use wirehub::config::Cidr;
//!
//! let proxies: Cidr = "10.0.0.0/8".parse().expect("a CIDR");
//! assert!(proxies.contains("10.1.2.3".parse().expect("an IP")));
//! ```
//!
//! Invariants:
//! - forwarding headers are read only when the socket peer is trusted; from
//!   anyone else they change nothing;
//! - the client is the rightmost address of the forwarding chain that is not
//!   a trusted proxy (what a client writes to the left of it cannot move the
//!   answer); an entry that does not parse stops the walk at the proxy that
//!   wrote it, never at a client-chosen value;
//! - host and scheme are the nearest trusted proxy's (the rightmost value).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use http::header::{HeaderMap, HeaderName};

/// A block of IP addresses, such as `10.0.0.0/8` or `fd00::/8`; a bare
/// address (`127.0.0.1`) is the block of that one address.
///
/// ```
/// use wirehub::config::Cidr;
///
/// let lan: Cidr = "192.168.0.0/16".parse().expect("a CIDR");
/// assert!(lan.contains("192.168.7.1".parse().expect("an IP")));
/// assert!(!lan.contains("10.0.0.1".parse().expect("an IP")));
/// assert!("192.168.0.0/33".parse::<Cidr>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// Why a [`Cidr`] could not be made (the message says what to write).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CidrError(String);

impl Cidr {
    /// The block of the addresses sharing the first `prefix` bits of `addr`
    /// (its other bits are ignored). An IPv4-mapped IPv6 block
    /// (`::ffff:10.0.0.0/104`) is taken as the IPv4 block (`10.0.0.0/8`).
    ///
    /// ```
    /// use wirehub::config::Cidr;
    ///
    /// let block = Cidr::new("2001:db8::1".parse().expect("an IP"), 32).expect("a prefix of at most 128");
    /// assert_eq!(block.to_string(), "2001:db8::/32");
    /// ```
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Cidr, CidrError> {
        let written = addr;
        let addr = addr.to_canonical();
        let prefix = match (written, addr) {
            (IpAddr::V6(_), IpAddr::V4(_)) => prefix.checked_sub(96).ok_or_else(|| {
                CidrError(format!("prefix /{prefix} of the IPv4-mapped `{written}` is shorter than /96"))
            })?,
            _ => prefix,
        };
        let max = max_prefix(addr);
        if prefix > max {
            return Err(CidrError(format!("prefix /{prefix} is longer than the {max} bits of `{addr}`")));
        }
        Ok(Cidr { network: mask(addr, prefix), prefix })
    }

    /// Whether `ip` is in the block (IPv4-mapped IPv6 addresses count as IPv4).
    ///
    /// ```
    /// let block: wirehub::config::Cidr = "fd00::/8".parse().expect("a CIDR");
    /// assert!(block.contains("fd12::1".parse().expect("an IP")));
    /// ```
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.network.is_ipv4() && mask(ip, self.prefix) == self.network
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    /// `ip/prefix` (`10.0.0.0/8`, `fd00::/8`) or a bare `ip`.
    fn from_str(s: &str) -> Result<Cidr, CidrError> {
        let bad = || CidrError(format!("invalid CIDR `{s}`: write an IP and a prefix length, such as `10.0.0.0/8`"));
        let (ip, prefix) = match s.trim().split_once('/') {
            Some((ip, prefix)) => (ip, Some(prefix.parse::<u8>().map_err(|_| bad())?)),
            None => (s.trim(), None),
        };
        let ip: IpAddr = ip.parse().map_err(|_| bad())?;
        Cidr::new(ip, prefix.unwrap_or_else(|| max_prefix(ip)))
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

fn max_prefix(ip: IpAddr) -> u8 {
    if ip.is_ipv4() {
        32
    } else {
        128
    }
}

/// `ip` with every bit after the first `prefix` cleared.
pub(crate) fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4) & u32::MAX.checked_shl(32 - u32::from(prefix.min(32))).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(bits))
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & u128::MAX.checked_shl(128 - u32::from(prefix.min(128))).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
    }
}

/// Which forwarding headers a trusted proxy's requests are read from. Only
/// one family is read: a proxy that sets one passes the other through as the
/// client sent it, so reading both would let a client choose its address.
///
/// ```
/// use wirehub::config::ProxyHeaders;
///
/// let app = wirehub::App::new().config(|c| c.proxy_headers = ProxyHeaders::Forwarded);
/// # drop(app);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyHeaders {
    /// `X-Forwarded-For`, `X-Forwarded-Host`, `X-Forwarded-Proto`: what
    /// nginx, Caddy, HAProxy and most load balancers send. The default.
    #[default]
    XForwarded,
    /// RFC 7239 `Forwarded` (`for=`, `host=`, `proto=`).
    Forwarded,
}

/// Who the client of a request is, once the trusted proxies are looked through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Client {
    /// The client's address (port 0 when the proxy did not forward one).
    pub(crate) addr: SocketAddr,
    /// The host the client asked for, from a trusted proxy.
    pub(crate) host: Option<String>,
    /// The scheme the client used (`http`, `https`), from a trusted proxy.
    pub(crate) proto: Option<String>,
}

impl Client {
    /// The socket peer itself: no proxy in between, or none trusted.
    pub(crate) fn direct(peer: SocketAddr) -> Client {
        Client { addr: peer, host: None, proto: None }
    }
}

/// The client of a request that came from socket peer `peer`.
pub(crate) fn resolve(peer: SocketAddr, headers: &HeaderMap, trusted: &[Cidr], which: ProxyHeaders) -> Client {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer.ip()) {
        return Client::direct(peer);
    }
    match which {
        ProxyHeaders::XForwarded => {
            let chain: Vec<&str> = values(headers, "x-forwarded-for").collect();
            let addr = walk(peer, chain.iter().map(|hop| parse_node(hop)), is_trusted).0;
            let last = |name| values(headers, name).last().filter(|v| !v.is_empty()).map(str::to_owned);
            Client { addr, host: last("x-forwarded-host"), proto: last("x-forwarded-proto") }
        }
        ProxyHeaders::Forwarded => {
            let elements: Vec<Element<'_>> = values(headers, "forwarded").map(Element::parse).collect();
            let (addr, at) = walk(peer, elements.iter().map(|e| e.node.and_then(parse_node)), is_trusted);
            let element = at.and_then(|i| elements.get(i));
            let owned = |v: Option<&str>| v.filter(|v| !v.is_empty()).map(str::to_owned);
            Client { addr, host: owned(element.and_then(|e| e.host)), proto: owned(element.and_then(|e| e.proto)) }
        }
    }
}

/// Walks a forwarding chain from the right: the first hop that is not a
/// trusted proxy is the client (with its index in the chain). A hop that
/// does not parse ends the walk at the proxy that wrote it.
fn walk(
    peer: SocketAddr,
    chain: impl DoubleEndedIterator<Item = Option<SocketAddr>> + ExactSizeIterator,
    is_trusted: impl Fn(IpAddr) -> bool,
) -> (SocketAddr, Option<usize>) {
    let mut client = (peer, None);
    for (i, hop) in chain.enumerate().rev() {
        let Some(hop) = hop else { return client };
        client = (hop, Some(i));
        if !is_trusted(hop.ip()) {
            break;
        }
    }
    client
}

/// The comma-separated values of every `name` header, in order.
fn values<'h>(headers: &'h HeaderMap, name: &'static str) -> impl DoubleEndedIterator<Item = &'h str> + 'h {
    headers
        .get_all(HeaderName::from_static(name))
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
}

/// One element of a `Forwarded` header: `for=...;host=...;proto=...`.
#[derive(Debug, Default)]
struct Element<'h> {
    node: Option<&'h str>,
    host: Option<&'h str>,
    proto: Option<&'h str>,
}

impl<'h> Element<'h> {
    fn parse(element: &'h str) -> Element<'h> {
        let mut parsed = Element::default();
        for pair in element.split(';') {
            let Some((key, value)) = pair.split_once('=') else { continue };
            let value = value.trim().trim_matches('"');
            match key.trim().to_ascii_lowercase().as_str() {
                "for" => parsed.node = Some(value),
                "host" => parsed.host = Some(value),
                "proto" => parsed.proto = Some(value),
                _ => {}
            }
        }
        parsed
    }
}

/// A forwarded node: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`,
/// `[2001:db8::1]:4711` (port 0 when none is given). `unknown` and
/// obfuscated names (`_hidden`) are no address.
fn parse_node(node: &str) -> Option<SocketAddr> {
    let node = node.trim().trim_matches('"');
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip.to_canonical(), 0));
    }
    if let Some(inner) = node.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().ok().map(|ip| SocketAddr::new(IpAddr::V6(ip).to_canonical(), 0));
    }
    let addr: SocketAddr = node.parse().ok()?;
    Some(SocketAddr::new(addr.ip().to_canonical(), addr.port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidrs(list: &[&str]) -> Vec<Cidr> {
        list.iter().map(|c| c.parse().expect("cidr")).collect()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(HeaderName::from_bytes(k.as_bytes()).expect("name"), v.parse().expect("value"));
        }
        map
    }

    fn peer(s: &str) -> SocketAddr {
        s.parse().expect("socket address")
    }

    #[test]
    fn cidrs_parse_mask_and_match() {
        let cases: &[(&str, Option<&str>)] = &[
            ("10.0.0.0/8", Some("10.0.0.0/8")),
            ("10.9.8.7/8", Some("10.0.0.0/8")),
            ("127.0.0.1", Some("127.0.0.1/32")),
            ("::1", Some("::1/128")),
            ("2001:db8::1/32", Some("2001:db8::/32")),
            ("::ffff:10.0.0.1/8", None),
            ("::ffff:10.0.0.1/104", Some("10.0.0.0/8")),
            ("::ffff:10.0.0.1", Some("10.0.0.1/32")),
            ("0.0.0.0/0", Some("0.0.0.0/0")),
            ("10.0.0.0/33", None),
            ("10.0.0.0/x", None),
            ("nope", None),
            ("", None),
        ];
        for (text, shown) in cases {
            assert_eq!(text.parse::<Cidr>().ok().map(|c| c.to_string()).as_deref(), *shown, "{text}");
        }
        let lan: Cidr = "10.0.0.0/8".parse().expect("cidr");
        assert!(lan.contains("10.255.0.1".parse().expect("ip")));
        assert!(lan.contains("::ffff:10.1.1.1".parse().expect("ip")), "IPv4-mapped counts as IPv4");
        assert!(!lan.contains("11.0.0.1".parse().expect("ip")));
        assert!(!"::/0".parse::<Cidr>().expect("cidr").contains("10.0.0.1".parse().expect("ip")));
    }

    #[test]
    fn untrusted_peers_headers_change_nothing() {
        let h = headers(&[("x-forwarded-for", "203.0.113.9"), ("x-forwarded-host", "evil.com")]);
        let client = resolve(peer("198.51.100.1:5000"), &h, &cidrs(&["10.0.0.0/8"]), ProxyHeaders::XForwarded);
        assert_eq!(client, Client::direct(peer("198.51.100.1:5000")));
        assert_eq!(resolve(peer("10.0.0.1:1"), &h, &[], ProxyHeaders::XForwarded), Client::direct(peer("10.0.0.1:1")));
    }

    #[test]
    fn x_forwarded_for_is_walked_from_the_right() {
        let trusted = cidrs(&["10.0.0.0/8"]);
        let cases: &[(&[&str], &str)] = &[
            (&["203.0.113.9"], "203.0.113.9:0"),
            // The client wrote a fake first entry; the proxy appended the real one.
            (&["1.2.3.4, 203.0.113.9"], "203.0.113.9:0"),
            (&["1.2.3.4", "203.0.113.9, 10.0.0.2"], "203.0.113.9:0"),
            (&["10.0.0.3, 10.0.0.2"], "10.0.0.3:0"),
            (&["2001:db8::7"], "[2001:db8::7]:0"),
            (&["[2001:db8::7]:4711"], "[2001:db8::7]:4711"),
            (&["::ffff:203.0.113.9"], "203.0.113.9:0"),
            (&["1.2.3.4, garbage"], "10.0.0.1:80"),
            (&[], "10.0.0.1:80"),
        ];
        for (values, client) in cases {
            let pairs: Vec<(&str, &str)> = values.iter().map(|v| ("x-forwarded-for", *v)).collect();
            let got = resolve(peer("10.0.0.1:80"), &headers(&pairs), &trusted, ProxyHeaders::XForwarded);
            assert_eq!(got.addr, peer(client), "{values:?}");
        }
    }

    #[test]
    fn host_and_proto_are_the_nearest_proxys() {
        let trusted = cidrs(&["10.0.0.0/8"]);
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-host", "spoof.example, app.example.com"),
            ("x-forwarded-proto", "https"),
            ("forwarded", "for=1.1.1.1;host=ignored"),
        ]);
        let client = resolve(peer("10.0.0.1:80"), &h, &trusted, ProxyHeaders::XForwarded);
        assert_eq!(client.host.as_deref(), Some("app.example.com"));
        assert_eq!(client.proto.as_deref(), Some("https"));
        assert_eq!(client.addr, peer("203.0.113.9:0"), "Forwarded is not read in XForwarded mode");
    }

    #[test]
    fn forwarded_elements_are_walked_from_the_right() {
        let trusted = cidrs(&["10.0.0.0/8"]);
        let h = headers(&[(
            "forwarded",
            r#"for=1.2.3.4;host=fake, for="[2001:db8::17]:4711";proto=https;host=app.example.com, for=10.0.0.2"#,
        )]);
        let client = resolve(peer("10.0.0.1:80"), &h, &trusted, ProxyHeaders::Forwarded);
        assert_eq!(client.addr, peer("[2001:db8::17]:4711"));
        assert_eq!(client.host.as_deref(), Some("app.example.com"));
        assert_eq!(client.proto.as_deref(), Some("https"));
        let hidden = headers(&[("forwarded", "for=_hidden;proto=https")]);
        assert_eq!(resolve(peer("10.0.0.1:80"), &hidden, &trusted, ProxyHeaders::Forwarded).addr, peer("10.0.0.1:80"));
        let xff = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(resolve(peer("10.0.0.1:80"), &xff, &trusted, ProxyHeaders::Forwarded).addr, peer("10.0.0.1:80"));
    }
}
