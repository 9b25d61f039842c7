//! Codegen: a valid [`Route`] becomes the user's function, unchanged, plus a
//! hidden `const _: () = { ... };` block holding the generated glue and the
//! `inventory` submission. Nothing here validates.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::route::{Options, Route};
use crate::template::{Part, Segment};

pub(crate) fn route(route: &Route) -> TokenStream {
    let Route { krate, path, segments, params, handler, options } = route;
    let private = quote!(#krate::__private);
    let item = &handler.item;
    let name = &item.sig.ident;
    let handler_name = name.to_string();

    let arg_names: Vec<_> = (0..handler.args.len()).map(|i| format_ident!("__wirehub_arg{}", i)).collect();
    let extracts = handler.args.iter().zip(&arg_names).map(|(ty, arg)| {
        quote_spanned! {ty.span()=>
            let #arg = <#ty as #private::Extract>::extract(__wirehub_cx)?;
        }
    });
    let checks = handler.args.iter().map(|ty| {
        quote_spanned! {ty.span()=> <#ty as #private::Extract>::check(__wirehub_cx)?; }
    });
    let admits = handler.args.iter().map(|ty| {
        quote_spanned! {ty.span()=> <#ty as #private::Extract>::admit(__wirehub_cx)?; }
    });
    let kinds: Vec<_> =
        handler.args.iter().map(|ty| quote_spanned!(ty.span()=> <#ty as #private::Extract>::KINDS)).collect();
    // Evaluated at compile time, reported on the handler's name.
    let kinds_check = quote_spanned! {name.span()=>
        const __WIREHUB_TAKES_DATA: () = #private::Kinds::combine(&[#(#kinds),*]).must_take_data();
    };
    let needs = handler.args.iter().map(|ty| quote_spanned!(ty.span()=> <#ty as #private::Extract>::NEEDS));
    let output = &handler.output;
    let private_at_output = quote_spanned!(output.span()=> __wirehub_private);
    let into_reply = quote_spanned! {output.span()=>
        #private_at_output::IntoReply::into_reply(__wirehub_fut.await)
    };
    let call = quote_spanned! {name.span()=>
        let __wirehub_fut = #name(#(#arg_names),*);
        ::core::result::Result::Ok(async move { #into_reply })
    };
    let private_at_name = quote_spanned!(name.span()=> __wirehub_private);
    let serve_call = quote_spanned! {name.span()=>
        #private_at_name::serve(__wirehub_setup, |__wirehub_cx: &#private::CallCx<'_>| {
            #(#extracts)*
            #call
        })
    };

    let segments = segments.iter().map(|s| match s {
        Segment::Static(text) => quote!(#private::Segment::Static(#text)),
        Segment::Param(_) => quote!(#private::Segment::Param),
    });
    let (hooks, hook_fields) = hooks(&private, options);
    let option_fields = option_fields(&private, options);

    quote! {
        #item

        #[doc(hidden)]
        #[allow(non_snake_case, clippy::all, clippy::pedantic)]
        const _: () = {
            use #private as __wirehub_private;
            fn __wirehub_check(
                __wirehub_cx: &#private::CheckCx<'_>,
            ) -> ::core::result::Result<(), #private::CheckError> {
                #(#checks)*
                ::core::result::Result::Ok(())
            }

            fn __wirehub_admit(
                __wirehub_cx: &#private::AdmitCx<'_>,
            ) -> ::core::result::Result<(), #private::AdmitError> {
                #(#admits)*
                ::core::result::Result::Ok(())
            }

            #kinds_check

            fn __wirehub_serve(__wirehub_setup: #private::Setup) {
                #serve_call
            }

            #hooks

            #private::inventory::submit! {
                #private::RouteDef {
                    path: #path,
                    segments: &[#(#segments),*],
                    params: &[#(#params),*],
                    handler: #handler_name,
                    file: ::core::file!(),
                    line: ::core::line!(),
                    options: #private::RouteOptions {
                        #(#option_fields,)*
                        #(#hook_fields,)*
                        ..#private::RouteOptions::DEFAULT
                    },
                    kinds: #private::Kinds::combine(&[#(#kinds),*]),
                    needs: #private::Needs::combine(&[#(#needs),*]),
                    check: __wirehub_check,
                    admit: __wirehub_admit,
                    serve: __wirehub_serve,
                }
            }
        };
    }
}

/// `field: value` for every option that was written.
fn option_fields(private: &TokenStream, o: &Options) -> Vec<TokenStream> {
    let mut fields = Vec::new();
    let millis = |field: &str, ms: Option<u64>| {
        ms.map(|ms| {
            let field = format_ident!("{}", field);
            quote!(#field: ::core::option::Option::Some(#private::Duration::from_millis(#ms)))
        })
    };
    if let Some(n) = o.max_message {
        let n = Literal::u64_unsuffixed(n);
        fields.push(quote!(max_message: ::core::option::Option::Some(#n)));
    }
    fields.extend(millis("idle_timeout", o.idle_timeout));
    fields.extend(millis("heartbeat", o.heartbeat));
    fields.extend(millis("heartbeat_timeout", o.heartbeat_timeout));
    fields.extend(millis("write_timeout", o.write_timeout));
    fields.extend(millis("close_timeout", o.close_timeout));
    if let Some(lit) = &o.app_ping {
        fields.push(quote!(app_ping: ::core::option::Option::Some(#lit)));
    }
    if let Some(lit) = &o.app_pong {
        fields.push(quote!(app_pong: ::core::option::Option::Some(#lit)));
    }
    if let Some(parts) = &o.room {
        let parts = parts.iter().map(|p| match p {
            Part::Lit(text) => quote!(#private::TemplatePart::Lit(#text)),
            Part::Param(i) => quote!(#private::TemplatePart::Param(#i)),
        });
        fields.push(quote!(broadcast: ::core::option::Option::Some(&[#(#parts),*])));
    }
    if o.exclude_sender {
        fields.push(quote!(exclude_sender: true));
    }
    if o.idle_counts_pings {
        fields.push(quote!(idle_counts_pings: true));
    }
    if let Some(n) = o.queue {
        fields.push(quote!(queue: ::core::option::Option::Some(#n)));
    }
    fields.extend(millis("reauth", o.reauth));
    if !o.protocols.is_empty() {
        let list = &o.protocols;
        fields.push(quote!(protocols: &[#(#list),*]));
    }
    if let Some(list) = &o.origins {
        fields.push(quote!(origins: ::core::option::Option::Some(&[#(#list),*])));
    }
    if let Some((count, per)) = o.rate {
        fields.push(quote!(rate: ::core::option::Option::Some(#private::Rate {
            count: #count,
            per: #private::Duration::from_millis(#per),
        })));
    }
    if let Some(n) = o.burst {
        let n = Literal::u32_unsuffixed(u32::try_from(n).unwrap_or(u32::MAX));
        fields.push(quote!(burst: ::core::option::Option::Some(#n)));
    }
    if let Some(n) = o.max_connections {
        fields.push(quote!(max_connections: ::core::option::Option::Some(#n)));
    }
    if let Some(n) = o.max_connections_per_ip {
        fields.push(quote!(max_connections_per_ip: ::core::option::Option::Some(#n)));
    }
    if let Some(drop) = o.on_full_drop {
        let policy = if drop { quote!(Drop) } else { quote!(Close) };
        fields.push(quote!(on_full: ::core::option::Option::Some(#private::OnFull::#policy)));
    }
    fields
}

/// Wrappers boxing the `on_open` / `on_close` hooks' futures, spanned on the
/// user's paths so a wrong signature is reported there.
fn hooks(private: &TokenStream, o: &Options) -> (TokenStream, Vec<TokenStream>) {
    let mut items = TokenStream::new();
    let mut fields = Vec::new();
    if let Some(path) = &o.on_open {
        let hooks_at = quote_spanned!(path.span()=> __wirehub_private::hooks);
        items.extend(quote_spanned! {path.span()=>
            fn __wirehub_on_open(conn: #private::Conn) -> #private::BoxFuture<'static, ()> {
                #hooks_at::on_open(#path, conn)
            }
        });
        fields.push(quote!(on_open: ::core::option::Option::Some(__wirehub_on_open)));
    }
    if let Some(path) = &o.on_close {
        let hooks_at = quote_spanned!(path.span()=> __wirehub_private::hooks);
        items.extend(quote_spanned! {path.span()=>
            fn __wirehub_on_close(
                conn: #private::Conn,
                reason: #private::CloseReason,
            ) -> #private::BoxFuture<'static, ()> {
                #hooks_at::on_close(#path, conn, reason)
            }
        });
        fields.push(quote!(on_close: ::core::option::Option::Some(__wirehub_on_close)));
    }
    if let Some(path) = &o.auth {
        items.extend(auth(private, path, &o.auth_types));
        fields.push(quote!(auth: ::core::option::Option::Some(__wirehub_auth)));
    }
    (items, fields)
}

/// The validator wrapper: calls the user's validator (sync or async, told
/// apart by autoref on its concrete return type), checks every `Auth<T>`
/// argument (whatever its type is called) against the identity type, and
/// boxes the identity with its principal.
fn auth(private: &TokenStream, path: &syn::Path, auth_types: &[syn::Type]) -> TokenStream {
    let same_type = auth_types.iter().map(|ty| {
        // On the `T` of a literal `Auth<T>`, on the whole type otherwise (an alias).
        let span = crate::handler::auth_identity(ty).map_or_else(|| ty.span(), Spanned::span);
        quote_spanned! {span=>
            (&#private::ArgProbe::<#ty>::new()).same_identity(&__wirehub_identity);
        }
    });
    let call = quote_spanned! {path.span()=>
        (&&__wirehub_private::AuthWrap::new(#path(__wirehub_hs))).auth_output()
    };
    quote! {
        fn __wirehub_auth(
            __wirehub_hs: &#private::Handshake,
        ) -> #private::BoxFuture<'_, ::core::result::Result<#private::Identity, #private::Reject>> {
            #[allow(unused_imports)]
            use #private::{
                AuthArg as _, AuthFuture as _, AuthReady as _, OtherArg as _, PrincipalKey as _, PrincipalNone as _,
            };
            let __wirehub_pending = #call;
            ::std::boxed::Box::pin(async move {
                let __wirehub_identity = match __wirehub_pending.await {
                    ::core::option::Option::Some(::core::result::Result::Ok(identity)) => identity,
                    ::core::option::Option::Some(::core::result::Result::Err(reject)) => {
                        return ::core::result::Result::Err(reject);
                    }
                    ::core::option::Option::None => {
                        return ::core::result::Result::Err(::core::default::Default::default());
                    }
                };
                #(#same_type)*
                let __wirehub_principal = (&&#private::PrincipalProbe(&__wirehub_identity)).principal_key();
                ::core::result::Result::Ok(#private::Identity::new(__wirehub_identity, __wirehub_principal))
            })
        }
    }
}
