//! The route options of wirehub's `#[ws_route]`, declared once.
//!
//! One table, many uses (the shape of the `http` crate's `status_codes!`):
//! [`route_options!`] hands every row, projected to the columns a use needs,
//! to a callback macro, and each crate generates what it needs from the same
//! rows:
//!
//! - `wirehub-macros`: the option keywords, the key parser, the typed model,
//!   the "valid options are ..." list, the "`x` needs `y`" rules, the
//!   per-option error hints and the Options table in the rustdoc of
//!   `#[ws_route]`;
//! - `wirehub`: `RouteOptions` (what the macro emits), the app-wide defaults
//!   in `Config`, and the resolved per-route settings the runtime reads.
//!
//! Adding an option: add a row here, use the resolved value where it has an
//! effect, and test it. Nothing else is written by hand.
//!
//! # Columns
//!
//! `key: Kind { ... }`, where `Kind` says how the macro parses the value
//! (`Size`, `Duration`, `DurationOrOff`, `Text`, `Room`, `Flag`, `Count`,
//! `Count32`, `OnFull`, `Hook`, `List`, `Rate`, `Type`), then:
//!
//! | column | used by | what it is |
//! |---|---|---|
//! | `example` | macro | a value as written in the attribute, quoted in messages |
//! | `takes` | macro, docs | what the value is (units, signature) |
//! | `meaning` | docs | what the option does |
//! | `default` | docs | the default, in words |
//! | `rules` | macro, docs | when this option does nothing, so writing it is an error (below) |
//! | `runtime` | runtime | the value's type in `RouteOptions` (each field is an `Option` of it) |
//! | `app` | runtime | `[Type = default]`: a `Config` field of that type sets the app-wide default; `[]`: route only |
//! | `resolve` | runtime | `|route, app|` (`app` is `()` for route-only options): the value the runtime uses |
//! | `resolved` | runtime | the type of that value |
//!
//! Rules, the one list of option combinations that do nothing:
//!
//! - `Requires(other)`: `other` must be written too, and not `"off"`;
//! - `UnlessOff(other)`: with `other = "off"` this option does nothing;
//! - `AtMost(other)`: a count above `other`'s never applies.
//!
//! The `runtime`, `app` and `resolve` columns are tokens interpreted in the
//! `wirehub` crate, where `Duration`, `OnFull`, `Origins`, `Rate`,
//! `TemplatePart`, `OnOpenFn`, `OnCloseFn`, `AuthFn` and `MessageFn` are in scope.

#![no_std]

