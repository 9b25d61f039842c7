//! The `#[ws_route]` attribute of [wirehub](https://docs.rs/wirehub). Use it
//! through `wirehub` (`use wirehub::prelude::*;`), not directly.
//!
//! Every option key comes from one table, `wirehub_options::route_options!`
//! ([`options`]). The macro parses the attribute ([`args`]), reads the handler's signature
//! ([`handler`]), validates both into a `Route` ([`route`], with the list
//! options checked by `lists`) and generates code from it ([`expand`], with
//! the assertions about argument types from `assertions`). Errors point at
//! the offending token and say what to write instead; on error the function
//! is still emitted unchanged.

use proc_macro::TokenStream;

mod args;
mod assertions;
mod contract;
mod errors;
mod expand;
mod handler;
mod lists;
mod lit;
mod options;
mod pipeline;
#[cfg(test)]
mod props;
mod route;
mod template;

/// The rustdoc words of a rule of the option table.
macro_rules! rule_doc {
    (Requires, $other:ident) => {
        concat!(" (needs `", stringify!($other), "`)")
    };
    (UnlessOff, $other:ident) => {
        concat!(" (not with `", stringify!($other), " = \"off\"`)")
    };
    (AtMost, $other:ident) => {
        concat!(" (at most `", stringify!($other), "`)")
    };
}

/// Generates `ws_route` with the Options table of its rustdoc made from the
/// option table, so the reference cannot drift from what the macro accepts.
macro_rules! ws_route_with_docs {
    ($($key:ident : $kind:ident {
        example: $example:literal,
        takes: $takes:literal,
        meaning: $meaning:literal,
        default: $default:literal,
        rules: [$($rule:ident($other:ident)),*]
    }),* $(,)?) => {
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
        /// Every literal is checked at compile time; a mistake is a compile error on
        /// the offending token that says what to write. So is an option that would
        /// do nothing (the notes in parentheses). An option that is not written
        /// takes the app's default where the app has one (the `wirehub::Config`
        /// field of the same name), else the default below.
        ///
        /// | key | value | meaning | default |
        /// |---|---|---|---|
        $(
            #[doc = concat!(
                "| `", stringify!($key), "` | `", $example, "`: ", $takes, " | ", $meaning,
                $(rule_doc!($rule, $other),)* " | ", $default, " |"
            )]
        )*
        /// | `crate` | `::my_wirehub` | where the `wirehub` crate is, if renamed | `::wirehub` |
        ///
        /// # Handler signature
        ///
        /// An `async fn`, not generic, whose arguments are extractors
        /// (`wirehub::Extract`) in any order and whose return type implements
        /// `wirehub::IntoReply`. See `wirehub::extract` and `wirehub::reply`.
        /// Hooks (`on_open`, `on_close`) and validators (`auth`) are functions
        /// of extractors too, checked the same way: see `wirehub::hooks`.
        ///
        /// # Compile-time checks
        ///
        #[doc = include_str!("compile_checks.md")]
        ///
        /// # Generated items
        ///
        /// The function itself, unchanged, and a hidden constant named after it,
        /// `const <handler>_ws_route: () = { ... };`, holding the extraction glue,
        /// the assertions about the argument types (`wirehub::checks`) and a
        /// `wirehub::__private::RouteDef` submitted to `inventory`. Set
        /// `WIREHUB_MACROS_DEBUG=1` to print the expansion.
        #[proc_macro_attribute]
        pub fn ws_route(attr: TokenStream, item: TokenStream) -> TokenStream {
            pipeline::expand(attr.into(), item.into()).into()
        }
    };
}

wirehub_options::route_options!(docs: ws_route_with_docs);
