//! Validation: [`RouteArgs`] + [`HandlerFn`] become a [`Route`], the model
//! codegen works from. A `Route` that exists is valid.

use syn::spanned::Spanned;
use syn::LitStr;

use crate::args::{RouteArgs, Value};
use crate::errors::Errors;
use crate::handler::{auth_identity, path_tuple, HandlerFn};
use crate::template::{parse_path, parse_room, Part, Segment};

/// A validated route.
pub(crate) struct Route {
    pub(crate) krate: syn::Path,
    pub(crate) path: LitStr,
    pub(crate) segments: Vec<Segment>,
    pub(crate) params: Vec<String>,
    pub(crate) handler: HandlerFn,
    pub(crate) options: Options,
}

/// The typed option values (`None`: take the app's default).
#[derive(Default)]
pub(crate) struct Options {
    pub(crate) max_message: Option<u64>,
    pub(crate) idle_timeout: Option<u64>,
    pub(crate) heartbeat: Option<u64>,
    pub(crate) heartbeat_timeout: Option<u64>,
    pub(crate) write_timeout: Option<u64>,
    pub(crate) close_timeout: Option<u64>,
    pub(crate) app_ping: Option<LitStr>,
    pub(crate) app_pong: Option<LitStr>,
    pub(crate) room: Option<Vec<Part>>,
    pub(crate) exclude_sender: bool,
    pub(crate) idle_counts_pings: bool,
    pub(crate) queue: Option<usize>,
    pub(crate) on_full_drop: Option<bool>,
    pub(crate) on_open: Option<syn::Path>,
    pub(crate) on_close: Option<syn::Path>,
    pub(crate) auth: Option<syn::Path>,
    /// The handler's argument types (with `auth`): each `Auth<T>` among
    /// them, however named, is checked against the validator's identity.
    pub(crate) auth_types: Vec<syn::Type>,
    pub(crate) reauth: Option<u64>,
    pub(crate) protocols: Vec<LitStr>,
    pub(crate) origins: Option<Vec<LitStr>>,
    pub(crate) rate: Option<(u32, u64)>,
    pub(crate) burst: Option<usize>,
    pub(crate) max_connections: Option<usize>,
    pub(crate) max_connections_per_ip: Option<usize>,
}

