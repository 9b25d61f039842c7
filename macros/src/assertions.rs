//! Codegen of the compile-time checks on a handler's argument types that
//! need the types themselves, not their spelling (`wirehub::checks`): a
//! type alias, a renamed import or a user's own type named `Path` is
//! checked as what it is. Each failure is reported on the argument's type
//! as written. Nothing here validates: it emits assertions for rustc.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::options::Key;
use crate::route::Route;

/// `__wirehub_private` (the generated block's alias of `wirehub::__private`)
/// spanned on a user token, so an expression through it stays on that token
/// (a path spanned on the attribute would stretch the error over it).
pub(crate) fn private_at(span: Span) -> TokenStream {
    quote_spanned!(span=> __wirehub_private)
}

/// Text-only and binary-only arguments exclude each other: no message could
/// reach the handler. One constant per ordered pair, evaluated at compile
/// time and reported on the later argument, naming both as written.
pub(crate) fn message_kinds(route: &Route) -> TokenStream {
    let args: Vec<_> = route.handler.args.iter().zip(&route.handler.written).collect();
    let mut checks = TokenStream::new();
    for (j, later) in args.iter().enumerate() {
        let span = later.0.span();
        let private = private_at(span);
        for earlier in &args[..j] {
            for ((text, text_written), (binary, binary_written)) in [(earlier, later), (later, earlier)] {
                let message = format!(
                    "no message can reach this handler: `{text_written}` takes only text messages and \
                     `{binary_written}` only binary ones; take `msg: Message` and match on its kind, or keep one of them"
                )
                .replace('{', "{{")
                .replace('}', "}}");
                checks.extend(quote_spanned! {span=>
                    const _: () = if #private::checks::text_and_binary(
                        <#text as #private::Extract>::KINDS,
                        <#binary as #private::Extract>::KINDS,
                    ) {
                        ::core::panic!(#message)
                    };
                });
            }
        }
    }
    checks
}

/// Per argument, the checks of `wirehub::checks` that depend on what its
/// type is: `Path<T>` against the route's `{param}`s, `Query<T>` with a
/// `T` that is not map-like, `Auth<T>` on a route without a validator. Each
/// is a method call on a probe of the type, in a function never called.
pub(crate) fn argument_types(route: &Route) -> TokenStream {
    let probes = route.handler.args.iter().map(|ty| {
        // rustc reports an unmet bound of a method on the method's name:
        // every generated token here carries the span of the type's first.
        let span = ty.span();
        let private = private_at(span);
        let probe = quote_spanned!(span=> (&#private::checks::ArgProbe::<#ty>::new()));
        let path = match route.params.len() {
            0 => quote_spanned!(span=> #probe.path_without_params();),
            1 => quote_spanned!(span=> #probe.path_one_param();),
            n => {
                let mut n = Literal::usize_unsuffixed(n);
                n.set_span(span);
                quote_spanned!(span=> #probe.path_params::<#n>();)
            }
        };
        let auth = match route.options.has(Key::auth) {
            true => TokenStream::new(),
            false => quote_spanned!(span=> #probe.route_has_validator();),
        };
        let made = quote_spanned! {span=>
            (&&&#private::hooks::made(#probe.session_of(), __wirehub_opened)).session_made();
        };
        quote_spanned! {span=>
            #path
            #probe.query_fields();
            #auth
            #made
        }
    });
    // What the route's `on_open` hook makes, as a type (`()`: nothing).
    let opened = match route.options.hook(Key::on_open) {
        Some(hook) => quote_spanned! {hook.span()=>
            (&&__wirehub_private::hooks::HookProbe(#hook)).opened()
        },
        None => quote!(::core::marker::PhantomData::<fn() -> ()>),
    };
    quote! {
        #[allow(unused_imports)]
        use __wirehub_private::checks::{
            AnyArg as _, AuthArgWithoutValidator as _, PathArg as _, PathArgWithoutParams as _, QueryArg as _,
        };
        #[allow(unused_imports)]
        use __wirehub_private::hooks::{
            MadeByDefault as _, MadeByOnOpen as _, NotSessionArg as _, NothingAsked as _, OnOpenHook as _,
            SessionArg as _,
        };
        fn __wirehub_assertions() {
            let __wirehub_opened = #opened;
            #(#probes)*
        }
    }
}

/// `tokens` with every token (groups' delimiters included) on `span`.
pub(crate) fn respan(tokens: TokenStream, span: proc_macro2::Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let proc_macro2::TokenTree::Group(group) = &token {
                let mut inner = proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                return proc_macro2::TokenTree::Group(inner);
            }
            token.set_span(span);
            token
        })
        .collect()
}

/// Whether `tokens` name an `impl Trait` anywhere.
pub(crate) fn names_impl_trait(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|token| match token {
        proc_macro2::TokenTree::Ident(ident) => ident == "impl",
        proc_macro2::TokenTree::Group(group) => names_impl_trait(group.stream()),
        _ => false,
    })
}
