//! Codegen: a valid [`Route`] becomes the user's function, unchanged, plus a
//! hidden `const <handler>_ws_route: () = { ... };` block holding the
//! generated glue, the compile-time checks ([`crate::assertions`]) and the
//! `inventory` submission. Nothing here validates.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;

use crate::assertions::{names_impl_trait, private_at, respan};
use crate::options::{Key, Value};
use crate::route::Route;
use crate::template::{Part, Segment};

pub(crate) fn route(route: &Route) -> TokenStream {
    let Route { krate, path, segments, params, handler, .. } = route;
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
    let message_kinds = crate::assertions::message_kinds(route);
    let argument_types = crate::assertions::argument_types(route);
    let room_replies = room_replies(route);
    let contract = crate::contract::codegen(route);
    let needs = handler.args.iter().map(|ty| quote_spanned!(ty.span()=> <#ty as #private::Extract>::NEEDS));
    let output = &handler.output;
    let private_at_output = quote_spanned!(output.span()=> __wirehub_private);
    let into_reply = quote_spanned! {output.span()=>
        #private_at_output::IntoReply::into_reply(__wirehub_fut.await)
    };
    let call_args = arg_names.iter().zip(&route.received).map(|(arg, received)| match received {
        true => quote!(#arg.0),
        false => quote!(#arg),
    });
    let call = quote_spanned! {name.span()=>
        let __wirehub_fut = #name(#(#call_args),*);
        ::core::result::Result::Ok(async move { #into_reply })
    };
    let private_at_name = quote_spanned!(name.span()=> __wirehub_private);
    let serve_call = quote_spanned! {name.span()=>
        #private_at_name::checks::serve(__wirehub_setup, |__wirehub_cx: &#private::CallCx<'_>| {
            #(#extracts)*
            #call
        })
    };

    let segments = segments.iter().map(|s| match s {
        Segment::Static(text) => quote!(#private::Segment::Static(#text)),
        Segment::Param(_) => quote!(#private::Segment::Param),
    });
    let hooks = hooks(&private, route);
    let hook_glue = hook_glue(route);
    let hook_checks =
        hook_glue.iter().map(|(glue, hook, function)| quote!(#glue.check(__wirehub_cx, #hook, #function)?;));
    let hook_admits = hook_glue.iter().map(|(glue, ..)| quote!(#glue.admit(__wirehub_cx)?;));
    let hook_plans = hook_glue.iter().map(|(glue, ..)| quote!(#glue.plan(__wirehub_plan);));
    let session_plans = handler.args.iter().map(|ty| {
        quote_spanned! {ty.span()=> (&#private::checks::ArgProbe::<#ty>::new()).plan_session(__wirehub_plan); }
    });
    let glue = glue_name(route);
    let option_fields = option_fields(&private, route);

    quote! {
        #item

        #[doc(hidden)]
        #[allow(non_snake_case, non_upper_case_globals, dead_code, clippy::all, clippy::pedantic)]
        const #glue: () = {
            use #private as __wirehub_private;
            fn __wirehub_check(
                __wirehub_cx: &#private::CheckCx<'_>,
            ) -> ::core::result::Result<(), #private::CheckError> {
                #[allow(unused_imports)]
                use __wirehub_private::hooks::{AuthGlue as _, OnCloseHook as _, OnOpenHook as _};
                #(#checks)*
                #(#hook_checks)*
                ::core::result::Result::Ok(())
            }

            fn __wirehub_admit(
                __wirehub_cx: &#private::AdmitCx<'_>,
            ) -> ::core::result::Result<(), #private::AdmitError> {
                #[allow(unused_imports)]
                use __wirehub_private::hooks::{AuthGlue as _, OnCloseHook as _, OnOpenHook as _};
                #(#admits)*
                #(#hook_admits)*
                ::core::result::Result::Ok(())
            }

            fn __wirehub_plan(__wirehub_plan: &mut #private::hooks::Plan) {
                #[allow(unused_imports)]
                use __wirehub_private::hooks::{
                    AuthGlue as _, NoSessionDefault as _, OnCloseHook as _, OnOpenHook as _, SessionByDefault as _,
                };
                #(#session_plans)*
                #(#hook_plans)*
            }

            #message_kinds
            #argument_types
            #room_replies
            #contract

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
                        ..#private::RouteOptions::DEFAULT
                    },
                    kinds: #private::Kinds::combine(&[#(#kinds),*]),
                    needs: #private::Needs::combine(&[#(#needs),*]),
                    check: __wirehub_check,
                    admit: __wirehub_admit,
                    serve: __wirehub_serve,
                    plan: __wirehub_plan,
                }
            }
        };
    }
}

/// On a route without `broadcast`, a return type that may reply to a room
/// (`IntoReply::TO_ROOM`: `ToRoom` somewhere in it) is refused, on the type
/// as written. Not for `impl Trait`, which a constant cannot name: the
/// runtime closes such a connection with 1011 instead.
fn room_replies(route: &Route) -> TokenStream {
    let output = &route.handler.output;
    if route.room.is_some() || names_impl_trait(output.to_token_stream()) {
        return TokenStream::new();
    }
    let span = output.span();
    let private = private_at(span);
    // The type re-spanned to where the `into_reply` call reports an unmet
    // bound: a type that is no reply then gets that one error, not a second.
    let output = respan(output.to_token_stream(), span);
    quote_spanned! {span=>
        const _: () = if <#output as #private::IntoReply>::TO_ROOM {
            ::core::panic!(
                "`ToRoom` needs a route with a room: add `broadcast = \"...\"` to `#[ws_route]`, or return the \
                 message itself or `ToSender(..)` (it goes to the sender)"
            )
        };
    }
}

/// The name of the constant holding the glue, `chat_ws_route`. Named,
/// because `const _` is refused inside an `impl`, where a handler cannot
/// work: there the only error is then rustc's "cannot find function `chat`",
/// on the handler's name. Readable, because a failed compile-time check
/// names it ("evaluation of `chat_ws_route::_` failed").
fn glue_name(route: &Route) -> proc_macro2::Ident {
    format_ident!("{}_ws_route", syn::ext::IdentExt::unraw(&route.handler.item.sig.ident))
}

/// `field: Some(value)` for every option that was written; the runtime's
/// `RouteOptions` has one field per key of the option table.
fn option_fields(private: &TokenStream, route: &Route) -> Vec<TokenStream> {
    let mut fields: Vec<TokenStream> = route
        .options
        .iter()
        .map(|(key, set)| {
            let field = &set.key;
            let value = match &set.value {
                Value::Millis(ms) => quote!(#private::Duration::from_millis(#ms)),
                Value::Bytes(n) | Value::Count(n) => Literal::u64_unsuffixed(*n).to_token_stream(),
                Value::Text(lit) | Value::Room(lit) => lit.to_token_stream(),
                Value::Flag(b) => quote!(#b),
                Value::OnFullDrop(true) => quote!(#private::OnFull::Drop),
                Value::OnFullDrop(false) => quote!(#private::OnFull::Close),
                Value::Hook(_) => hook_wrapper(key).to_token_stream(),
                Value::List(items) => quote!(&[#(#items),*]),
                Value::Rate(count, per) => quote!(#private::Rate {
                    count: #count,
                    per: #private::Duration::from_millis(#per),
                }),
                Value::Type(_) => crate::contract::spec_fn(key).to_token_stream(),
            };
            quote!(#field: ::core::option::Option::Some(#value))
        })
        .collect();
    if let Some(parts) = &route.room {
        let parts = parts.iter().map(|p| match p {
            Part::Lit(text) => quote!(#private::TemplatePart::Lit(#text)),
            Part::Param(i) => quote!(#private::TemplatePart::Param(#i)),
        });
        fields.push(quote!(broadcast: ::core::option::Option::Some(&[#(#parts),*])));
    }
    fields
}

/// Per hook option, the expression of its glue (checks, upgrade checks,
/// plan), the hook's name and the function as written.
fn hook_glue(route: &Route) -> Vec<(TokenStream, &'static str, String)> {
    let mut glue = Vec::new();
    for (key, method) in [(Key::on_open, "open_glue"), (Key::on_close, "close_glue"), (Key::auth, "auth_glue")] {
        if let Some(path) = route.options.hook(key) {
            let method = format_ident!("{}", method);
            let probe = quote_spanned!(path.span()=> (&&__wirehub_private::hooks::HookProbe(#path)).#method());
            glue.push((probe, key.spec().name, crate::handler::as_written(&path.to_token_stream())));
        }
    }
    glue
}

/// The name of the generated wrapper of a hook option.
fn hook_wrapper(key: Key) -> proc_macro2::Ident {
    format_ident!("__wirehub_{}", key.spec().name)
}

/// Wrappers boxing the hooks' futures (`on_open`, `on_close`, `auth`),
/// spanned on the user's paths so a wrong signature is reported there.
fn hooks(private: &TokenStream, route: &Route) -> TokenStream {
    let mut items = TokenStream::new();
    // Called through probes that name the fix for a hook borrowing its
    // arguments (rustc would advise a closure, which the option does not take).
    if let Some(path) = route.options.hook(Key::on_open) {
        let private_at_path = private_at(path.span());
        let probe = quote_spanned!(path.span()=> (&&#private_at_path::hooks::HookProbe(#path)));
        let name = hook_wrapper(Key::on_open);
        items.extend(quote_spanned! {path.span()=>
            fn #name(conn: #private::Conn) -> #private::BoxFuture<'static, ()> {
                #[allow(unused_imports)]
                use __wirehub_private::hooks::{OnOpenBorrowsConn as _, OnOpenHook as _};
                #probe.on_open(conn)
            }
        });
    }
    if let Some(path) = route.options.hook(Key::on_close) {
        let private_at_path = private_at(path.span());
        let probe = quote_spanned!(path.span()=> (&&#private_at_path::hooks::HookProbe(#path)));
        let name = hook_wrapper(Key::on_close);
        items.extend(quote_spanned! {path.span()=>
            fn #name(
                conn: #private::Conn,
                reason: #private::CloseReason,
            ) -> #private::BoxFuture<'static, ()> {
                #[allow(unused_imports)]
                use __wirehub_private::hooks::{
                    OnCloseBorrowsBoth as _, OnCloseBorrowsConn as _, OnCloseBorrowsReason as _, OnCloseHook as _,
                };
                #probe.on_close(conn, reason)
            }
        });
    }
    if let Some(path) = route.options.hook(Key::auth) {
        items.extend(auth(private, path, &route.auth_types));
    }
    items
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
            (&#private::checks::ArgProbe::<#ty>::new()).same_identity(&__wirehub_identity);
        }
    });
    let private_at_path = private_at(path.span());
    let call = quote_spanned! {path.span()=>
        #private_at_path::hooks::validate(&#path, &__wirehub_cx)
    };
    let wrap = quote_spanned! {path.span()=>
        (&&#private_at_path::checks::AuthWrap::new(__wirehub_output)).auth_output()
    };
    let name = hook_wrapper(Key::auth);
    // On the validator's path: its identity type must be `Send + Sync`.
    let shared_identity = quote_spanned! {path.span()=>
        #private_at_path::checks::identity(__wirehub_identity, __wirehub_principal)
    };
    quote! {
        fn #name(
            __wirehub_cx: #private::HandshakeCx<'_>,
        ) -> #private::BoxFuture<'_, ::core::result::Result<#private::Identity, #private::Reject>> {
            #[allow(unused_imports)]
            use #private::checks::{
                AuthArg as _, AuthFuture as _, AuthReady as _, OtherArg as _, PrincipalKey as _, PrincipalNone as _,
            };
            let __wirehub_output = match #call {
                ::core::result::Result::Ok(output) => output,
                ::core::result::Result::Err(reject) => return #private::hooks::refuse(reject),
            };
            let __wirehub_pending = #wrap;
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
                let __wirehub_principal = (&&#private::checks::PrincipalProbe(&__wirehub_identity)).principal_key();
                ::core::result::Result::Ok(#shared_identity)
            })
        }
    }
}
