//! What `#[cached]` is applied to: the function's receiver, arguments and return shape,
//! checked against the attribute's arguments.

use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, Ident, ItemFn, Pat, PathArguments, ReturnType, Type};

use crate::args::Args;

/// How the function's return type is cached.
pub(crate) enum Shape {
    /// Any `V`: cached.
    Plain(Type),
    /// `Result<V, E>`: `Ok` cached; errors reach every concurrent caller, never cached.
    Result(Type),
    /// `Option<V>`: `Some` cached.
    Option(Type),
}

impl Shape {
    /// The cached value's type.
    pub(crate) fn value(&self) -> &Type {
        match self {
            Shape::Plain(v) | Shape::Result(v) | Shape::Option(v) => v,
        }
    }
}

/// One named argument.
pub(crate) struct Input {
    pub(crate) ident: Ident,
    pub(crate) ty: Type,
    /// Part of the default key (not in `skip(..)`).
    pub(crate) in_key: bool,
}

impl Input {
    /// `T` if the argument is a `&T` (its key is then `T::to_owned()`).
    pub(crate) fn referent(&self) -> Option<&Type> {
        match &self.ty {
            Type::Reference(r) => Some(&r.elem),
            _ => None,
        }
    }
}

/// Where a function's cache comes from.
pub(crate) enum Backend<'a> {
    /// A `Cache` the macro builds (a `static` `CachedFn`): sync companions.
    Generated,
    /// `cache = EXPR`: a `Cache` or a `Tiered` the user built; async companions, since the
    /// macro cannot tell which.
    Passed(&'a syn::Expr),
    /// `store = EXPR`: a `Tiered` the macro builds over the user's store (a `static`
    /// `TieredFn`); async companions.
    Store(&'a syn::Expr),
}

pub(crate) struct Model {
    pub(crate) func: ItemFn,
    pub(crate) has_receiver: bool,
    pub(crate) inputs: Vec<Input>,
    pub(crate) shape: Shape,
    pub(crate) args: Args,
}

impl Model {
    pub(crate) fn from_syn(func: ItemFn, args: Args) -> syn::Result<Self> {
        let sig = &func.sig;
        if sig.asyncness.is_none() {
            return Err(syn::Error::new(
                sig.fn_token.span(),
                "#[cached] caches async functions: write `async fn`",
            ));
        }
        let type_params = sig
            .generics
            .params
            .iter()
            .any(|p| !matches!(p, syn::GenericParam::Lifetime(_)));
        if type_params {
            return Err(syn::Error::new(
                sig.generics.span(),
                "#[cached] cannot cache a generic function (its cache has one key and value \
                 type): remove the type parameters, or cache the non-generic functions it calls",
            ));
        }
        let mut has_receiver = false;
        let mut inputs = Vec::new();
        for arg in &sig.inputs {
            match arg {
                FnArg::Receiver(_) => has_receiver = true,
                FnArg::Typed(typed) => {
                    if let Type::ImplTrait(it) = &*typed.ty {
                        return Err(syn::Error::new(
                            it.span(),
                            "#[cached] cannot cache a function with `impl Trait` arguments (its \
                             cache has one key type): name the concrete type",
                        ));
                    }
                    let Pat::Ident(pat) = &*typed.pat else {
                        return Err(syn::Error::new(
                            typed.pat.span(),
                            "#[cached] needs named arguments (`name: Type`), not patterns: \
                             destructure inside the body",
                        ));
                    };
                    inputs.push(Input {
                        ident: pat.ident.clone(),
                        ty: (*typed.ty).clone(),
                        in_key: true,
                    });
                }
            }
        }
        for skipped in &args.skip {
            if skipped == "self" {
                continue; // never in the default key anyway
            }
            match inputs.iter_mut().find(|i| i.ident == *skipped) {
                Some(input) => input.in_key = false,
                None => {
                    let names: Vec<String> = inputs.iter().map(|i| i.ident.to_string()).collect();
                    return Err(syn::Error::new(
                        skipped.span(),
                        format!(
                            "`skip({skipped})`: the function has no argument `{skipped}`; its \
                             arguments are: {}",
                            if names.is_empty() {
                                "none".to_string()
                            } else {
                                names.join(", ")
                            }
                        ),
                    ));
                }
            }
        }
        if let (Some(_), Some(span)) = (&args.cache, args.span_of("store")) {
            return Err(syn::Error::new(
                span,
                "`cache = ..` and `store = ..` exclude each other: pass a `Tiered` you built as \
                 `cache = ..`, or let `store = ..` build one over your store",
            ));
        }
        if let (None, Some(span)) = (&args.store, args.span_of("version")) {
            return Err(syn::Error::new(
                span,
                "`version` is the key layout's version in a store: it applies only with \
                 `store = ..` (with `cache = ..`, set it on the `Tiered` you pass)",
            ));
        }
        if args.cache.is_some() {
            for setting in [
                "max_capacity",
                "policy",
                "ttl",
                "jitter",
                "time_to_idle",
                "name",
            ] {
                if let Some(span) = args.span_of(setting) {
                    return Err(syn::Error::new(
                        span,
                        format!(
                            "`{setting}` does not apply with `cache = ..`: set it on the cache \
                             you pass"
                        ),
                    ));
                }
            }
        }
        let shape = shape_of(&sig.output);
        Ok(Model {
            func,
            has_receiver,
            inputs,
            shape,
            args,
        })
    }

    /// The arguments the key is made of.
    pub(crate) fn key_inputs(&self) -> impl Iterator<Item = &Input> {
        self.inputs.iter().filter(|i| i.in_key)
    }

    /// Whether the `key` expression mentions `self` (the key companions then take `&self`).
    pub(crate) fn key_uses_self(&self) -> bool {
        self.args
            .key
            .as_ref()
            .is_some_and(|e| mentions_self(quote::quote!(#e)))
    }

    /// Whether the `cache` or `store` expression mentions `self` (every companion then takes
    /// `&self`).
    pub(crate) fn cache_uses_self(&self) -> bool {
        self.args
            .cache
            .iter()
            .chain(&self.args.store)
            .any(|e| mentions_self(quote::quote!(#e)))
    }

    /// Where the function's cache comes from.
    pub(crate) fn backend(&self) -> Backend<'_> {
        match (&self.args.cache, &self.args.store) {
            (Some(cache), _) => Backend::Passed(cache),
            (None, Some(store)) => Backend::Store(store),
            (None, None) => Backend::Generated,
        }
    }
}

/// Whether `tokens` hold the identifier `self` (not inside a string literal).
fn mentions_self(tokens: proc_macro2::TokenStream) -> bool {
    tokens.into_iter().any(|tree| match tree {
        proc_macro2::TokenTree::Ident(ident) => ident == "self",
        proc_macro2::TokenTree::Group(group) => mentions_self(group.stream()),
        _ => false,
    })
}

fn shape_of(output: &ReturnType) -> Shape {
    let ReturnType::Type(_, ty) = output else {
        return Shape::Plain(syn::parse_quote!(()));
    };
    if let Type::Path(path) = &**ty
        && let Some(last) = path.path.segments.last()
        && let PathArguments::AngleBracketed(generics) = &last.arguments
        && let Some(GenericArgument::Type(first)) = generics.args.first()
    {
        if last.ident == "Result" {
            return Shape::Result(first.clone());
        }
        if last.ident == "Option" && generics.args.len() == 1 {
            return Shape::Option(first.clone());
        }
    }
    Shape::Plain((**ty).clone())
}
