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
            let closest = Key::closest(&unknown.to_string());
            if let Some(meant) = closest {
                self.options.misspelled(meant);
            }
            let hint = closest.map(|k| format!("did you mean `{}`? ", k.spec().name)).unwrap_or_default();
            self.errors
                .push(unknown.span(), format!("unknown option `{unknown}`: {hint}valid options are {}", valid_keys()));
            skip_option(input);
            return Ok(());
        };
        if self.options.written(which) {
            self.errors.push(key.span(), format!("duplicate option `{key}`: remove one of them"));
            skip_option(input);
            return Ok(());
        }
        // A key written with a bad value is still written: nothing else is
        // said about it (no "`burst` needs `rate`" after a refused `rate`).
        self.options.refuse(which);
        input.parse::<Token![=]>().map_err(|e| syn::Error::new(e.span(), format!("expected `=` after `{key}`")))?;
        // The whole value when it is one token tree (a list's brackets).
        let span = input.cursor().token_tree().map_or_else(|| input.span(), |(tree, _)| tree.span());
        if let Some(value) = parse_value(input, &key, which.spec(), &mut self.errors)? {
            self.options.insert(which, Set { key, value, span });
        }
        Ok(())
    }
}

/// Parses the value of `key`; `Ok(None)` when it was refused (error recorded).
fn parse_value(input: ParseStream<'_>, key: &Ident, spec: &Spec, errors: &mut Errors) -> syn::Result<Option<Value>> {
    // `auth` takes a validator function such as `validate`, ...
    let expect = |span: Span| match spec.kind {
        // These name every value they take already.
        Kind::Hook | Kind::Flag | Kind::OnFull | Kind::Type => {
            syn::Error::new(span, format!("`{key}` takes {}", spec.takes))
        }
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
            parse_list(&content, key, spec, errors).map(Value::List)
        }
        Kind::Flag => Some(Value::Flag(input.parse::<LitBool>().map_err(|e| expect(e.span()))?.value)),
        Kind::Count | Kind::Count32 => {
            let lit: LitInt = input.parse().map_err(|e| expect(e.span()))?;
            let max = if spec.kind == Kind::Count32 { u64::from(u32::MAX) } else { usize::MAX as u64 };
            match lit.base10_parse::<u64>() {
                Ok(n) if n > max => refuse(
                    errors,
                    lit.span(),
                    format!("`{key}` must be at most {max}: write a smaller number, such as `{}`", spec.example),
                ),
                Ok(n) if n > 0 => Some(Value::Count(n)),
                _ => refuse(
                    errors,
                    lit.span(),
                    format!("`{key}` must be a whole number greater than zero, such as `{}`", spec.example),
                ),
            }
        }
        Kind::Hook => Some(Value::Hook(input.parse().map_err(|e| expect(e.span()))?)),
        Kind::Type => {
            if input.peek(syn::LitStr) {
                let lit: LitStr = input.parse()?;
                return Ok(refuse(
                    errors,
                    lit.span(),
                    format!("`{key}` takes a type, not a string: write `{key} = {}`", lit.value()),
                ));
            }
            Some(Value::Type(Box::new(input.parse().map_err(|e| expect(e.span()))?)))
        }
        Kind::Size | Kind::Duration | Kind::DurationOrOff | Kind::Text | Kind::Room | Kind::OnFull | Kind::Rate => {
            let lit: LitStr = input.parse().map_err(|e| expect(e.span()))?;
            match string_value(&lit, key, spec.kind) {
                Ok(value) => Some(value),
                Err(message) => refuse(errors, lit.span(), message),
            }
        }
    })
}

/// The entries of a list option, `"a", "b"`; `None` (error recorded) when
/// one is not a string literal or a `,` is missing. Every token of the list
/// is consumed either way, so the options after it are still parsed.
fn parse_list(content: ParseStream<'_>, key: &Ident, spec: &Spec, errors: &mut Errors) -> Option<Vec<LitStr>> {
    let mut items = Vec::new();
    let mut ok = true;
    while !content.is_empty() && ok {
        match content.parse::<LitStr>() {
            Ok(item) => items.push(item),
            Err(_) => {
                let token: proc_macro2::TokenTree = match content.parse() {
                    Ok(token) => token,
                    Err(_) => break,
                };
                let text = crate::handler::as_written(&token.clone().into());
                errors.push(
                    token.span(),
                    format!("the entries of `{key}` are string literals: write `\"{text}\"`, as in `{}`", spec.example),
                );
                ok = false;
            }
        }
        if ok && !content.is_empty() {
            if let Err(e) = content.parse::<Token![,]>() {
                errors.push(e.span(), format!("expected `,` between the entries of `{key}`"));
                ok = false;
            }
        }
    }
    while !content.is_empty() {
        let _ = content.parse::<proc_macro2::TokenTree>();
    }
    ok.then_some(items)
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
