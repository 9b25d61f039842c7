//! Parsing the attribute: `#[ws_route("/path", key = value, ...)]` into
//! [`RouteArgs`]. Literals are parsed here, once: durations to milliseconds,
//! sizes to bytes. Problems that do not stop parsing are collected, so one
//! compile reports all of them.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitBool, LitInt, LitStr, Token};

use crate::errors::Errors;
use crate::lit::{parse_duration, parse_rate, parse_size};
use crate::options::{valid_keys, Key, Kind, Options, Set, Spec, Value};

/// The attribute's arguments.
#[derive(Debug)]
pub(crate) struct RouteArgs {
    pub(crate) path: LitStr,
    pub(crate) options: Options,
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
        let mut args = RouteArgs { path, options: Options::default(), krate: None, errors: Errors::default() };
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
        let Some((which, key)) = Key::parse(input)? else {
            let unknown: Ident = input.call(syn::ext::IdentExt::parse_any).map_err(|e| {
                syn::Error::new(
                    e.span(),
                    format!("expected an option `key = value`; valid options are {}", valid_keys()),
                )
            })?;
            let hint = Key::closest(&unknown.to_string())
                .map(|k| format!("did you mean `{}`? ", k.spec().name))
                .unwrap_or_default();
            self.errors
                .push(unknown.span(), format!("unknown option `{unknown}`: {hint}valid options are {}", valid_keys()));
            skip_option(input);
            return Ok(());
        };
        input.parse::<Token![=]>().map_err(|e| syn::Error::new(e.span(), format!("expected `=` after `{key}`")))?;
        let value = parse_value(input, &key, which.spec(), &mut self.errors)?;
        if self.options.has(which) {
            self.errors.push(key.span(), format!("duplicate option `{key}`: remove one of them"));
        } else if let Some(value) = value {
            self.options.insert(which, Set { key, value });
        }
        Ok(())
    }
}

/// Parses the value of `key`; `Ok(None)` when it was refused (error recorded).
fn parse_value(input: ParseStream<'_>, key: &Ident, spec: &Spec, errors: &mut Errors) -> syn::Result<Option<Value>> {
    // `auth` takes a validator function such as `validate`, ...
    let expect = |span: Span| match spec.kind {
        // These name every value they take already.
        Kind::Hook | Kind::Flag | Kind::OnFull => syn::Error::new(span, format!("`{key}` takes {}", spec.takes)),
        _ => syn::Error::new(span, format!("`{key}` takes {}, such as `{}`", spec.takes, spec.example)),
    };
    let refuse = |errors: &mut Errors, span: Span, message: String| {
        errors.push(span, message);
        None
    };
    Ok(match spec.kind {
        Kind::List => {
            // [ "a", "b", ... ]
            if !input.peek(syn::token::Bracket) {
                return Err(expect(input.span()));
            }
            let content;
            syn::bracketed!(content in input);
            let items = content.parse_terminated(|p| p.parse::<LitStr>(), Token![,]).map_err(|e| expect(e.span()))?;
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
        Kind::Flag => Some(Value::Flag(input.parse::<LitBool>().map_err(|e| expect(e.span()))?.value)),
        Kind::Count | Kind::Count32 => {
            let lit: LitInt = input.parse().map_err(|e| expect(e.span()))?;
            let max = if spec.kind == Kind::Count32 { u64::from(u32::MAX) } else { usize::MAX as u64 };
            match lit.base10_parse::<u64>() {
                Ok(n) if n > max => refuse(errors, lit.span(), format!("`{key}` must be at most {max}")),
                Ok(n) if n > 0 => Some(Value::Count(n)),
                _ => refuse(
                    errors,
                    lit.span(),
                    format!("`{key}` must be a whole number greater than zero, such as `{}`", spec.example),
                ),
            }
        }
        Kind::Hook => Some(Value::Hook(input.parse().map_err(|e| expect(e.span()))?)),
        Kind::Size | Kind::Duration | Kind::DurationOrOff | Kind::Text | Kind::Room | Kind::OnFull | Kind::Rate => {
            let lit: LitStr = input.parse().map_err(|e| expect(e.span()))?;
            match string_value(&lit, key, spec.kind) {
                Ok(value) => Some(value),
                Err(message) => refuse(errors, lit.span(), message),
            }
        }
    })
}

/// The value of a string-literal option of `kind`, parsed once here.
fn string_value(lit: &LitStr, key: &Ident, kind: Kind) -> Result<Value, String> {
    let text = lit.value();
    match kind {
        Kind::Size => parse_size(&text).map(Value::Bytes),
        // `"off"` turns off what the app enables by default (0 ms = off).
        Kind::DurationOrOff if text == "off" => Ok(Value::Millis(0)),
        Kind::Duration if text == "off" => {
            let off: Vec<String> = Key::ALL
                .iter()
                .filter(|k| k.spec().kind == Kind::DurationOrOff)
                .map(|k| format!("`{}`", k.spec().name))
                .collect();
            Err(format!(
                "`{key}` cannot be off: write a duration such as `\"30s\"` (only {} take `\"off\"`)",
                off.join(" and ")
            ))
        }
        Kind::Duration | Kind::DurationOrOff => parse_duration(&text).map(Value::Millis),
        Kind::Rate => parse_rate(&text).map(|(n, per)| Value::Rate(n, per)),
        Kind::OnFull => match text.as_str() {
            "close" => Ok(Value::OnFullDrop(false)),
            "drop" => Ok(Value::OnFullDrop(true)),
            _ => Err(format!("invalid `{key}` policy `\"{text}\"`: write `\"close\"` or `\"drop\"`")),
        },
        Kind::Room => Ok(Value::Room(lit.clone())),
        _ => Ok(Value::Text(lit.clone())),
    }
}

/// Skips the rest of the current option: every token up to the next top-level `,`.
fn skip_option(input: ParseStream<'_>) {
    while !input.is_empty() && !input.peek(Token![,]) {
        let _ = input.parse::<proc_macro2::TokenTree>();
    }
}
