//! Property tests of the pure parsers behind `#[ws_route]` (`lit` and
//! `template`): no input makes them panic, every valid value formatted and
//! parsed back gives the same value, and every rejected input gets a message
//! with a suggestion: a backtick-quoted example of what to write that the
//! same parser accepts (a message may also quote the bad input; that alone
//! does not count).
//!
//! Run with `cargo test -p wirehub-macros props`; more cases with
//! `PROPTEST_CASES=10000 cargo test -p wirehub-macros props`.

use proptest::prelude::*;

use crate::lit::{parse_duration, parse_rate, parse_size};
use crate::template::{parse_path, parse_room, Part, Segment};

// ---------------------------------------------------------------- helpers

/// The backtick-quoted spans of a message, without surrounding `"`s (for
/// inputs without backticks: a quoted input with one would shift the pairs).
fn quoted(message: &str) -> Vec<&str> {
    message
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|s| s.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(s))
        .collect()
}

/// Whether `message` quotes an example that `accepts` accepts and that is
/// not copied from the `context` (messages also quote the bad input, a bad
/// fragment of it, or the route path, which are not suggestions). A single
/// quoted character (`/`, `{`) names a character, not an example.
fn suggests(message: &str, context: &[&str], accepts: impl Fn(&str) -> bool) -> bool {
    quoted(message).into_iter().any(|s| s.chars().count() > 1 && !context.iter().any(|c| c.contains(s)) && accepts(s))
}

/// Strings built from the characters the parsers care about, so that the
/// interesting branches are reached, not only "invalid".
fn lit_like() -> impl Strategy<Value = String> {
    let units = prop_oneof![
        Just(""),
        Just("ms"),
        Just("s"),
        Just("h"),
        Just("B"),
        Just("KiB"),
        Just("GiB"),
        Just("GB"),
        Just("/s"),
        Just("/m"),
        Just("/h"),
        Just(" s"),
        Just("sec")
    ];
    prop_oneof![
        (amount(), units).prop_map(|(n, unit)| format!("{n}{unit}")),
        any::<String>(),
        "[0-9]{0,25}(ms|s|m|h|B|KiB|MiB|GiB|KB|kB|MB|GB|/s|/m|/h|S|sec|/|-| )?",
        "[0-9a-zA-Z/ .+\\-]{0,12}",
    ]
}

fn template_like() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[/{}?# a-z0-9_:.-]{0,20}", "(/(\\{[a-z_0-9]{0,4}\\}|[a-z{}]{0,4})){0,5}"]
}

