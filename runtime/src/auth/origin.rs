//! Origin checks against cross-site WebSocket hijacking.
//!
//! Browsers send `Origin` on every WebSocket handshake and attach the site's
//! cookies, so without a check any page on the web can open a socket with the
//! visitor's session. The default is **same host**: a request that carries
//! `Origin` is accepted only if the origin's host (and port) equals the
//! `Host` header (behind a trusted proxy, the host it forwarded: see
//! `Config::trusted_proxies`). Requests without `Origin` (non-browser
//! clients, which can forge any header anyway) are accepted. An allow-list
//! ([`App::origins`](crate::App::origins) or the route option `origins = [...]`)
//! replaces the default: entries are exact origins (`https://app.example.com`)
//! or wildcards of subdomains (`*.example.com`, any scheme); `*` allows all.

use http::HeaderMap;

/// Which origins may open connections.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Origins {
    /// Same host as the `Host` header (the default).
    #[default]
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

/// Whether the request's origin passes `policy`. `forwarded_host` is the
/// host a trusted proxy says the client asked for; else the `Host` header is.
pub(crate) fn origin_allowed(headers: &HeaderMap, forwarded_host: Option<&str>, policy: &Origins) -> bool {
    let Some(origin) = headers.get(http::header::ORIGIN) else { return true };
    let Ok(origin) = origin.to_str() else { return false };
    match policy {
        Origins::SameHost => {
            let host = forwarded_host.or_else(|| headers.get(http::header::HOST).and_then(|h| h.to_str().ok()));
            host.is_some_and(|host| host_of(origin).eq_ignore_ascii_case(host))
        }
        Origins::List(list) => list.iter().any(|allowed| matches(allowed, origin)),
    }
}

/// `https://a.example.com:8443` → `a.example.com:8443`.
fn host_of(origin: &str) -> &str {
    origin.split_once("://").map_or(origin, |(_, rest)| rest).trim_end_matches('/')
}

fn matches(allowed: &str, origin: &str) -> bool {
    if allowed == "*" {
        return true;
    }
    if let Some(suffix) = allowed.strip_prefix("*.") {
        let host = host_of(origin);
        let host = host
            .rsplit_once(':')
            .map_or(host, |(h, port)| if port.bytes().all(|b| b.is_ascii_digit()) { h } else { host });
        return host.len() > suffix.len()
            && host.to_ascii_lowercase().ends_with(&suffix.to_ascii_lowercase())
            && host.as_bytes()[host.len() - suffix.len() - 1] == b'.';
    }
    allowed.trim_end_matches('/').eq_ignore_ascii_case(origin.trim_end_matches('/'))
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

    fn allowed(headers: &HeaderMap, policy: &Origins) -> bool {
        origin_allowed(headers, None, policy)
    }

    #[test]
    fn a_forwarded_host_stands_for_the_host_header() {
        let h = headers(Some("https://app.example.com"), "backend:8000");
        assert!(!origin_allowed(&h, None, &Origins::SameHost));
        assert!(origin_allowed(&h, Some("app.example.com"), &Origins::SameHost));
        assert!(!origin_allowed(&h, Some("other.example.com"), &Origins::SameHost));
    }

    #[test]
    fn same_host_is_the_default() {
        assert!(allowed(&headers(None, "a.com"), &Origins::SameHost));
        assert!(allowed(&headers(Some("https://a.com"), "a.com"), &Origins::SameHost));
        assert!(allowed(&headers(Some("http://127.0.0.1:8000"), "127.0.0.1:8000"), &Origins::SameHost));
        assert!(!allowed(&headers(Some("https://evil.com"), "a.com"), &Origins::SameHost));
        assert!(!allowed(&headers(Some("http://127.0.0.1:9"), "127.0.0.1:8000"), &Origins::SameHost));
    }

    #[test]
    fn lists_take_exact_and_wildcard_entries() {
        let list = Origins::List(vec!["https://app.example.com".into(), "*.trusted.org".into()]);
        let ok = ["https://app.example.com", "https://x.trusted.org", "http://a.b.trusted.org:8080"];
        for o in ok {
            assert!(allowed(&headers(Some(o), "h"), &list), "{o}");
        }
        let bad =
            ["https://example.com", "https://trusted.org", "https://eviltrusted.org", "http://app.example.com.evil"];
        for o in bad {
            assert!(!allowed(&headers(Some(o), "h"), &list), "{o}");
        }
        assert!(allowed(&headers(Some("https://any"), "h"), &Origins::List(vec!["*".into()])));
    }
}
