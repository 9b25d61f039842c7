//! Path patterns (`/chat/{room}`) and room templates (`chat:{room}`),
//! parsed at compile time. Pure functions: errors are messages, the caller
//! puts them on the literal's span (a string literal cannot be sub-spanned
//! on stable, so messages quote the bad fragment).

/// A well-formed path, suggested when the user's cannot be repaired.
const EXAMPLE: &str = "/items/{id}";

/// One `/`-separated piece of a path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Static(String),
    Param(String),
}

/// A piece of a room template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    Lit(String),
    /// The index of the path param.
    Param(usize),
}

/// Parses a path pattern. Grammar: `/` | (`/` segment)+ where a segment is
/// static text without `{`, `}`, `?`, `#`, or `{name}` with `name` an identifier.
pub(crate) fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    let Some(rest) = path.strip_prefix('/') else {
        let fixed = format!("/{path}");
        let example = if !path.is_empty() && parse_path(&fixed).is_ok() { fixed } else { EXAMPLE.to_owned() };
        return Err(format!("path `\"{path}\"` must start with `/`: write `\"{example}\"`"));
    };
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    let mut segments = Vec::new();
    for raw in rest.split('/') {
        let segment = parse_segment(path, raw)?;
        if let Segment::Param(name) = &segment {
            if segments.iter().any(|s| matches!(s, Segment::Param(n) if n == name)) {
                return Err(format!(
                    "duplicate path parameter `{{{name}}}` in `\"{path}\"`: give each parameter its own name, \
                     such as `\"/items/{{id}}/{{sub_id}}\"`"
                ));
            }
        }
        segments.push(segment);
    }
    Ok(segments)
}

fn parse_segment(path: &str, raw: &str) -> Result<Segment, String> {
    if raw.is_empty() {
        let fixed: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        return Err(format!(
            "path `\"{path}\"` has an empty segment (`//` or a trailing `/`): remove the extra `/`, \
             as in `\"/{}\"`, or write a path such as `\"{EXAMPLE}\"`",
            fixed.join("/")
        ));
    }
    if let Some(c) = raw.chars().find(|c| matches!(c, '?' | '#' | ' ')) {
        return Err(format!(
            "path `\"{path}\"` contains `{c}`: a route path has no query, fragment or spaces, such as `\"{EXAMPLE}\"`"
        ));
    }
    // `{name}`
    if let Some(inner) = raw.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
        if is_ident(inner) {
            return Ok(Segment::Param(inner.to_owned()));
        }
        return Err(format!(
            "malformed path parameter `{raw}` in `\"{path}\"`: write `{{name}}` with `name` an identifier, such as `{{room}}`"
        ));
    }
    if raw.starts_with('{') && !raw.contains('}') {
        let name = &raw[1..];
        let name = if is_ident(name) { name } else { "room" };
        return Err(format!("unclosed `{{` in `{raw}` in `\"{path}\"`: write `{{{name}}}`"));
    }
    if raw.contains(['{', '}']) {
        return Err(format!(
            "malformed path parameter `{raw}` in `\"{path}\"`: a parameter takes a whole segment, written `{{name}}`, such as `/chat/{{room}}`"
        ));
    }
    // `:id` (Express, actix), `*rest` and `*` (catch-alls): other frameworks'
    // parameters, which would be matched as literal text here.
    if let Some(name) = foreign_param(raw) {
        let fixed = fix_foreign_params(path);
        let what = match raw.starts_with(':') {
            true => format!("`{raw}` in `\"{path}\"` is another framework's parameter syntax"),
            false => format!(
                "catch-all `{raw}` in `\"{path}\"` is not supported: a `{{name}}` parameter matches one segment"
            ),
        };
        return Err(format!("{what}; write `{{{name}}}`, as in `\"{fixed}\"`"));
    }
    // Clients percent-encode these, and static segments match the request as sent.
    if raw.chars().any(needs_encoding) {
        let fixed: String = path.chars().map(percent_encode).collect();
        let chars: String = raw.chars().filter(|c| needs_encoding(*c)).collect();
        let cause = format!(
            "path `\"{path}\"` contains `{chars}`, which clients send percent-encoded, so it would never match"
        );
        // The encoded path may have another problem (`/é/?`): name it too,
        // so the path the message ends with is one that compiles.
        return Err(match parse_path(&fixed) {
            Ok(_) => format!("{cause}: write `\"{fixed}\"`"),
            Err(next) => format!("{cause}; encoded, {next}"),
        });
    }
    Ok(Segment::Static(raw.to_owned()))
}