/// Calls `$callback! { rows }` with every route option, in documentation
/// order, each row projected to the columns one use needs (the view):
///
/// | view | row | used by |
/// |---|---|---|
/// | `parse` | `key: Kind { example, takes, rules: [..] }` | the macro's keywords, parser and rules |
/// | `docs` | `key: Kind { example, takes, meaning, default, rules: [..] }` | the rustdoc of `#[ws_route]` |
/// | `route_options` | `key { example, meaning, runtime: Type }` | `RouteOptions` (what the macro emits) |
/// | `config` | `key { meaning, default, app: [Type = default] }` | `Config`'s app-wide defaults |
/// | `resolve` | `key { app: [Type], resolve: |route, app| .. }` | resolving a route's options |
/// | `resolved` | `key { resolved: Type }` | `Resolved`, what the runtime reads |
///
/// The full row grammar is matched once, here; each use matches its view.
///
/// ```
/// macro_rules! count {
///     ($($key:ident { resolved: $resolved:ty }),* $(,)?) => {
///         [$(stringify!($key)),*].len()
///     };
/// }
/// assert!(wirehub_options::route_options!(resolved: count) > 20);
/// ```
#[macro_export]
macro_rules! route_options {
    ($view:ident : $callback:ident) => {
        $crate::__project! { $view $callback

            max_message: Size {
                example: "\"1MiB\"",
                takes: "a size literal (`B`, `KiB`, `MiB`, `GiB`; `KB`, `MB`, `GB` are powers of 1000)",
                meaning: "largest message (and frame) accepted; a bigger one closes with 1009",
                default: "1 MiB",
                rules: [],
                runtime: usize,
                app: [usize = 1 << 20],
                resolve: |route: Option<usize>, app| route.unwrap_or(app),
                resolved: usize,
            },
            idle_timeout: DurationOrOff {
                example: "\"60s\"",
                takes: "a duration literal (`ms`, `s`, `m`, `h`), or `\"off\"`",
                meaning: "close (1000) a connection that sent no data message for this long; `\"off\"` turns off an app-wide one",
                default: "off",
                rules: [],
                runtime: Duration,
                app: [Option<Duration> = None],
                resolve: |route: Option<Duration>, app: Option<Duration>| route.or(app).filter(|d| !d.is_zero()),
                resolved: Option<Duration>,
            },
            idle_counts_pings: Flag {
                example: "true",
                takes: "`true` or `false`",
                meaning: "pings from the peer, and its pongs that answer our heartbeat pings, count as activity for `idle_timeout` (unsolicited pongs never do)",
                default: "`false`",
                rules: [Requires(idle_timeout)],
                runtime: bool,
                app: [bool = false],
                resolve: |route: Option<bool>, app| route.unwrap_or(app),
                resolved: bool,
            },
            heartbeat: DurationOrOff {
                example: "\"30s\"",
                takes: "a duration literal, or `\"off\"`",
                meaning: "protocol Ping interval; each ping carries an unguessable payload, and `Conn::rtt()` reads the round trip of the pong that echoes it; `\"off\"`: no pings on this route",
                default: "30 s",
                rules: [],
                runtime: Duration,
                app: [Option<Duration> = Some(Duration::from_secs(30))],
                resolve: |route: Option<Duration>, app: Option<Duration>| route.or(app).filter(|d| !d.is_zero()),
                resolved: Option<Duration>,
            },
            heartbeat_timeout: Duration {
                example: "\"10s\"",
                takes: "a duration literal",
                meaning: "a peer silent (no frame at all) for `heartbeat + heartbeat_timeout` is dropped",
                default: "10 s",
                rules: [UnlessOff(heartbeat)],
                runtime: Duration,
                app: [Duration = Duration::from_secs(10)],
                resolve: |route: Option<Duration>, app| route.unwrap_or(app),
                resolved: Duration,
            },
            write_timeout: Duration {
                example: "\"5s\"",
                takes: "a duration literal",
                meaning: "a write (or flush) that cannot finish in time drops the peer",
                default: "10 s",
                rules: [],
                runtime: Duration,
                app: [Duration = Duration::from_secs(10)],
                resolve: |route: Option<Duration>, app| route.unwrap_or(app),
                resolved: Duration,
            },
            close_timeout: Duration {
                example: "\"3s\"",
                takes: "a duration literal",
                meaning: "how long the peer has to answer our Close",
                default: "3 s",
                rules: [],
                runtime: Duration,
                app: [Duration = Duration::from_secs(3)],
                resolve: |route: Option<Duration>, app| route.unwrap_or(app),
                resolved: Duration,
            },
            app_ping: Text {
                example: "\"ping\"",
                takes: "a string literal",
                meaning: "a text message the runtime answers with `app_pong` without calling the handler (browser keepalive)",
                default: "off",
                rules: [],
                runtime: &'static str,
                app: [],
                resolve: |route: Option<&'static str>, ()| route,
                resolved: Option<&'static str>,
            },
            app_pong: Text {
                example: "\"{\\\"type\\\":\\\"pong\\\"}\"",
                takes: "a string literal",
                meaning: "the answer to `app_ping`",
                default: "`{\"type\":\"pong\"}`",
                rules: [Requires(app_ping)],
                runtime: &'static str,
                app: [],
                resolve: |route: Option<&'static str>, ()| route.unwrap_or(r#"{"type":"pong"}"#),
                resolved: &'static str,
            },
            broadcast: Room {
                example: "\"chat:{room}\"",
                takes: "a room name, or a template of the path's `{param}`s",
                meaning: "every connection joins this room, and what the handler returns goes to the room",
                default: "off",
                rules: [],
                runtime: &'static [TemplatePart],
                app: [],
                resolve: |route: Option<&'static [TemplatePart]>, ()| route,
                resolved: Option<&'static [TemplatePart]>,
            },
            exclude_sender: Flag {
                example: "true",
                takes: "`true` or `false`",
                meaning: "replies to the room skip the sender",
                default: "`false`",
                rules: [Requires(broadcast)],
                runtime: bool,
                app: [],
                resolve: |route: Option<bool>, ()| route.unwrap_or(false),
                resolved: bool,
            },
            history: Count {
                example: "100",
                takes: "a whole number greater than zero",
                meaning: "keep the room's last N messages, each with a position (`Position`), so a client reconnecting with `?since=<pos>` gets what it missed first (see `Hub::publish`)",
                default: "off",
                rules: [Requires(broadcast)],
                runtime: usize,
                app: [],
                resolve: |route: Option<usize>, ()| route,
                resolved: Option<usize>,
            },
            history_ttl: Duration {
                example: "\"5m\"",
                takes: "a duration literal",
                meaning: "messages older than this leave the room's history (with `history`, whichever is reached first); a room without members whose history emptied is forgotten",
                default: "no age limit",
                rules: [Requires(history)],
                runtime: Duration,
                app: [],
                resolve: |route: Option<Duration>, ()| route,
                resolved: Option<Duration>,
            },
            presence: Flag {
                example: "true",
                takes: "`true` or `false`",
                meaning: "presence events for the room: members are listed by identity (the `Auth` principal, else the connection id, once however many connections it has) with the metadata `Conn::set_presence_meta` sets; a member first gets a `presence_state`, then one `presence_diff` per `presence_interval` (see `wirehub::hub::presence`)",
                default: "`false` (nothing is tracked)",
                rules: [Requires(broadcast)],
                runtime: bool,
                app: [],
                resolve: |route: Option<bool>, ()| route.unwrap_or(false),
                resolved: bool,
            },
            presence_interval: Duration {
                example: "\"100ms\"",
                takes: "a duration literal",
                meaning: "presence changes are batched: at most one `presence_diff` per room per interval",
                default: "100 ms",
                rules: [Requires(presence)],
                runtime: Duration,
                app: [],
                resolve: |route: Option<Duration>, ()| route.unwrap_or(Duration::from_millis(100)).max(Duration::from_millis(1)),
                resolved: Duration,
            },
            presence_limit: Count {
                example: "1000",
                takes: "a whole number greater than zero",
                meaning: "a room with more identities than this sends counts only (no lists of identities), so a storm of joins in a large room costs O(N), not O(N^2)",
                default: "1000",
                rules: [Requires(presence)],
                runtime: usize,
                app: [],
                resolve: |route: Option<usize>, ()| route.unwrap_or(1000),
                resolved: usize,
            },
            queue: Count {
                example: "1024",
                takes: "a whole number greater than zero",
                meaning: "outbound queue capacity per connection, in messages",
                default: "1024",
                rules: [],
                runtime: usize,
                app: [usize = 1024],
                resolve: |route: Option<usize>, app: usize| route.unwrap_or(app).max(1),
                resolved: usize,
            },
            max_queue_bytes: Size {
                example: "\"8MiB\"",
                takes: "a size literal",
                meaning: "outbound queue capacity per connection, in payload bytes (with `queue`, whichever is reached first); a message is always accepted into an empty queue",
                default: "4 MiB",
                rules: [],
                runtime: usize,
                app: [usize = 4 << 20],
                resolve: |route: Option<usize>, app: usize| route.unwrap_or(app).max(1),
                resolved: usize,
            },
            on_full: OnFull {
                example: "\"drop\"",
                takes: "`\"close\"` or `\"drop\"`",
                meaning: "a member whose queue is full is closed with 1013, or misses the message (counted); see `OnFull`",
                default: "`\"close\"`",
                rules: [],
                runtime: OnFull,
                app: [OnFull = OnFull::Close],
                resolve: |route: Option<OnFull>, app| route.unwrap_or(app),
                resolved: OnFull,
            },
            on_open: Hook {
                example: "opened",
                takes: "a function such as `opened`, written `async fn opened(conn: Conn)`; it can take any extractor that needs no message (`State<T>`, `Query<T>`, `Auth<T>`, `Session<T>`, ...) and return a value, which becomes the connection's `Session<T>`",
                meaning: "runs once the connection is registered, before its first message",
                default: "none",
                rules: [],
                runtime: OnOpenFn,
                app: [],
                resolve: |route: Option<OnOpenFn>, ()| route,
                resolved: Option<OnOpenFn>,
            },
            on_close: Hook {
                example: "closed",
                takes: "a function such as `closed`, written `async fn closed(conn: Conn, reason: CloseReason)`; it can take any extractor that needs no message (`State<T>`, `Session<T>`, ...)",
                meaning: "runs exactly once however the connection ended",
                default: "none",
                rules: [],
                runtime: OnCloseFn,
                app: [],
                resolve: |route: Option<OnCloseFn>, ()| route,
                resolved: Option<OnCloseFn>,
            },
            auth: Hook {
                example: "validate",
                takes: "a validator function such as `validate`, written `fn validate(hs: &Handshake) -> Result<T, Reject>` (or `async fn`); after `&Handshake` (optional) it can take `State<T>`, `Path<T>`, `Query<T>`, `Headers`",
                meaning: "runs before the upgrade (a refusal never reaches the handler); handlers take `Auth<T>`, checked against `T` at compile time",
                default: "none",
                rules: [],
                runtime: AuthFn,
                app: [],
                resolve: |route: Option<AuthFn>, ()| route,
                resolved: Option<AuthFn>,
            },
            reauth: Duration {
                example: "\"15m\"",
                takes: "a duration literal",
                meaning: "run the validator again this often on the kept handshake; a refusal closes with 1008",
                default: "off",
                rules: [Requires(auth)],
                runtime: Duration,
                app: [],
                resolve: |route: Option<Duration>, ()| route,
                resolved: Option<Duration>,
            },
            receives: Type {
                example: "ChatIn",
                takes: "a type implementing `serde::Deserialize` (usually a `#[serde(tag = \"type\")]` enum), such as `ChatIn`",
                meaning: "the route's inbound messages: the handler takes `msg: ChatIn` (written as here); a message that is not one is answered with an error (the connection stays open); a message carrying `\"id\"` gets exactly one `{\"type\":\"ack\",\"id\":..}` or error answer (see `wirehub::contract`)",
                default: "none: the extractors read each message as it is",
                rules: [],
                runtime: MessageFn,
                app: [],
                resolve: |route: Option<MessageFn>, ()| route,
                resolved: Option<MessageFn>,
            },
            sends: Type {
                example: "ChatOut",
                takes: "a type implementing `serde::Serialize`, such as `ChatOut`",
                meaning: "the route's outbound messages: the handler's replies and `Out<ChatOut>` sends are checked against it at compile time (`conn.send` stays the untyped way)",
                default: "none: any message",
                rules: [],
                runtime: MessageFn,
                app: [],
                resolve: |route: Option<MessageFn>, ()| route,
                resolved: Option<MessageFn>,
            },
            protocols: List {
                example: "[\"chat.v1\", \"chat.v2\"]",
                takes: "a list of string literals",
                meaning: "subprotocols in preference order; a client offering none of them gets 400",
                default: "none",
                rules: [],
                runtime: &'static [&'static str],
                app: [],
                resolve: |route: Option<&'static [&'static str]>, ()| route.unwrap_or(&[]),
                resolved: &'static [&'static str],
            },
            origins: List {
                example: "[\"https://app.example\", \"*.example.com\"]",
                takes: "a list of string literals: `scheme://host[:port]`, `*.domain`, `*` or `null`",
                meaning: "the `Origin`s allowed to connect; others get 403",
                default: "the app's (the allowed hosts: the bind address, `localhost` names and `Config::allowed_hosts`)",
                rules: [],
                runtime: &'static [&'static str],
                app: [Origins = Origins::AllowedHosts],
                resolve: |route: Option<&'static [&'static str]>, app| route.map_or(app, Origins::from_list),
                resolved: Origins,
            },
            rate: Rate {
                example: "\"50/s\"",
                takes: "a rate literal (messages per `s`, `m` or `h`)",
                meaning: "data messages per connection (a token bucket); faster closes with 1008",
                default: "off",
                rules: [],
                runtime: Rate,
                app: [],
                resolve: |route: Option<Rate>, ()| route,
                resolved: Option<Rate>,
            },
            burst: Count32 {
                example: "100",
                takes: "a whole number greater than zero",
                meaning: "the token bucket's size: messages accepted at once",
                default: "= the rate's count",
                rules: [Requires(rate)],
                runtime: u32,
                app: [],
                resolve: |route: Option<u32>, ()| route,
                resolved: Option<u32>,
            },
            control_rate: Rate {
                example: "\"20/s\"",
                takes: "a rate literal (frames per `s`, `m` or `h`)",
                meaning: "pings, pongs and empty continuation frames per connection (a token bucket holding the rate's count); faster closes with 1008",
                default: "100/s",
                rules: [],
                runtime: Rate,
                app: [Rate = Rate { count: 100, per: Duration::from_secs(1) }],
                resolve: |route: Option<Rate>, app| route.unwrap_or(app),
                resolved: Rate,
            },
            max_connections: Count {
                example: "10000",
                takes: "a whole number greater than zero",
                meaning: "concurrent connections on the route; over it the handshake gets 503",
                default: "none",
                rules: [],
                runtime: usize,
                app: [Option<usize> = None],
                resolve: |route: Option<usize>, app: Option<usize>| route.or(app),
                resolved: Option<usize>,
            },
            max_connections_per_ip: Count {
                example: "20",
                takes: "a whole number greater than zero",
                meaning: "concurrent connections per client IP on the route; over it the handshake gets 429",
                default: "none",
                rules: [AtMost(max_connections)],
                runtime: usize,
                app: [Option<usize> = None],
                resolve: |route: Option<usize>, app: Option<usize>| route.or(app),
                resolved: Option<usize>,
            },
        }
    };
}

