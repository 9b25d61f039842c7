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
    /// Each argument as written, `pattern: Type`, for messages.
    pub(crate) written: Vec<String>,
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
        let mut written = Vec::new();
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
                    written.push(as_written(&quote::quote!(#pat)));
                }
            }
        }
        let output = match &sig.output {
            ReturnType::Default => syn::parse_quote!(()),
            ReturnType::Type(_, ty) => (**ty).clone(),
        };
        HandlerFn { item, args, written, output }
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

/// Tokens as a person would write them, for messages: `text: String`,
/// `Path((room, id)): Path<(String, u32)>` (a token stream prints with a
/// space between every two tokens).
pub(crate) fn as_written(tokens: &proc_macro2::TokenStream) -> String {
    use proc_macro2::{Delimiter, TokenTree};
    let mut out = String::new();
    // Whether the previous token glues to what follows (`<`, `&`, `::`, an opening delimiter).
    let mut glue = true;
    for token in tokens.clone() {
        let text = match &token {
            TokenTree::Group(g) => {
                let (open, close) = match g.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::Brace => ("{ ", " }"),
                    Delimiter::None => ("", ""),
                };
                format!("{open}{}{close}", as_written(&g.stream()))
            }
            other => other.to_string(),
        };
        let punct = match &token {
            TokenTree::Punct(p) => Some((p.as_char(), p.spacing())),
            _ => None,
        };
        let tight_before = matches!(punct, Some((',' | '<' | '>' | ';' | '.' | ':', _)))
            || matches!(&token, TokenTree::Group(g) if g.delimiter() != Delimiter::Brace && !out.ends_with(": "));
        if !glue && !tight_before {
            out.push(' ');
        }
        out.push_str(&text);
        glue = matches!(punct, Some(('<' | '&' | '\'', _)) | Some((_, proc_macro2::Spacing::Joint)))
            || matches!(punct, Some((':', _)) if out.ends_with("::"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::as_written;

    #[test]
    fn arguments_print_as_written() {
        let cases: [(proc_macro2::TokenStream, &str); 6] = [
            (quote::quote!(text: String), "text: String"),
            (quote::quote!(Path((room, id)): Path<(String, u32)>), "Path((room, id)): Path<(String, u32)>"),
            (quote::quote!(data: bytes::Bytes), "data: bytes::Bytes"),
            (quote::quote!(v: Vec<Vec<u8>>), "v: Vec<Vec<u8>>"),
            (quote::quote!(s: &'static str), "s: &'static str"),
            (quote::quote!(Path([x, y]): Path<[u32; 2]>), "Path([x, y]): Path<[u32; 2]>"),
        ];
        for (tokens, want) in cases {
            assert_eq!(as_written(&tokens), want);
        }
    }
}
