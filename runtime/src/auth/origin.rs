//! Origin checks against cross-site WebSocket hijacking and DNS rebinding.
//!
//! Browsers send `Origin` on every WebSocket handshake and attach the site's
//! cookies, so without a check any page on the web can open a socket with the
//! visitor's session. Requests without `Origin` (non-browser clients, which
//! can forge any header anyway) are accepted.
//!
//! The default policy is [`Origins::AllowedHosts`]: the origin's scheme must
//! be `http` or `https` and its host one the server knows to be its own: the
//! address it is bound to, a `localhost` name (`localhost`, `*.localhost`,
//! `127.0.0.1`, `[::1]`), or an entry of
//! [`Config::allowed_hosts`](crate::Config::allowed_hosts). It never trusts
//! the `Host` header: under DNS rebinding a page on `attacker.example`
//! (which resolves to the server) sends `Origin: http://attacker.example`
//! *and* `Host: attacker.example`, so comparing the two proves nothing.
//!
//! An allow-list ([`App::origins`](crate::App::origins) or the route option
//! `origins = [...]`) replaces the default: entries are exact origins
//! (`https://app.example.com`, scheme and port compared) or wildcards of
//! subdomains (`*.example.com`, over `http` or `https`); `*` allows all.
//!
//! ```
//! # use wirehub::config::Origins;
//! let app = wirehub::App::new().config(|c| c.allowed_hosts = vec!["chat.example.com".into()]);
//! # drop(app);
//! assert_eq!(Origins::default(), Origins::AllowedHosts);
//! ```

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;

/// Which origins may open connections.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Origins {
    /// The server's own hosts: the bind address, `localhost` names and
    /// `Config::allowed_hosts`, over `http` or `https` (the default).
    #[default]
    AllowedHosts,
    /// The origin's host and port equal the `Host` header's. Weaker than
    /// `AllowedHosts`: both headers come from the attacker's page under DNS
    /// rebinding. Kept for servers whose public names are not known in advance.
    SameHost,
    /// These origins only.
    List(Vec<String>),
}

impl Origins {
    /// The policy of a route's `origins = [...]` list.
    pub(crate) fn from_list(list: &[&str]) -> Origins {
        Origins::List(list.iter().map(|o| (*o).to_owned()).collect())
    }
}

/// The hosts the default policy accepts, built once when the server binds.
#[derive(Debug, Clone, Default)]
pub(crate) struct AllowedHosts {
    /// The bound IP, unless it is unspecified (`0.0.0.0`, `[::]`).
    bound: Option<IpAddr>,
    /// `Config::allowed_hosts`, lowercased: `host` (any port) or `host:port`.
    configured: Vec<String>,
}

impl AllowedHosts {
    pub(crate) fn new(bound: SocketAddr, configured: &[String]) -> Self {
        let bound = Some(bound.ip()).filter(|ip| !ip.is_unspecified());
        let configured = configured.iter().map(|h| h.trim().trim_end_matches('/').to_ascii_lowercase()).collect();
        AllowedHosts { bound, configured }
    }

    /// Whether `authority` (`host[:port]`, lowercase) names this server.
    fn allows(&self, authority: &str) -> bool {
        let host = strip_port(authority);
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let ip = bare.parse::<IpAddr>().ok();
        host == "localhost"
            || host.ends_with(".localhost")
            || ip.is_some_and(|ip| ip.is_loopback() || Some(ip) == self.bound)
            || self.configured.iter().any(|c| c == authority || c == host)
    }
}

/// Whether the request's origin passes `policy`.
/// `forwarded_host` is the host a trusted proxy says the client asked for;
/// only [`Origins::SameHost`] compares with it (else with the `Host` header).
pub(crate) fn origin_allowed(
    headers: &HeaderMap,
    forwarded_host: Option<&str>,
    policy: &Origins,
    hosts: &AllowedHosts,
) -> bool {
    let Some(origin) = headers.get(http::header::ORIGIN) else { return true };
    let Ok(origin) = origin.to_str() else { return false };
    let origin = origin.trim_end_matches('/');
    match policy {
        Origins::AllowedHosts => {
            web_authority(origin).is_some_and(|authority| hosts.allows(&authority.to_ascii_lowercase()))
        }
        Origins::SameHost => {
            let host = forwarded_host.or_else(|| headers.get(http::header::HOST).and_then(|h| h.to_str().ok()));
            host.zip(web_authority(origin)).is_some_and(|(host, authority)| authority.eq_ignore_ascii_case(host))
        }
        Origins::List(list) => list.iter().any(|allowed| matches(allowed, origin)),
    }
}

/// `https://a.example.com:8443` → `a.example.com:8443`; `None` unless the
/// scheme is `http` or `https` (`null`, `file://`, extensions' schemes).
fn web_authority(origin: &str) -> Option<&str> {
    let (scheme, rest) = origin.split_once("://")?;
    let web = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
    (web && !rest.is_empty() && !rest.contains(['/', '@'])).then_some(rest)
}