const DURATION_UNITS: [(&str, u64); 4] = [("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000)];

const SIZE_UNITS: [(&str, u64); 8] = [
    ("B", 1),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("KB", 1_000),
    ("kB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
];

const RATE_UNITS: [(&str, u64); 3] = [("s", 1_000), ("m", 60_000), ("h", 3_600_000)];

/// A number with a unit: mostly small, sometimes near or past overflow.
fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![4 => 1..100_000u64, 1 => any::<u64>(), 1 => Just(0u64)]
}

// ---------------------------------------------------------------- lit

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn duration_never_panics_and_accepts_only_number_unit(text in lit_like()) {
        if let Ok(ms) = parse_duration(&text) {
            let (digits, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
            let scale = DURATION_UNITS.iter().find(|(u, _)| *u == unit).map(|(_, s)| *s);
            prop_assert!(scale.is_some(), "{:?} accepted with unit {:?}", text, unit);
            prop_assert_eq!(digits.parse::<u64>().ok().and_then(|n| n.checked_mul(scale.unwrap_or(0))), Some(ms));
            prop_assert!(ms > 0);
        }
    }

    #[test]
    fn duration_round_trips(n in amount(), unit in 0..DURATION_UNITS.len(), zeros in 0..3usize) {
        let (name, scale) = DURATION_UNITS[unit];
        let text = format!("{}{n}{name}", "0".repeat(zeros));
        match (n, n.checked_mul(scale)) {
            (0, _) => prop_assert!(parse_duration(&text).is_err(), "{} accepted", text),
            (_, Some(ms)) => prop_assert_eq!(parse_duration(&text), Ok(ms), "{}", text),
            (_, None) => prop_assert!(parse_duration(&text).is_err(), "{} overflows but was accepted", text),
        }
    }

    #[test]
    fn duration_rejections_suggest_a_valid_duration(text in lit_like()) {
        prop_assume!(!text.contains('`'));
        if let Err(message) = parse_duration(&text) {
            prop_assert!(suggests(&message, &[], |s| parse_duration(s).is_ok()), "{:?}: {}", text, message);
        }
    }

    #[test]
    fn size_never_panics_and_accepts_only_number_unit(text in lit_like()) {
        if let Ok(bytes) = parse_size(&text) {
            let (digits, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
            let scale = SIZE_UNITS.iter().find(|(u, _)| *u == unit).map(|(_, s)| *s);
            prop_assert!(scale.is_some(), "{:?} accepted with unit {:?}", text, unit);
            prop_assert_eq!(digits.parse::<u64>().ok().and_then(|n| n.checked_mul(scale.unwrap_or(0))), Some(bytes));
            prop_assert!(bytes > 0);
        }
    }

    #[test]
    fn size_round_trips(n in amount(), unit in 0..SIZE_UNITS.len(), zeros in 0..3usize) {
        let (name, scale) = SIZE_UNITS[unit];
        let text = format!("{}{n}{name}", "0".repeat(zeros));
        match (n, n.checked_mul(scale)) {
            (0, _) => prop_assert!(parse_size(&text).is_err(), "{} accepted", text),
            (_, Some(bytes)) => prop_assert_eq!(parse_size(&text), Ok(bytes), "{}", text),
            (_, None) => prop_assert!(parse_size(&text).is_err(), "{} overflows but was accepted", text),
        }
    }

    #[test]
    fn size_rejections_suggest_a_valid_size(text in lit_like()) {
        prop_assume!(!text.contains('`'));
        if let Err(message) = parse_size(&text) {
            prop_assert!(suggests(&message, &[], |s| parse_size(s).is_ok()), "{:?}: {}", text, message);
        }
    }

    #[test]
    fn rate_never_panics_and_accepts_only_count_per_unit(text in lit_like()) {
        if let Ok((count, per)) = parse_rate(&text) {
            let (n, unit) = text.split_once('/').unwrap_or_default();
            prop_assert!(!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()), "{:?} accepted", text);
            prop_assert_eq!(n.parse::<u32>().ok(), Some(count));
            prop_assert!(count > 0);
            prop_assert_eq!(RATE_UNITS.iter().find(|(u, _)| *u == unit).map(|(_, p)| *p), Some(per), "{:?}", text);
        }
    }

    #[test]
    fn rate_round_trips(count in any::<u32>(), unit in 0..RATE_UNITS.len()) {
        let (name, per) = RATE_UNITS[unit];
        let text = format!("{count}/{name}");
        if count == 0 {
            prop_assert!(parse_rate(&text).is_err(), "{} accepted", text);
        } else {
            prop_assert_eq!(parse_rate(&text), Ok((count, per)), "{}", text);
        }
    }

    #[test]
    fn rate_rejections_suggest_a_valid_rate(text in lit_like()) {
        prop_assume!(!text.contains('`'));
        if let Err(message) = parse_rate(&text) {
            prop_assert!(suggests(&message, &[], |s| parse_rate(s).is_ok()), "{:?}: {}", text, message);
        }
    }
}

// ---------------------------------------------------------------- template

/// A static segment: printable ASCII without `/`, `{`, `}`, `?`, `#`, space
/// or what clients percent-encode, not starting with `:` or `*` (other
/// frameworks' parameters).
fn static_segment() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::char::range('!', '~').prop_filter("reserved", |c| !"/{}?#\"<>`".contains(*c)), 1..8)
        .prop_map(String::from_iter)
        .prop_filter("parameter syntax", |s| !s.starts_with([':', '*']))
}

fn ident() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,6}"
}

