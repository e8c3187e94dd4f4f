//! `#[invalidates(user(id), all(users_page))]`: before the mutation's body runs, remove the
//! named cached functions' entries (by their arguments, or all of them). Expands to calls of
//! the companions `#[cached]` writes: on an async function, the hidden async ones, awaited
//! (`__larder_invalidate_user(id).await`, `__larder_invalidate_all_users_page().await`),
//! which serve every kind of cached function; on another, the sync ones
//! (`user_invalidate(id)`, `users_page_invalidate_all()`), which only a generated cache has.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, Ident, ItemFn, Path, Token};

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
    // On an async function, await the hidden async companions, which serve every kind of
    // cached function; on another, call the sync ones, through `now`, which rejects the
    // async companions of a `cache = ..` or `store = ..` function at compile time.
    let is_async = func.sig.asyncness.is_some();
    let calls = targets.iter().map(|target| match (target, is_async) {
        (Target::Key(path, args), true) => {
            let hidden = with_name(path, |name| format!("__larder_invalidate_{name}"));
            quote!(let _ = #hidden(#args).await;)
        }
        (Target::All(path), true) => {
            let hidden = with_name(path, |name| format!("__larder_invalidate_all_{name}"));
            quote!(#hidden().await;)
        }
        (Target::Key(path, args), false) => {
            let companion = with_name(path, |name| format!("{name}_invalidate"));
            quote_spanned!(path.span()=> let _ = ::larder::__private::now(#companion(#args));)
        }
        (Target::All(path), false) => {
            let companion = with_name(path, |name| format!("{name}_invalidate_all"));
            quote_spanned!(path.span()=> ::larder::__private::now(#companion());)
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

/// `a::b::user` -> `a::b::<rename(user)>`.
fn with_name(path: &Path, rename: impl FnOnce(&Ident) -> String) -> Path {
    let mut path = path.clone();
    if let Some(last) = path.segments.last_mut() {
        last.ident = Ident::new(&rename(&last.ident.unraw()), last.ident.span());
    }
    path
}