/// `host:8080` → `host`, `[::1]:8080` → `[::1]`, `host` → `host`.
fn strip_port(authority: &str) -> &str {
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !host.ends_with(':') => host,
        _ => authority,
    }
}

fn matches(allowed: &str, origin: &str) -> bool {
    if allowed == "*" {
        return true;
    }
    if let Some(suffix) = allowed.strip_prefix("*.") {
        let Some(authority) = web_authority(origin) else { return false };
        let host = strip_port(authority);
        return host.len() > suffix.len()
            && host.to_ascii_lowercase().ends_with(&suffix.to_ascii_lowercase())
            && host.as_bytes()[host.len() - suffix.len() - 1] == b'.';
    }
    allowed.trim_end_matches('/').eq_ignore_ascii_case(origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::HOST, host.parse().expect("host"));
        if let Some(o) = origin {
            h.insert(http::header::ORIGIN, o.parse().expect("origin"));
        }
        h
    }

    fn hosts(bound: &str, configured: &[&str]) -> AllowedHosts {
        let configured: Vec<String> = configured.iter().map(|s| (*s).to_owned()).collect();
        AllowedHosts::new(bound.parse().expect("addr"), &configured)
    }

    #[test]
    fn allowed_hosts_resist_rebinding() {
        let h = hosts("10.1.2.3:8000", &["chat.example.com", "api.example.com:8443"]);
        let policy = Origins::AllowedHosts;
        let ok = [
            None,
            Some("http://localhost:3000"),
            Some("http://app.localhost"),
            Some("https://127.0.0.1:8000"),
            Some("http://[::1]:8000"),
            Some("http://10.1.2.3:8000"),
            Some("https://CHAT.example.com"),
            Some("https://chat.example.com:444"),
            Some("https://api.example.com:8443"),
        ];
        for o in ok {
            assert!(origin_allowed(&headers(o, "whatever"), None, &policy, &h), "{o:?}");
        }
        let bad = [
            ("http://attacker.example", "attacker.example"),
            ("http://attacker.example:8000", "attacker.example:8000"),
            ("https://api.example.com", "api.example.com"),
            ("http://localhost.attacker.example", "localhost.attacker.example"),
            ("file://localhost", "localhost"),
            ("null", "localhost"),
            ("http://10.1.2.4:8000", "10.1.2.4:8000"),
            ("http://user@localhost", "localhost"),
        ];
        for (o, host) in bad {
            assert!(!origin_allowed(&headers(Some(o), host), None, &policy, &h), "{o}");
        }
        // An unspecified bind address allows no IP but loopback.
        let any = hosts("0.0.0.0:8000", &[]);
        assert!(!origin_allowed(&headers(Some("http://0.0.0.0:8000"), "h"), None, &policy, &any));
        assert!(origin_allowed(&headers(Some("http://127.0.0.1:8000"), "h"), None, &policy, &any));
    }

    #[test]
    fn same_host_compares_origin_and_host() {
        let h = AllowedHosts::default();
        assert!(origin_allowed(&headers(None, "a.com"), None, &Origins::SameHost, &h));
        assert!(origin_allowed(&headers(Some("https://a.com"), "a.com"), None, &Origins::SameHost, &h));
        assert!(origin_allowed(
            &headers(Some("http://127.0.0.1:8000"), "127.0.0.1:8000"),
            None,
            &Origins::SameHost,
            &h
        ));
        assert!(!origin_allowed(&headers(Some("https://evil.com"), "a.com"), None, &Origins::SameHost, &h));
        assert!(!origin_allowed(&headers(Some("http://127.0.0.1:9"), "127.0.0.1:8000"), None, &Origins::SameHost, &h));
        assert!(!origin_allowed(&headers(Some("ftp://a.com"), "a.com"), None, &Origins::SameHost, &h));
    }

    #[test]
    fn lists_take_exact_and_wildcard_entries() {
        let h = AllowedHosts::default();
        let list = Origins::List(vec!["https://app.example.com".into(), "*.trusted.org".into()]);
        let ok = ["https://app.example.com", "https://x.trusted.org", "http://a.b.trusted.org:8080"];
        for o in ok {
            assert!(origin_allowed(&headers(Some(o), "h"), None, &list, &h), "{o}");
        }
        let bad = [
            "https://example.com",
            "https://trusted.org",
            "https://eviltrusted.org",
            "http://app.example.com.evil",
            "http://app.example.com",
            "chrome-extension://x.trusted.org",
        ];
        for o in bad {
            assert!(!origin_allowed(&headers(Some(o), "h"), None, &list, &h), "{o}");
        }
        assert!(origin_allowed(&headers(Some("https://any"), "h"), None, &Origins::List(vec!["*".into()]), &h));
    }
}
