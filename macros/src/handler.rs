//! The annotated function, as [`HandlerFn`]: its name, arguments and return
//! type, with the checks that need only the signature.

use syn::{FnArg, GenericArgument, ItemFn, PathArguments, ReturnType, Type};

use crate::errors::Errors;

/// A handler function's signature.
#[derive(Debug)]
pub(crate) struct HandlerFn {
    pub(crate) item: ItemFn,
    /// The argument types, in order.
    pub(crate) args: Vec<Type>,
    /// The return type (`()` when there is none).
    pub(crate) output: Type,
}

impl HandlerFn {
    /// Reads the signature; problems go to `errors`.
    pub(crate) fn new(item: ItemFn, errors: &mut Errors) -> Self {
        let sig = &item.sig;
        if sig.asyncness.is_none() {
            errors.push(
                sig.fn_token.span,
                format!("`#[ws_route]` handlers must be async: write `async fn {}(...)`", sig.ident),
            );
        }
        if let Some(param) = sig.generics.params.first() {
            let message = match param {
                syn::GenericParam::Lifetime(_) => {
                    "`#[ws_route]` handlers cannot take lifetime parameters: extractors are owned values, \
                     such as `text: String`"
                }
                _ => "`#[ws_route]` handlers cannot be generic: use concrete types",
            };
            errors.add(syn::Error::new_spanned(param, message));
        }
        if let Some(u) = &sig.unsafety {
            errors.push(
                u.span,
                "`#[ws_route]` handlers cannot be `unsafe`: remove `unsafe` and keep unsafe code in a block",
            );
        }
        if let Some(c) = &sig.constness {
            errors.push(c.span, "`#[ws_route]` handlers cannot be `const`: remove `const`");
        }
        if let Some(variadic) = &sig.variadic {
            errors.add(syn::Error::new_spanned(variadic, "`#[ws_route]` handlers cannot be variadic"));
        }
        let mut args = Vec::new();
        for input in &sig.inputs {
            match input {
                FnArg::Receiver(receiver) => errors.add(syn::Error::new_spanned(
                    receiver,
                    "`#[ws_route]` handlers are free functions: remove `self` and take extractors such as `conn: Conn`",
                )),
                FnArg::Typed(pat) => {
                    if let Type::Reference(r) = &*pat.ty {
                        errors.add(syn::Error::new_spanned(
                            r,
                            "handler arguments are owned extractors: remove the `&`, such as `conn: Conn`",
                        ));
                    }
                    if let Type::ImplTrait(t) = &*pat.ty {
                        errors.add(syn::Error::new_spanned(
                            t,
                            "handler arguments must be concrete extractor types, such as `text: String` or `msg: Message`",
                        ));
                    }
                    args.push((*pat.ty).clone());
                }
            }
        }
        let output = match &sig.output {
            ReturnType::Default => syn::parse_quote!(()),
            ReturnType::Type(_, ty) => (**ty).clone(),
        };
        HandlerFn { item, args, output }
    }
}

/// If `ty` is written `Auth<T>` (any path ending in `Auth`), `T`.
pub(crate) fn auth_identity(ty: &Type) -> Option<&Type> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != "Auth" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else { return None };
    match args.args.first()? {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    }
}

/// If `ty` is written `Path<(A, B, ...)>` (any path ending in `Path`), the
/// tuple's element types.
pub(crate) fn path_tuple(ty: &Type) -> Option<&syn::TypeTuple> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != "Path" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else { return None };
    match args.args.first()? {
        GenericArgument::Type(Type::Tuple(t)) if !t.elems.is_empty() => Some(t),
        _ => None,
    }
}
