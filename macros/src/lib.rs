//! The `#[ws_route]` attribute of [wirehub](https://docs.rs/wirehub). Use it
//! through `wirehub` (`use wirehub::prelude::*;`), not directly.
//!
//! The macro parses the attribute ([`args`]), reads the handler's signature
//! ([`handler`]), validates both into a `Route` ([`route`]) and generates code
//! from it ([`expand`]). Errors point at the offending token and say what to
//! write instead; on error the function is still emitted unchanged.

use proc_macro::TokenStream;

mod args;
mod errors;
mod expand;
mod handler;
mod lit;
#[cfg(test)]
mod props;
mod route;
mod template;

/// Declares a WebSocket route served by `wirehub::App`.
///
/// # Grammar
///
/// ```text
/// #[ws_route("/path/{param}", key = value, ...)]
/// async fn name(extractor: Type, ...) -> ReplyType { ... }
/// ```
///
/// The path is `/` or `/`-separated segments; a segment is static text or a
/// whole `{name}` parameter.
///
/// # Options
///
/// | key | value | meaning | default |
/// |---|---|---|---|
/// | `max_message` | `"1MiB"` (`B`, `KiB`, `MiB`, `GiB`; `KB`, `MB`, `GB` are powers of 1000) | largest message; bigger closes with 1009 | 1 MiB |
/// | `idle_timeout` | `"60s"` (`ms`, `s`, `m`, `h`), or `"off"` | close (1000) after no data message for this long | off |
/// | `idle_counts_pings` | `true` | pings and pongs count as activity for `idle_timeout` | `false` |
/// | `heartbeat` | `"30s"`, or `"off"` | protocol ping interval | 30 s |
/// | `heartbeat_timeout` | `"10s"` | a peer silent for `heartbeat + heartbeat_timeout` is dropped | 10 s |
/// | `write_timeout` | `"5s"` | a write that takes longer drops the peer | 10 s |
/// | `close_timeout` | `"3s"` | wait for the peer's Close after ours | 3 s |
/// | `app_ping` | `"ping"` | text answered by the runtime, not the handler (browser keepalive) | off |
/// | `app_pong` | `"{\"type\":\"pong\"}"` | the answer to `app_ping` | `{"type":"pong"}` |
/// | `broadcast` | `"lobby"`, `"chat:{room}"` | every connection joins this room; replies go to it | off |
/// | `exclude_sender` | `true` | replies to the room skip the sender | `false` |
/// | `queue` | `1024` | outbound queue capacity (messages) | 1024 |
/// | `on_full` | `"close"`, `"drop"` | full queue: close the member with 1013, or drop for it | `"close"` |
/// | `on_open` | `path::to::fn` | `async fn(Conn)` run when the connection opens | none |
/// | `on_close` | `path::to::fn` | `async fn(Conn, CloseReason)` run once when it ends | none |
/// | `auth` | `path::to::fn` | `fn` or `async fn(&Handshake) -> Result<T, Reject>` run before the upgrade; handlers take `Auth<T>` (the type is checked at compile time) | none |
/// | `reauth` | `"15m"` | run the validator again on the kept handshake; a refusal closes with 1008 | off |
/// | `protocols` | `["chat.v1", "chat.v2"]` | subprotocols in preference order; a client offering none gets 400 | none |
/// | `origins` | `["https://app.example", "*.example.com"]` | allowed `Origin`s; others get 403 | the app's (same host) |
/// | `rate` | `"50/s"` (`/s`, `/m`, `/h`) | messages per connection (token bucket); faster closes with 1008 | off |
/// | `burst` | `100` | the bucket's size (needs `rate`) | = the rate |
/// | `max_connections` | `10000` | concurrent connections on the route; over it the handshake gets 503 | none |
/// | `max_connections_per_ip` | `20` | concurrent connections per client IP on the route; over it 429 | none |
/// | `crate` | `path` | where the `wirehub` crate is, if renamed | `::wirehub` |
///
/// # Handler signature
///
/// An `async fn`, not generic, whose arguments are extractors
/// (`wirehub::Extract`) in any order and whose return type implements
/// `wirehub::IntoReply`. See `wirehub::extract` and `wirehub::reply`.
///
/// # Generated items
///
/// The function itself, unchanged, and a hidden `const _: () = { ... };`
/// holding the extraction glue and a `wirehub::__private::RouteDef`
/// submitted to `inventory`. Set `WIREHUB_MACROS_DEBUG=1` to print the expansion.
#[proc_macro_attribute]
pub fn ws_route(attr: TokenStream, item: TokenStream) -> TokenStream {
    route::expand(attr.into(), item.into()).into()
}