/// Valid path patterns, as their segments (parameter names unique).
fn path_segments() -> impl Strategy<Value = Vec<Segment>> {
    prop::collection::vec(
        prop_oneof![static_segment().prop_map(Segment::Static), ident().prop_map(Segment::Param)],
        0..6,
    )
    .prop_map(|mut segments| {
        let mut seen = std::collections::HashSet::new();
        segments.retain(|s| match s {
            Segment::Param(name) => seen.insert(name.clone()),
            Segment::Static(_) => true,
        });
        segments
    })
}

fn format_path(segments: &[Segment]) -> String {
    if segments.is_empty() {
        return "/".to_owned();
    }
    segments
        .iter()
        .map(|s| match s {
            Segment::Static(text) => format!("/{text}"),
            Segment::Param(name) => format!("/{{{name}}}"),
        })
        .collect()
}

/// Whether a quoted example is a valid path, or a valid segment of one.
fn valid_path_example(s: &str) -> bool {
    parse_path(s).is_ok() || parse_path(&format!("/{s}")).is_ok()
}

/// Whether a quoted example is a well-formed room template (its `{names}`
/// taken as the parameters).
fn valid_room_example(s: &str) -> bool {
    let names: Vec<String> =
        s.split('{').skip(1).filter_map(|p| p.split_once('}')).map(|(n, _)| n.to_owned()).collect();
    names.iter().all(|n| !n.is_empty() && n.chars().all(|c| c == '_' || c.is_ascii_alphanumeric()))
        && parse_room(s, &names, "/x").is_ok()
}

/// A room template suggestion: a well-formed example not copied from the
/// input, or one of the path's parameters (the right name to use, even if
/// the input has it too).
fn room_suggestion(message: &str, input: &str, params: &[String], path: &str) -> bool {
    suggests(message, &[input, path], valid_room_example)
        || quoted(message).into_iter().any(|s| params.iter().any(|p| s == format!("{{{p}}}")))
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn path_never_panics_and_its_output_formats_back(text in template_like()) {
        if let Ok(segments) = parse_path(&text) {
            prop_assert_eq!(format_path(&segments), text);
        }
    }

    #[test]
    fn path_round_trips(segments in path_segments()) {
        let text = format_path(&segments);
        prop_assert_eq!(parse_path(&text), Ok(segments), "{}", text);
    }

    #[test]
    fn path_rejections_suggest_a_valid_path(text in template_like()) {
        prop_assume!(!text.contains('`'));
        if let Err(message) = parse_path(&text) {
            prop_assert!(suggests(&message, &[&text], valid_path_example), "{:?}: {}", text, message);
        }
    }

    #[test]
    fn room_never_panics(text in template_like(), params in prop::collection::vec(ident(), 0..3)) {
        if let Ok(parts) = parse_room(&text, &params, "/x") {
            let back: String = parts
                .iter()
                .map(|p| match p {
                    Part::Lit(l) => l.clone(),
                    Part::Param(i) => format!("{{{}}}", params[*i]),
                })
                .collect();
            prop_assert_eq!(back, text);
        }
    }

    #[test]
    fn room_round_trips(
        params in prop::collection::hash_set(ident(), 1..4).prop_map(|s| s.into_iter().collect::<Vec<_>>()),
        pieces in prop::collection::vec((prop::option::of(any::<prop::sample::Index>()), "[^{}]{1,6}"), 1..6),
    ) {
        let mut text = String::new();
        let mut want: Vec<Part> = Vec::new();
        for (param, lit) in &pieces {
            match param {
                Some(i) => {
                    let i = i.index(params.len());
                    text.push_str(&format!("{{{}}}", params[i]));
                    want.push(Part::Param(i));
                }
                None => {
                    text.push_str(lit);
                    match want.last_mut() {
                        Some(Part::Lit(prev)) => prev.push_str(lit),
                        _ => want.push(Part::Lit(lit.clone())),
                    }
                }
            }
        }
        prop_assert_eq!(parse_room(&text, &params, "/x"), Ok(want), "{}", text);
    }

    #[test]
    fn room_rejections_suggest_a_valid_template(text in template_like(), params in prop::collection::vec(ident(), 0..3)) {
        prop_assume!(!text.contains('`'));
        if let Err(message) = parse_room(&text, &params, "/x") {
            prop_assert!(room_suggestion(&message, &text, &params, "/x"), "{:?} with {:?}: {}", text, params, message);
        }
    }
}