/// Parses a room template such as `chat:{room}`; every `{name}` must be one
/// of `params`.
pub(crate) fn parse_room(template: &str, params: &[String], path: &str) -> Result<Vec<Part>, String> {
    if template.is_empty() {
        return Err(
            "empty room name: write a name such as `\"lobby\"` or a template such as `\"chat:{room}\"`".to_owned()
        );
    }
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err(format!(
                "unmatched `}}` in room template `\"{template}\"`: write `{{name}}` for a parameter, such as `\"chat:{{room}}\"`"
            ));
        }
        if open > 0 {
            parts.push(Part::Lit(rest[..open].to_owned()));
        }
        let Some(close) = rest[open..].find('}') else {
            return Err(format!("unclosed `{{` in room template `\"{template}\"`: write `{{name}}`"));
        };
        let name = &rest[open + 1..open + close];
        let Some(index) = params.iter().position(|p| p == name) else {
            let valid = if params.is_empty() {
                format!("`\"{path}\"` has no parameters: use a fixed name such as `\"lobby\"` or `\"news\"`")
            } else {
                let list: Vec<String> = params.iter().map(|p| format!("`{{{p}}}`")).collect();
                format!("use one of {}", list.join(", "))
            };
            return Err(format!(
                "`{{{name}}}` in room template `\"{template}\"` is not a path parameter of `\"{path}\"`: {valid}"
            ));
        };
        parts.push(Part::Param(index));
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        parts.push(Part::Lit(rest.to_owned()));
    }
    Ok(parts)
}

/// The name to suggest for a `:name`, `*name` or `*` segment.
fn foreign_param(raw: &str) -> Option<&str> {
    match raw.strip_prefix(':').or_else(|| raw.strip_prefix('*')) {
        Some("") if raw == "*" => Some("rest"),
        Some(name) if is_ident(name) => Some(name),
        _ => None,
    }
}

/// `path` with every `:name`, `*name` and `*` segment written `{name}`.
fn fix_foreign_params(path: &str) -> String {
    path.split('/')
        .map(|segment| foreign_param(segment).map_or_else(|| segment.to_owned(), |name| format!("{{{name}}}")))
        .collect::<Vec<_>>()
        .join("/")
}

/// Characters a client percent-encodes in a path: non-ASCII, controls,
/// `"`, `<`, `>` and `` ` `` (`?`, `#`, `{`, `}` and space are refused before).
fn needs_encoding(c: char) -> bool {
    !c.is_ascii() || c.is_ascii_control() || matches!(c, '"' | '<' | '>' | '`')
}

/// `c` as a client sends it in a path: itself, or its UTF-8 bytes as `%XX`.
fn percent_encode(c: char) -> String {
    if !needs_encoding(c) {
        return c.to_string();
    }
    let mut buf = [0; 4];
    c.encode_utf8(&mut buf).bytes().map(|b| format!("%{b:02X}")).collect()
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Segment::{Param, Static};

    fn st(s: &str) -> Segment {
        Static(s.into())
    }

    fn pa(s: &str) -> Segment {
        Param(s.into())
    }

    #[test]
    fn paths() {
        let ok: &[(&str, Vec<Segment>)] = &[
            ("/", vec![]),
            ("/echo", vec![st("echo")]),
            ("/chat/{room}", vec![st("chat"), pa("room")]),
            ("/a/{x}/b/{y_2}", vec![st("a"), pa("x"), st("b"), pa("y_2")]),
            ("/v1:batch/a*b/caf%C3%A9", vec![st("v1:batch"), st("a*b"), st("caf%C3%A9")]),
        ];
        for (path, want) in ok {
            assert_eq!(parse_path(path).as_ref(), Ok(want), "{path}");
        }
        let bad = [
            ("echo", "must start with `/`"),
            ("/chat/{room", "unclosed `{`"),
            ("/chat/room}", "malformed"),
            ("/chat/{}", "malformed"),
            ("/chat/{1x}", "malformed"),
            ("/chat/x{room}", "malformed"),
            ("/a/{x}/{x}", "duplicate"),
            ("/a//b", "empty segment"),
            ("/a/", "empty segment"),
            ("/a?b", "query"),
            ("/users/:id", "`{id}`, as in `\"/users/{id}\"`"),
            ("/files/*rest", "`{rest}`"),
            ("/files/*", "`\"/files/{rest}\"`"),
            ("/a/:x/*y", "`\"/a/{x}/{y}\"`"),
            ("/café", "`\"/caf%C3%A9\"`"),
            ("/a\"b", "`\"/a%22b\"`"),
        ];
        for (path, fragment) in bad {
            let err = parse_path(path).err().unwrap_or_default();
            assert!(err.contains(fragment), "{path}: {err}");
        }
    }

    #[test]
    fn rooms() {
        let params = vec!["room".to_owned(), "id".to_owned()];
        assert_eq!(parse_room("lobby", &params, "/x"), Ok(vec![Part::Lit("lobby".into())]));
        assert_eq!(
            parse_room("chat:{room}:{id}", &params, "/x"),
            Ok(vec![Part::Lit("chat:".into()), Part::Param(0), Part::Lit(":".into()), Part::Param(1)])
        );
        assert_eq!(parse_room("{id}", &params, "/x"), Ok(vec![Part::Param(1)]));
        for bad in ["chat:{nope}", "chat:{room", "chat:room}", ""] {
            assert!(parse_room(bad, &params, "/x").is_err(), "{bad}");
        }
        let err = parse_room("{r}", &[], "/x").err().unwrap_or_default();
        assert!(err.contains("has no parameters"), "{err}");
    }
}
