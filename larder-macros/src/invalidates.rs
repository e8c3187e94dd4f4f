//! `#[invalidates(user(id), all(users_page))]`: before the mutation's body runs, remove the
//! named cached functions' entries (by their arguments, or all of them). Expands to calls of
//! the companions `#[cached]` writes: `user_invalidate(id)` and `users_page_invalidate_all()`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ItemFn, Path, Token};

use crate::fallback;

const USAGE: &str = "expected `function(key arguments..)` or `all(function)`, naming a \
                     #[cached] function (a method as `Self::method(..)`)";

enum Target {
    /// One entry: the companion `<fn>_invalidate(args)`.
    Key(Path, Punctuated<Expr, Token![,]>),
    /// Every entry: `<fn>_invalidate_all()`.
    All(Path),
}

pub(crate) fn invalidates(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut func: ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(error) => {
            let error = syn::Error::new(error.span(), "#[invalidates] goes on a function");
            return fallback::with_error(item, &error);
        }
    };
    let targets = match parse_targets(args) {
        Ok(targets) => targets,
        Err(error) => return fallback::with_error(item, &error),
    };
    let calls = targets.iter().map(|target| match target {
        Target::Key(path, args) => {
            let companion = with_suffix(path, "invalidate");
            quote!(let _ = #companion(#args);)
        }
        Target::All(path) => {
            let companion = with_suffix(path, "invalidate_all");
            quote!(#companion();)
        }
    });
    let stmts = std::mem::take(&mut func.block.stmts);
    let block: syn::Block = syn::parse_quote!({
        // Before the body: a body that fails has still invalidated.
        #(#calls)*
        #(#stmts)*
    });
    *func.block = block;
    quote!(#func)
}

fn parse_targets(args: TokenStream) -> syn::Result<Vec<Target>> {
    let exprs = Punctuated::<Expr, Token![,]>::parse_terminated.parse2(args.clone())?;
    if exprs.is_empty() {
        return Err(syn::Error::new(
            args.span(),
            format!("nothing to invalidate: {USAGE}"),
        ));
    }
    exprs
        .into_iter()
        .map(|expr| {
            let Expr::Call(call) = &expr else {
                return Err(syn::Error::new(expr.span(), USAGE));
            };
            let Expr::Path(func) = &*call.func else {
                return Err(syn::Error::new(call.func.span(), USAGE));
            };
            if func.path.is_ident("all") {
                let mut args = call.args.iter();
                return match (args.next(), args.next()) {
                    (Some(Expr::Path(target)), None) => Ok(Target::All(target.path.clone())),
                    _ => Err(syn::Error::new(call.args.span(), USAGE)),
                };
            }
            Ok(Target::Key(func.path.clone(), call.args.clone()))
        })
        .collect()
}

/// `a::b::user` -> `a::b::user_<suffix>`.
fn with_suffix(path: &Path, suffix: &str) -> Path {
    let mut path = path.clone();
    if let Some(last) = path.segments.last_mut() {
        last.ident = format_ident!("{}_{}", last.ident, suffix, span = last.ident.span());
    }
    path
}