// ---------------------------------------------------------------- examples

/// One input of each kind of rejection the parsers know, each checked for
/// a suggestion (all failures are reported at once).
#[test]
fn every_kind_of_rejection_suggests_what_to_write() {
    let room_params = ["room".to_owned(), "id".to_owned()];
    let checks: Vec<(&str, &str, Result<(), String>, bool)> = {
        let lit = |name, text: &'static str, r: Result<(), String>, ok: fn(&str) -> bool| {
            let good = r.as_ref().err().is_some_and(|m| suggests(m, &[], ok));
            (name, text, r, good)
        };
        let path = |text: &'static str| {
            let r = parse_path(text).map(|_| ());
            let good = r.as_ref().err().is_some_and(|m| suggests(m, &[text], valid_path_example));
            ("path", text, r, good)
        };
        let room = |text: &'static str, params: &[String]| {
            let path = if params.is_empty() { "/x" } else { "/x/{room}/{id}" };
            let r = parse_room(text, params, path).map(|_| ());
            let good = r.as_ref().err().is_some_and(|m| room_suggestion(m, text, params, path));
            ("room", text, r, good)
        };
        vec![
            lit("duration", "30 seconds", parse_duration("30 seconds").map(|_| ()), |s| parse_duration(s).is_ok()),
            lit("duration", "0s", parse_duration("0s").map(|_| ()), |s| parse_duration(s).is_ok()),
            lit("duration", "99999999999999999h", parse_duration("99999999999999999h").map(|_| ()), |s| {
                parse_duration(s).is_ok()
            }),
            lit("size", "1 MiB", parse_size("1 MiB").map(|_| ()), |s| parse_size(s).is_ok()),
            lit("size", "0B", parse_size("0B").map(|_| ()), |s| parse_size(s).is_ok()),
            lit("size", "99999999999GiB", parse_size("99999999999GiB").map(|_| ()), |s| parse_size(s).is_ok()),
            lit("rate", "50/sec", parse_rate("50/sec").map(|_| ()), |s| parse_rate(s).is_ok()),
            lit("rate", "0/s", parse_rate("0/s").map(|_| ()), |s| parse_rate(s).is_ok()),
            path("echo"),
            path("chat room"),
            path("/a//b"),
            path("/a?b"),
            path("/a b"),
            path("/users/:id"),
            path("/files/*rest"),
            path("/files/*"),
            path("/café"),
            path("/chat/{room"),
            path("/chat/{9"),
            path("/chat/{}"),
            path("/chat/x{room}"),
            path("/a/{x}/{x}"),
            room("", &room_params),
            room("chat:{room", &room_params),
            room("chat:room}", &room_params),
            room("chat:{nope}", &room_params),
            room("chat:{nope}", &[]),
        ]
    };
    let missing: Vec<String> = checks
        .iter()
        .filter(|(_, _, r, good)| r.is_err() && !good)
        .map(|(kind, text, r, _)| format!("{kind} {text:?}: {}", r.as_ref().err().map_or("", String::as_str)))
        .collect();
    let accepted: Vec<&str> = checks.iter().filter(|(_, _, r, _)| r.is_ok()).map(|(_, text, _, _)| *text).collect();
    assert!(accepted.is_empty(), "accepted: {accepted:?}");
    assert!(
        missing.is_empty(),
        "{} rejections without a valid example to write:\n{}",
        missing.len(),
        missing.join("\n")
    );
}

#[cfg(test)]
mod regressions {
    use super::*;

    /// Found by `path_rejections_suggest_a_valid_path`: the percent-encoded
    /// suggestion kept the path's other problem (a `?` segment).
    #[test]
    fn a_non_ascii_path_with_another_problem_suggests_a_valid_path() {
        let text = "/\u{1134B}/?";
        let message = parse_path(text).expect_err("not a valid path");
        assert!(suggests(&message, &[text], valid_path_example), "{message}");
    }
}
