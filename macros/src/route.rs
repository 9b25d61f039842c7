//! Validation: [`RouteArgs`] + [`HandlerFn`] become a [`Route`], the model
//! codegen works from. A `Route` that exists is valid.

use syn::LitStr;

use crate::args::RouteArgs;
use crate::errors::Errors;
use crate::handler::HandlerFn;
use crate::options::{span_of, Key, Options, Value};
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
        if let Some(Value::List(list)) = options.get(Key::origins).map(|set| &set.value) {
            // Empty entries and spaces were reported while parsing.
            for item in list.iter().filter(|i| !i.value().is_empty() && !i.value().contains([',', ' '])) {
                if let Err(message) = check_origin(&item.value()) {
                    errors.push(item.span(), message);
                }
            }
        }
        check_requirements(&options, room.is_some(), errors);
        // Every argument: an alias of `Auth<T>` is checked like `Auth<T>`.
        let auth_types = if options.has(Key::auth) { handler.args.clone() } else { Vec::new() };

        let krate = krate.unwrap_or_else(|| syn::parse_quote!(::wirehub));
        errors.is_empty().then_some(Route { krate, path, segments, params, handler, options, room, auth_types })
    }
}

/// The table's `requires` column: an option written without the options it
/// needs does nothing, so it is an error naming what to add.
fn check_requirements(options: &Options, has_room: bool, errors: &mut Errors) {
    // `exclude_sender = false` says what is true anyway: nothing to need.
    for (key, set) in options.iter().filter(|(_, set)| !matches!(set.value, Value::Flag(false))) {
        let missing = key.spec().requires.iter().find(|needed| match needed {
            Key::broadcast => !has_room,
            other => !options.has(**other),
        });
        if let Some(needed) = missing {
            let needed = needed.spec();
            errors.push(
                span_of(set),
                format!(
                    "`{}` needs `{}`: add `{} = {}`, or remove `{}`",
                    key.spec().name,
                    needed.name,
                    needed.name,
                    needed.example,
                    key.spec().name
                ),
            );
        }
    }
}

/// An `origins` entry is `"*"`, `"*.example.com"` (any subdomain), or an
/// origin as browsers send it: `scheme://host[:port]`, nothing after.
fn check_origin(entry: &str) -> Result<(), String> {
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
    match (scheme.is_empty(), host_ok) {
        (false, true) => Ok(()),
        _ => Err(format!(
            "invalid origin `\"{entry}\"`: write `scheme://host[:port]` with no path, such as `\"https://app.example.com\"`"
        )),
    }
}