/// Matches the full rows once and hands the requested view to the callback.
#[doc(hidden)]
#[macro_export]
macro_rules! __project {
    ($view:ident $callback:ident $($key:ident : $kind:ident {
        example: $example:literal,
        takes: $takes:literal,
        meaning: $meaning:literal,
        default: $default:literal,
        rules: [$($rule:ident($other:ident)),*],
        runtime: $runtime:ty,
        app: [$($app_ty:ty = $app_default:expr)?],
        resolve: $resolve:expr,
        resolved: $resolved:ty,
    }),* $(,)?) => {
        $crate::__view! { $view $callback
            [$($key: $kind { example: $example, takes: $takes, rules: [$($rule($other)),*] }),*]
            [$($key: $kind {
                example: $example, takes: $takes, meaning: $meaning, default: $default, rules: [$($rule($other)),*]
            }),*]
            [$($key { example: $example, meaning: $meaning, runtime: $runtime }),*]
            [$($key { meaning: $meaning, default: $default, app: [$($app_ty = $app_default)?] }),*]
            [$($key { app: [$($app_ty)?], resolve: $resolve }),*]
            [$($key { resolved: $resolved }),*]
        }
    };
}

/// Picks one projection of `__project!`.
#[doc(hidden)]
#[macro_export]
macro_rules! __view {
    (parse $cb:ident [$($v:tt)*] $_1:tt $_2:tt $_3:tt $_4:tt $_5:tt) => { $cb! { $($v)* } };
    (docs $cb:ident $_0:tt [$($v:tt)*] $_2:tt $_3:tt $_4:tt $_5:tt) => { $cb! { $($v)* } };
    (route_options $cb:ident $_0:tt $_1:tt [$($v:tt)*] $_3:tt $_4:tt $_5:tt) => { $cb! { $($v)* } };
    (config $cb:ident $_0:tt $_1:tt $_2:tt [$($v:tt)*] $_4:tt $_5:tt) => { $cb! { $($v)* } };
    (resolve $cb:ident $_0:tt $_1:tt $_2:tt $_3:tt [$($v:tt)*] $_5:tt) => { $cb! { $($v)* } };
    (resolved $cb:ident $_0:tt $_1:tt $_2:tt $_3:tt $_4:tt [$($v:tt)*]) => { $cb! { $($v)* } };
}
