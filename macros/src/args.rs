//! Parsing the attribute: `#[ws_route("/path", key = value, ...)]` into
//! [`RouteArgs`]. Literals are parsed here, once: durations to milliseconds,
//! sizes to bytes. Problems that do not stop parsing are collected, so one
//! compile reports all of them.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitBool, LitInt, LitStr, Token};

use crate::errors::Errors;
use crate::lit::{parse_duration, parse_rate, parse_size};

/// The kind of value an option takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `"1MiB"`
    Size,
    /// `"30s"`
    Duration,
    /// `"text"`
    Text,
    /// `"chat:{room}"`
    Room,
    /// `true`
    Flag,
    /// `1024`
    Count,
    /// `"close"` or `"drop"`
    OnFull,
    /// `path::to::function`
    Hook,
    /// `["a", "b"]`
    List,
    /// `"50/s"`
    Rate,
}

/// Declares the option keys once: the custom keywords, the table used in
/// messages, and the key parser all come from this list.
macro_rules! route_options {
    ($($key:ident: $kind:ident,)*) => {
        mod kw {
            $(syn::custom_keyword!($key);)*
        }

        /// Every option key with its kind, in documentation order.
        pub(crate) const OPTIONS: &[(&str, Kind)] = &[$((stringify!($key), Kind::$kind)),*];

        /// Parses an option key, if the input starts with one.
        fn parse_key(input: ParseStream<'_>) -> syn::Result<Option<(Ident, Kind)>> {
            let lookahead = input.lookahead1();
            $(
                if lookahead.peek(kw::$key) {
                    let key: kw::$key = input.parse()?;
                    return Ok(Some((Ident::new(stringify!($key), key.span), Kind::$kind)));
                }
            )*
            Ok(None)
        }
    };
}

route_options! {
    max_message: Size,
    idle_timeout: Duration,
    heartbeat: Duration,
    heartbeat_timeout: Duration,
    write_timeout: Duration,
    close_timeout: Duration,
    app_ping: Text,
    app_pong: Text,
    broadcast: Room,
    exclude_sender: Flag,
    idle_counts_pings: Flag,
    queue: Count,
    on_full: OnFull,
    on_open: Hook,
    on_close: Hook,
    auth: Hook,
    reauth: Duration,
    protocols: List,
    origins: List,
    rate: Rate,
    burst: Count,
    max_connections: Count,
    max_connections_per_ip: Count,
}

/// Duration options that take `"off"` (to turn off an app-wide default).
const OFF_KEYS: [&str; 2] = ["heartbeat", "idle_timeout"];

/// The keys users can write today, for "valid options are ..." messages.
pub(crate) fn valid_keys() -> String {
    let keys: Vec<String> = OPTIONS.iter().map(|(key, _)| format!("`{key}`")).collect();
    format!("{}, `crate`", keys.join(", "))
}

/// A parsed option value.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Millis(u64),
    Bytes(u64),
    Text(LitStr),
    Room(LitStr),
    Flag(bool),
    Count(usize),
    /// `true` for `"drop"`.
    OnFullDrop(bool),
    Hook(syn::Path),
    List(Vec<LitStr>),
    /// Messages per period in milliseconds.
    Rate(u32, u64),
}

/// One `key = value`.
#[derive(Debug, Clone)]
pub(crate) struct RouteOption {
    pub(crate) key: Ident,
    pub(crate) value: Value,
}

/// The attribute's arguments.
#[derive(Debug)]
pub(crate) struct RouteArgs {
    pub(crate) path: LitStr,
    pub(crate) options: Vec<RouteOption>,
    /// `crate = path`: where the `wirehub` crate is (for renamed dependencies).
    pub(crate) krate: Option<syn::Path>,
    /// Problems found while parsing that did not stop it.
    pub(crate) errors: Errors,
}

impl Parse for RouteArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(syn::Error::new(
                Span::call_site(),
                "missing route path: write `#[ws_route(\"/path\")]`, such as `#[ws_route(\"/chat/{room}\")]`",
            ));
        }
        let path: LitStr = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "the first argument is the route path as a string literal, such as `\"/chat/{room}\"`",
            )
        })?;
        let mut args = RouteArgs { path, options: Vec::new(), krate: None, errors: Errors::default() };
        while !input.is_empty() {
            if let Err(e) = input.parse::<Token![,]>() {
                args.errors.add(syn::Error::new(e.span(), "expected `,` between options"));
                skip_option(input);
                continue;
            }
            if input.is_empty() {
                break;
            }
            if let Err(e) = args.parse_option(input) {
                // Record the problem, skip to the next `,` and keep going, so
                // one compile reports every bad option.
                args.errors.add(e);
                skip_option(input);
            }
        }
        Ok(args)
    }
}

impl RouteArgs {
    // key = value
    fn parse_option(&mut self, input: ParseStream<'_>) -> syn::Result<()> {
        if input.peek(Token![crate]) {
            // crate = path::to::wirehub
            let key: Token![crate] = input.parse()?;
            input.parse::<Token![=]>()?;
            let path: syn::Path = input.parse()?;
            if self.krate.replace(path).is_some() {
                self.errors.push(key.span, "duplicate option `crate`: remove one of them");
            }
            return Ok(());
        }
        let Some((key, kind)) = parse_key(input)? else {
            let unknown: Ident = input.call(syn::ext::IdentExt::parse_any).map_err(|e| {
                syn::Error::new(
                    e.span(),
                    format!("expected an option `key = value`; valid options are {}", valid_keys()),
                )
            })?;
            let hint = closest_key(&unknown.to_string()).map(|k| format!("did you mean `{k}`? ")).unwrap_or_default();
            self.errors
                .push(unknown.span(), format!("unknown option `{unknown}`: {hint}valid options are {}", valid_keys()));
            skip_option(input);
            return Ok(());
        };
        input.parse::<Token![=]>().map_err(|e| syn::Error::new(e.span(), format!("expected `=` after `{key}`")))?;
        let value = parse_value(input, &key, kind, &mut self.errors)?;
        if self.options.iter().any(|o| o.key == key) {
            self.errors.push(key.span(), format!("duplicate option `{key}`: remove one of them"));
        } else if let Some(value) = value {
            self.options.push(RouteOption { key, value });
        }
        Ok(())
    }
}

