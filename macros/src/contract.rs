//! Typed routes (`receives = T`, `sends = T`): which handler arguments are
//! the message, and the codegen of the message types' functions and of
//! their compile-time checks (`wirehub::checks::contract`).

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{GenericArgument, PathArguments, Type};

use crate::assertions::private_at;
use crate::options::Key;
use crate::route::Route;

/// Marks the arguments of a valid route written as its `receives` type
/// (`msg: ChatIn`): each becomes `Received<ChatIn>`, whose `Extract`
/// decodes the message, and the call passes its `.0`.
pub(crate) fn receive(route: &mut Route) {
    let receives = route.options.ty(Key::receives).cloned();
    route.received = receive_args(&route.krate, &mut route.handler.args, receives.as_ref());
}

/// Replaces each argument written as `receives` by `Received<T>`; true for
/// each replaced argument.
fn receive_args(krate: &syn::Path, args: &mut [Type], receives: Option<&Type>) -> Vec<bool> {
    let Some(receives) = receives else { return vec![false; args.len()] };
    let written = receives.to_token_stream().to_string();
    args.iter_mut()
        .map(|arg| {
            if arg.to_token_stream().to_string() != written {
                return false;
            }
            // Every token on the argument's type, so an unmet bound is reported there.
            let span = arg.span();
            let tokens = crate::assertions::respan(quote::quote!(#krate::__private::contract::Received<#arg>), span);
            *arg = syn::parse2(tokens).unwrap_or_else(|_| arg.clone());
            true
        })
        .collect()
}

/// The name of the function a type option's value becomes (`__wirehub_receives`).
pub(crate) fn spec_fn(key: Key) -> Ident {
    format_ident!("__wirehub_{}", key.spec().name)
}

/// `fn __wirehub_receives() -> MessageSpec` (and `sends`, each with its
/// type's JSON Schema when it has one), and the checks
/// of typed routes, on the tokens they are about.
pub(crate) fn codegen(route: &Route) -> TokenStream {
    let mut out = TokenStream::new();
    let receives = route.options.ty(Key::receives);
    let sends = route.options.ty(Key::sends);
    for (key, ty, bound) in [(Key::receives, receives, "receives"), (Key::sends, sends, "sends")] {
        let Some(ty) = ty else { continue };
        let name = spec_fn(key);
        let span = ty.span();
        let private = private_at(span);
        let bound = format_ident!("{}", bound, span = span);
        out.extend(quote_spanned! {span=>
            // `&&probe` is needed only when the type has a schema.
            #[allow(clippy::needless_borrow)]
            fn #name() -> #private::contract::MessageSpec {
                // Autoref specialization: `HasSchema` when the type implements
                // `JsonSchema` (feature `contract`), else `NoSchema`.
                #[allow(unused_imports)]
                use #private::contract::{HasSchema as _, NoSchema as _};
                let probe = #private::contract::SchemaProbe::<#ty>::new();
                #private::contract::MessageSpec::probed(&probe, (&&probe).schema_fn())
            }
            const _: () = #private::checks::contract::#bound::<#ty>();
        });
    }
    for ty in &route.handler.args {
        let span = ty.span();
        let private = private_at(span);
        match (last_generic(ty), receives, sends) {
            (Some(("Json", inner)), Some(receives), _) => {
                let _ = inner;
                out.extend(quote_spanned! {span=>
                    const _: () = #private::checks::contract::json_of::<#receives, #ty>();
                });
            }
            (Some(("Out", _)), _, Some(sends)) => out.extend(quote_spanned! {span=>
                const _: () = #private::checks::contract::out_of::<#sends, #ty>();
            }),
            _ => {}
        }
    }
    out.extend(replies(route, receives.is_some(), sends));
    out
}

/// The return type against `sends`; `Ack` on a route without `receives`.
fn replies(route: &Route, receives: bool, sends: Option<&Type>) -> TokenStream {
    let output = &route.handler.output;
    if crate::assertions::names_impl_trait(output.to_token_stream()) {
        return TokenStream::new();
    }
    let span = output.span();
    let private = private_at(span);
    let output = crate::assertions::respan(output.to_token_stream(), span);
    let mut out = TokenStream::new();
    if let Some(sends) = sends {
        out.extend(quote_spanned! {span=>
            const _: () = #private::checks::contract::replies_with::<#sends, #output>();
        });
    }
    if !receives {
        out.extend(quote_spanned! {span=>
            const _: () = if <#output as #private::IntoReply>::ACKS {
                ::core::panic!(
                    "`Ack` answers a message's `\"id\"`, which only a route with `receives = T` reads: add \
                     `receives = YourMessage` to `#[ws_route]`, or return the reply without `Ack`"
                )
            };
        });
    }
    out
}

/// `Json` and its argument for `Json<T>` (the last path segment).
fn last_generic(ty: &Type) -> Option<(&'static str, &Type)> {
    let Type::Path(path) = ty else { return None };
    let segment = path.path.segments.last()?;
    let name = ["Json", "Out"].into_iter().find(|name| segment.ident == name)?;
    let PathArguments::AngleBracketed(args) = &segment.arguments else { return None };
    match args.args.first()? {
        GenericArgument::Type(inner) => Some((name, inner)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_written_as_the_received_type_are_replaced() {
        let krate: syn::Path = syn::parse_quote!(::wirehub);
        let mut args: Vec<Type> = vec![syn::parse_quote!(Conn), syn::parse_quote!(ChatIn)];
        let replaced = receive_args(&krate, &mut args, Some(&syn::parse_quote!(ChatIn)));
        assert_eq!(replaced, [false, true]);
        assert_eq!(
            args[1].to_token_stream().to_string(),
            quote::quote!(::wirehub::__private::contract::Received<ChatIn>).to_string()
        );
        assert_eq!(receive_args(&krate, &mut args, None), [false, false]);
    }
}
