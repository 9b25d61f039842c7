//! Validation: [`RouteArgs`] + [`HandlerFn`] become a [`Route`], the model
//! codegen works from. A `Route` that exists is valid.

use syn::LitStr;

use crate::args::RouteArgs;
use crate::errors::Errors;
use crate::handler::HandlerFn;
use crate::lists::{check_origin, check_protocol, empty_list};
use crate::options::{span_of, Key, Options, Rule, Set, Value};
use crate::template::{parse_path, parse_room, Part, Segment};

/// A validated route.
pub(crate) struct Route {
    pub(crate) krate: syn::Path,
    pub(crate) path: LitStr,
    pub(crate) segments: Vec<Segment>,
    pub(crate) params: Vec<String>,
    pub(crate) handler: HandlerFn,
    /// The options as written (`broadcast` is in `room`, parsed).
    pub(crate) options: Options,
    /// `broadcast = "chat:{room}"`, parsed against the path's params.
    pub(crate) room: Option<Vec<Part>>,
    /// Per handler argument: written as the `receives` type, so extracted
    /// as `Received<T>` (in `handler.args`) and passed as its `.0` (set by
    /// `contract::receive`, after validation).
    pub(crate) received: Vec<bool>,
    /// The handler's argument types (with `auth`): each `Auth<T>` among
    /// them, however named, is checked against the validator's identity.
    pub(crate) auth_types: Vec<syn::Type>,
}

impl Route {
    /// Checks the arguments against each other and the handler.
    pub(crate) fn validate(args: RouteArgs, handler: HandlerFn, errors: &mut Errors) -> Option<Route> {
        let RouteArgs { path, mut options, krate, errors: parse_errors } = args;
        errors.absorb(parse_errors);
        let (segments, path_ok) = match parse_path(&path.value()) {
            Ok(segments) => (segments, true),
            Err(message) => {
                errors.push(path.span(), message);
                (Vec::new(), false)
            }
        };
        let params: Vec<String> =
            segments.iter().filter_map(|s| if let Segment::Param(p) = s { Some(p.clone()) } else { None }).collect();

        if path_ok {
            check_other_routes(&handler, &path, &segments, errors);
        }
        check_rules(&options, errors);
        check_list(&options, Key::origins, check_origin, errors);
        check_list(&options, Key::protocols, check_protocol, errors);
        let room = match options.remove(Key::broadcast).map(|set| set.value) {
            // With a broken path the params are unknown: report the path only.
            Some(Value::Room(lit)) => match parse_room(&lit.value(), &params, &path.value()) {
                Ok(parts) => Some(parts),
                Err(message) => {
                    if path_ok {
                        errors.push(lit.span(), message);
                    }
                    Some(Vec::new())
                }
            },
            _ => None,
        };
        // Every argument: an alias of `Auth<T>` is checked like `Auth<T>`.
        let auth_types = if options.has(Key::auth) { handler.args.clone() } else { Vec::new() };

        let krate = krate.unwrap_or_else(|| syn::parse_quote!(::wirehub));
        let received = vec![false; handler.args.len()];
        errors.is_empty().then_some(Route {
            krate,
            path,
            segments,
            params,
            handler,
            options,
            room,
            received,
            auth_types,
        })
    }
}

/// The table's rules column: an option that would do nothing is an error
/// naming what to add or remove. One error per option, and none about an
/// option whose value was refused (it has its own error already).
fn check_rules(options: &Options, errors: &mut Errors) {
    // `exclude_sender = false` says what is true anyway: nothing to check.
    for (key, set) in options.iter().filter(|(_, set)| !matches!(set.value, Value::Flag(false))) {
        if let Some((span, message)) = key.spec().rules.iter().find_map(|rule| broken_rule(options, key, set, *rule)) {
            errors.push(span, message);
        }
    }
}

/// What is wrong with `key = set` under `rule`, if anything, and where.
fn broken_rule(options: &Options, key: Key, set: &Set, rule: Rule) -> Option<(proc_macro2::Span, String)> {
    let name = key.spec().name;
    let (Rule::Requires(other) | Rule::UnlessOff(other) | Rule::AtMost(other)) = rule;
    let (other_name, example) = (other.spec().name, other.spec().example);
    let other_set = options.get(other);
    match rule {
        Rule::Requires(_) if !options.meant(other) => Some((
            span_of(set),
            format!("`{name}` needs `{other_name}`: add `{other_name} = {example}`, or remove `{name}`"),
        )),
        Rule::Requires(_) | Rule::UnlessOff(_) if other_set.is_some_and(Set::is_off) => Some((
            span_of(set),
            format!(
                "`{name}` does nothing with `{other_name} = \"off\"`: remove `{name}`, or set `{other_name}` to a \
                 duration such as `{example}`"
            ),
        )),
        Rule::AtMost(_) => match (&set.value, other_set.map(|o| &o.value)) {
            (Value::Count(n), Some(Value::Count(max))) if n > max => Some((
                set.span,
                format!(
                    "`{name} = {n}` is above `{other_name} = {max}` and would never apply: write at most `{max}`, \
                     or remove `{name}`"
                ),
            )),
            _ => None,
        },
        _ => None,
    }
}

/// The entries of a list option: not empty, each valid, none twice.
fn check_list(options: &Options, key: Key, check: fn(&str) -> Result<(), String>, errors: &mut Errors) {
    let Some(set) = options.get(key) else { return };
    let Value::List(items) = &set.value else { return };
    if items.is_empty() {
        errors.push(set.span, empty_list(key.spec().name));
    }
    for (i, item) in items.iter().enumerate() {
        let value = item.value();
        if let Err(message) = check(&value) {
            errors.push(item.span(), message);
        } else if items[..i].iter().any(|earlier| earlier.value() == value) {
            errors.push(
                item.span(),
                format!("duplicate entry `\"{value}\"` in `{}`: remove one of them", key.spec().name),
            );
        }
    }
}

/// Another `#[ws_route]` on the same function (it would expand after this
/// one): the same route twice would stop the app at startup, and one
/// function serves one route.
fn check_other_routes(handler: &HandlerFn, path: &LitStr, segments: &[Segment], errors: &mut Errors) {
    let same_route = |other: &[Segment]| {
        other.len() == segments.len()
            && other.iter().zip(segments).all(|pair| match pair {
                (Segment::Static(a), Segment::Static(b)) => a == b,
                (Segment::Param(_), Segment::Param(_)) => true,
                _ => false,
            })
    };
    let name = &handler.item.sig.ident;
    for attr in &handler.item.attrs {
        if attr.path().segments.last().is_none_or(|s| s.ident != "ws_route") {
            continue;
        }
        let other = attr.parse_args_with(|input: syn::parse::ParseStream<'_>| {
            let lit: LitStr = input.parse()?;
            let _: proc_macro2::TokenStream = input.parse()?;
            Ok(lit)
        });
        let message = match other {
            Ok(other) if parse_path(&other.value()).is_ok_and(|other| same_route(&other)) => format!(
                "`\"{}\"` is already the route of `{name}` (as `\"{}\"`): remove this `#[ws_route]`",
                other.value(),
                path.value()
            ),
            Ok(other) => format!(
                "`{name}` already has `#[ws_route(\"{}\")]`: a function serves one route; serve `\"{}\"` \
                 from another handler that calls `{name}`",
                path.value(),
                other.value()
            ),
            Err(_) => format!("`{name}` already has `#[ws_route(\"{}\")]`: remove this one", path.value()),
        };
        errors.add(syn::Error::new_spanned(attr, message));
    }
}
