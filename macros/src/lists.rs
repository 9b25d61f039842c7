//! The list options, `origins` and `protocols`: each entry is checked
//! against what browsers and clients send, so an entry that could never
//! match is an error saying what to write. Pure functions: errors are
//! messages, the caller puts them on the entry.

/// An `origins` entry is `"*"`, `"null"`, `"*.example.com"` (any
/// subdomain), or an origin as browsers send it: `scheme://host[:port]`,
/// nothing after, and no port when it is the scheme's default.
pub(crate) fn check_origin(entry: &str) -> Result<(), String> {
    if entry.is_empty() || entry.contains([',', ' ']) {
        return Err(format!(
            "invalid origin `\"{entry}\"`: write one origin per entry, without spaces or commas, \
             such as `\"https://app.example.com\"`"
        ));
    }
    // `null`: what sandboxed iframes and `file://` pages send.
    if entry == "*" || entry == "null" {
        return Ok(());
    }
    if let Some(suffix) = entry.strip_prefix("*.") {
        return match suffix.is_empty() || suffix.contains(['/', ':', '*']) {
            true => Err(format!(
                "invalid origin pattern `\"{entry}\"`: write a domain after `*.`, such as `\"*.example.com\"`"
            )),
            false => Ok(()),
        };
    }
    let Some((scheme, rest)) = entry.split_once("://") else {
        let host = entry.trim_end_matches('/');
        return Err(format!(
            "origin `\"{entry}\"` has no scheme and would never match: browsers send `scheme://host[:port]`, \
             write `\"https://{host}\"`"
        ));
    };
    let host_ok = !rest.is_empty() && !rest.contains(['/', '?', '#', '*', ' ']);
    if scheme.is_empty() || !host_ok {
        return Err(format!(
            "invalid origin `\"{entry}\"`: write `scheme://host[:port]` with no path, such as `\"https://app.example.com\"`"
        ));
    }
    if let Some(page) = match scheme.to_ascii_lowercase().as_str() {
        "ws" => Some("http"),
        "wss" => Some("https"),
        _ => None,
    } {
        return Err(format!(
            "origin `\"{entry}\"` would never match: browsers send the page's origin, not the socket's URL; \
             write `\"{page}://{rest}\"`"
        ));
    }
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" => Some("443"),
        "http" => Some("80"),
        _ => None,
    };
    match (default_port, rest.rsplit_once(':')) {
        (Some(default), Some((host, port))) if port == default => Err(format!(
            "origin `\"{entry}\"` would never match: browsers leave out `{scheme}`'s default port {port}; \
             write `\"{scheme}://{host}\"`"
        )),
        _ => Ok(()),
    }
}

/// A `protocols` entry is a token (RFC 6455 section 4.1, RFC 7230
/// section 3.2.6): letters, digits and ``!#$%&'*+-.^_`|~``.
pub(crate) fn check_protocol(entry: &str) -> Result<(), String> {
    let is_tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if !entry.is_empty() && entry.chars().all(is_tchar) {
        return Ok(());
    }
    let fixed: String = entry.chars().map(|c| if is_tchar(c) { c } else { '.' }).collect();
    let fixed = fixed.trim_matches('.');
    let example = if fixed.is_empty() { "chat.v1" } else { fixed };
    Err(format!(
        "invalid subprotocol `\"{entry}\"`: a subprotocol is one token of letters, digits and \
         ``!#$%&'*+-.^_`|~`` (no `/`, spaces, commas or quotes), such as `\"{example}\"`"
    ))
}

/// The message for `key = []`: an empty list is dead or refuses everyone.
pub(crate) fn empty_list(key: &str) -> String {
    match key {
        "origins" => "`origins = []` refuses every browser: list the origins allowed, such as \
                      `[\"https://app.example.com\"]`, or remove `origins` to keep the app's policy (same host)"
            .to_owned(),
        _ => format!(
            "`{key} = []` offers nothing and does nothing: list them, such as `[\"chat.v1\"]`, or remove `{key}`"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        for ok in ["*", "null", "*.example.com", "https://a.example", "http://localhost:8080", "https://a.example:8443"]
        {
            assert_eq!(check_origin(ok), Ok(()), "{ok}");
        }
        let bad = [
            ("", "one origin per entry"),
            ("a.com, b.com", "one origin per entry"),
            ("example.com", "`\"https://example.com\"`"),
            ("https://a.example/chat", "no path"),
            ("*.", "domain after"),
            ("https://a.example:443", "`\"https://a.example\"`"),
            ("http://a.example:80", "`\"http://a.example\"`"),
            ("wss://a.example", "`\"https://a.example\"`"),
            ("ws://localhost:3000", "`\"http://localhost:3000\"`"),
        ];
        for (entry, fragment) in bad {
            let err = check_origin(entry).err().unwrap_or_default();
            assert!(err.contains(fragment), "{entry}: {err}");
        }
    }

    #[test]
    fn protocols() {
        for ok in ["chat.v1", "graphql-ws", "v2.json.example.com", "a!#$%&'*+-.^_`|~z"] {
            assert_eq!(check_protocol(ok), Ok(()), "{ok}");
        }
        let bad =
            [("chat/v1", "`\"chat.v1\"`"), ("chat v2", "`\"chat.v2\"`"), ("", "`\"chat.v1\"`"), ("\"x\"", "`\"x\"`")];
        for (entry, fragment) in bad {
            let err = check_protocol(entry).err().unwrap_or_default();
            assert!(err.contains(fragment), "{entry}: {err}");
        }
    }
}