impl Route {
    /// Checks the arguments against each other and the handler.
    pub(crate) fn validate(args: RouteArgs, handler: HandlerFn, errors: &mut Errors) -> Option<Route> {
        let RouteArgs { path, options: raw, krate, errors: parse_errors } = args;
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

        let mut options = Options::default();
        let mut room_lit = None;
        let mut exclude_key = None;
        let mut reauth_key = None;
        let mut burst_key = None;
        for option in raw {
            let key = option.key.to_string();
            match (key.as_str(), option.value) {
                ("max_message", Value::Bytes(n)) => options.max_message = Some(n),
                ("idle_timeout", Value::Millis(ms)) => options.idle_timeout = Some(ms),
                ("heartbeat", Value::Millis(ms)) => options.heartbeat = Some(ms),
                ("heartbeat_timeout", Value::Millis(ms)) => options.heartbeat_timeout = Some(ms),
                ("write_timeout", Value::Millis(ms)) => options.write_timeout = Some(ms),
                ("close_timeout", Value::Millis(ms)) => options.close_timeout = Some(ms),
                ("app_ping", Value::Text(lit)) => options.app_ping = Some(lit),
                ("app_pong", Value::Text(lit)) => options.app_pong = Some(lit),
                ("broadcast", Value::Room(lit)) => {
                    // With a broken path the params are unknown: report the path only.
                    match parse_room(&lit.value(), &params, &path.value()) {
                        Ok(parts) => options.room = Some(parts),
                        Err(message) if path_ok => errors.push(lit.span(), message),
                        Err(_) => {}
                    }
                    room_lit = Some(lit);
                }
                ("exclude_sender", Value::Flag(b)) => {
                    options.exclude_sender = b;
                    if b {
                        exclude_key = Some(option.key.clone());
                    }
                }
                ("idle_counts_pings", Value::Flag(b)) => options.idle_counts_pings = b,
                ("queue", Value::Count(n)) => options.queue = Some(n),
                ("on_full", Value::OnFullDrop(d)) => options.on_full_drop = Some(d),
                ("on_open", Value::Hook(p)) => options.on_open = Some(p),
                ("on_close", Value::Hook(p)) => options.on_close = Some(p),
                ("auth", Value::Hook(p)) => options.auth = Some(p),
                ("reauth", Value::Millis(ms)) => {
                    options.reauth = Some(ms);
                    reauth_key = Some(option.key.clone());
                }
                ("protocols", Value::List(list)) => options.protocols = list,
                ("origins", Value::List(list)) => {
                    // Empty entries and spaces were reported while parsing.
                    for item in list.iter().filter(|i| !i.value().is_empty() && !i.value().contains([',', ' '])) {
                        if let Err(message) = check_origin(&item.value()) {
                            errors.push(item.span(), message);
                        }
                    }
                    options.origins = Some(list);
                }
                ("rate", Value::Rate(n, per)) => options.rate = Some((n, per)),
                ("burst", Value::Count(n)) => {
                    options.burst = Some(n);
                    burst_key = Some(option.key.clone());
                }
                ("max_connections", Value::Count(n)) => options.max_connections = Some(n),
                ("max_connections_per_ip", Value::Count(n)) => options.max_connections_per_ip = Some(n),
                (_, value) => errors.push(option.key.span(), format!("internal: option `{key}` got {value:?}")),
            }
        }
        if let (Some(key), None) = (&exclude_key, &room_lit) {
            errors
                .push(key.span(), "`exclude_sender` needs `broadcast = \"room\"`: add it, or remove `exclude_sender`");
        }
        if let (Some(pong), None) = (&options.app_pong, &options.app_ping) {
            errors.push(pong.span(), "`app_pong` needs `app_ping`: add `app_ping = \"ping\"`");
        }
        if let (Some(key), None) = (&reauth_key, &options.auth) {
            errors.push(key.span(), "`reauth` needs `auth = validator`: add it, or remove `reauth`");
        }
        if let (Some(key), None) = (&burst_key, &options.rate) {
            errors.push(key.span(), "`burst` needs `rate = \"N/s\"`: add it, or remove `burst`");
        }
        for ty in &handler.args {
            if auth_identity(ty).is_some() && options.auth.is_none() {
                errors.push(
                    ty.span(),
                    "`Auth<..>` needs `auth = validator` on the route: add `auth = my_validator` to `#[ws_route]`",
                );
            }
        }
        if options.auth.is_some() {
            // Every argument: an alias of `Auth<T>` is checked like `Auth<T>`.
            options.auth_types.clone_from(&handler.args);
        }
        check_path_tuples(&handler, &params, &path, errors);

        let krate = krate.unwrap_or_else(|| syn::parse_quote!(::wirehub));
        errors.is_empty().then_some(Route { krate, path, segments, params, handler, options })
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

/// A `Path<(A, B)>` must have one element per `{param}`.
fn check_path_tuples(handler: &HandlerFn, params: &[String], path: &LitStr, errors: &mut Errors) {
    for ty in &handler.args {
        let Some(tuple) = path_tuple(ty) else { continue };
        let n = tuple.elems.len();
        if n != params.len() {
            let have = match params.len() {
                0 => "no parameters".to_owned(),
                1 => "1 parameter".to_owned(),
                k => format!("{k} parameters"),
            };
            errors.push(
                tuple.span(),
                format!(
                    "`Path` has {n} element{} but `\"{}\"` has {have}: write one element per `{{param}}`, in order",
                    if n == 1 { "" } else { "s" },
                    path.value()
                ),
            );
        }
    }
}

/// Parse, validate, generate. On any error the function is emitted
/// unchanged next to the errors, so no second wave of "cannot find" errors.
pub(crate) fn expand(attr: proc_macro2::TokenStream, item: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let item_fn: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            let e = syn::Error::new(e.span(), "`#[ws_route]` goes on an `async fn`");
            let errors = e.to_compile_error();
            return quote::quote!(#item #errors);
        }
    };
    let mut errors = Errors::default();
    let args = syn::parse2::<RouteArgs>(attr);
    let mut handler_errors = Errors::default();
    let handler = HandlerFn::new(item_fn.clone(), &mut handler_errors);
    let route = match args {
        Ok(mut args) => {
            // The attribute's problems first, then the signature's.
            errors.absorb(std::mem::take(&mut args.errors));
            errors.absorb(handler_errors);
            Route::validate(args, handler, &mut errors)
        }
        Err(e) => {
            errors.add(e);
            errors.absorb(handler_errors);
            None
        }
    };
    let out = match route {
        Some(route) if errors.is_empty() => crate::expand::route(&route),
        _ => {
            let errors = errors.to_compile_errors();
            quote::quote!(#item_fn #errors)
        }
    };
    if std::env::var_os("WIREHUB_MACROS_DEBUG").is_some_and(|v| v == "1") {
        eprintln!("{out}");
    }
    out
}
