//! The pipeline of `#[ws_route]`: parse ([`crate::args`], [`crate::handler`]),
//! validate ([`crate::route`]), mark the typed message arguments
//! ([`crate::contract`]), generate ([`crate::expand`]). Each step only
//! uses the ones before it.

use crate::args::RouteArgs;
use crate::errors::Errors;
use crate::handler::HandlerFn;
use crate::route::Route;

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
        Some(mut route) if errors.is_empty() => {
            crate::contract::receive(&mut route);
            crate::expand::route(&route)
        }
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