/// Parses the value of `key`; `Ok(None)` when it was refused (error recorded).
fn parse_value(input: ParseStream<'_>, key: &Ident, kind: Kind, errors: &mut Errors) -> syn::Result<Option<Value>> {
    let expect = |what: &str, span: Span| syn::Error::new(span, format!("`{key}` takes {what}"));
    Ok(match kind {
        Kind::List => {
            // [ "a", "b", ... ]
            if !input.peek(syn::token::Bracket) {
                return Err(expect("a list of string literals, such as `[\"chat.v1\", \"chat.v2\"]`", input.span()));
            }
            let content;
            syn::bracketed!(content in input);
            let items = content.parse_terminated(|p| p.parse::<LitStr>(), Token![,]).map_err(|e| {
                syn::Error::new(
                    e.span(),
                    format!("`{key}` takes a list of string literals, such as `[\"chat.v1\", \"chat.v2\"]`"),
                )
            })?;
            let items: Vec<LitStr> = items.into_iter().collect();
            for item in &items {
                if item.value().is_empty() || item.value().contains([',', ' ']) {
                    errors.push(
                        item.span(),
                        format!(
                            "invalid entry `\"{}\"` in `{key}`: write one token without spaces or commas",
                            item.value()
                        ),
                    );
                }
            }
            Some(Value::List(items))
        }
        Kind::Size | Kind::Duration | Kind::Text | Kind::Room | Kind::OnFull | Kind::Rate => {
            let example = match kind {
                Kind::Size => "a size literal such as `\"1MiB\"`",
                Kind::Duration => "a duration literal such as `\"30s\"`",
                Kind::Room => "a room name or template such as `\"chat:{room}\"`",
                Kind::OnFull => "`\"close\"` or `\"drop\"`",
                Kind::Rate => "a rate literal such as `\"50/s\"`",
                _ if key == "app_pong" => "a string literal such as `\"{\\\"type\\\":\\\"pong\\\"}\"`",
                _ => "a string literal such as `\"ping\"`",
            };
            let lit: LitStr = input.parse().map_err(|e| expect(example, e.span()))?;
            let text = lit.value();
            let parsed = match kind {
                Kind::Size => parse_size(&text).map(Value::Bytes),
                // `"off"` turns off what the app enables by default (0 ms = off).
                Kind::Duration if text == "off" && OFF_KEYS.contains(&key.to_string().as_str()) => Ok(Value::Millis(0)),
                Kind::Duration if text == "off" => Err(format!(
                    "`{key}` cannot be off: write a duration such as `\"30s\"` (only {} take `\"off\"`)",
                    OFF_KEYS.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(" and ")
                )),
                Kind::Duration => parse_duration(&text).map(Value::Millis),
                Kind::Rate => parse_rate(&text).map(|(n, per)| Value::Rate(n, per)),
                Kind::OnFull => match text.as_str() {
                    "close" => Ok(Value::OnFullDrop(false)),
                    "drop" => Ok(Value::OnFullDrop(true)),
                    _ => Err(format!("invalid `on_full` policy `\"{text}\"`: write `\"close\"` or `\"drop\"`")),
                },
                Kind::Room => Ok(Value::Room(lit.clone())),
                _ => Ok(Value::Text(lit.clone())),
            };
            match parsed {
                Ok(value) => Some(value),
                Err(message) => {
                    errors.push(lit.span(), message);
                    None
                }
            }
        }
        Kind::Flag => {
            Some(Value::Flag(input.parse::<LitBool>().map_err(|e| expect("`true` or `false`", e.span()))?.value))
        }
        Kind::Count => {
            let lit: LitInt = input.parse().map_err(|e| expect("a whole number such as `1024`", e.span()))?;
            match lit.base10_parse::<usize>() {
                Ok(n) if key == "burst" && u32::try_from(n).is_err() => {
                    errors.push(lit.span(), format!("`burst` must be at most {}", u32::MAX));
                    None
                }
                Ok(n) if n > 0 => Some(Value::Count(n)),
                _ => {
                    errors
                        .push(lit.span(), format!("`{key}` must be a whole number greater than zero, such as `1024`"));
                    None
                }
            }
        }
        Kind::Hook => {
            let what = match key.to_string().as_str() {
                "auth" => "a validator function such as `validate`, written `fn validate(hs: &Handshake) -> Result<T, Reject>` (or `async fn`)",
                "on_close" => "a function such as `closed`, written `async fn closed(conn: Conn, reason: CloseReason)`",
                _ => "a function such as `opened`, written `async fn opened(conn: Conn)`",
            };
            Some(Value::Hook(input.parse().map_err(|e| expect(what, e.span()))?))
        }
    })
}

/// The option key closest to a misspelled one (edit distance at most 2).
fn closest_key(unknown: &str) -> Option<&'static str> {
    OPTIONS.iter().map(|(key, _)| (edit_distance(unknown, key), *key)).filter(|(d, _)| *d <= 2).min().map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Skips the rest of the current option: every token up to the next top-level `,`.
fn skip_option(input: ParseStream<'_>) {
    while !input.is_empty() && !input.peek(Token![,]) {
        let _ = input.parse::<proc_macro2::TokenTree>();
    }
}
