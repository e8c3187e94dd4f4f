//! The code `#[cached]` writes. It names only `::larder::__private::…` paths.
//!
//! For `async fn user(id: u64) -> User { body }` it writes:
//! - `user`, same signature: a cache hit returns at once; a miss loads with the body, once
//!   for all concurrent callers of that key;
//! - `__larder_uncached_user`: the original body, untouched (hidden);
//! - companions: `user_cache()` (the `CachedFn`; with `store = ..`, the `TieredFn`; none with
//!   `cache = ..`), `user_invalidate(key args) -> bool`, `user_invalidate_all()`,
//!   `user_contains(key args) -> bool`, `user_refresh(args) -> ..` (loads afresh and stores)
//!   and `user_prime(key args, value)`. They are sync on a generated cache, and async with
//!   `cache = ..` (a `Cache` or a `Tiered`: the macro cannot tell) or `store = ..` (a tier);
//! - `__larder_invalidate_user(key args)` and `__larder_invalidate_all_user()`: async in
//!   every case, for `#[invalidates]` on an async function (hidden).
//!
//! The cache is bound once per call through `::larder::__private::Backing`, which `Cache`
//! and `Tiered` implement: a lookup (a tier's L1), then a load (a tier's L2, then the body).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::{Ident, ItemFn};

use crate::args::Args;
use crate::fallback;
use crate::model::{Backend, Model, Shape};

pub(crate) fn cached(args: TokenStream, item: TokenStream) -> TokenStream {
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(error) => {
            let error = syn::Error::new(
                error.span(),
                "#[cached] goes on an async function (free, or a method in an impl block)",
            );
            return fallback::with_error(item, &error);
        }
    };
    let args: Args = match syn::parse2(args) {
        Ok(args) => args,
        Err(error) => return fallback::with_error(item, &error),
    };
    match Model::from_syn(func, args) {
        Ok(model) => expand(&model),
        Err(error) => fallback::with_error(item, &error),
    }
}

fn expand(m: &Model) -> TokenStream {
    // The expansion's own locals, out of reach of the user's names (an argument called
    // `value` or `#lk` must not clash with them).
    let local = |name: &str| Ident::new(name, Span::mixed_site());
    let (lc, lo, lk, lh, lv, lt) = (
        local("__larder_cache"),
        local("__larder_cache_owner"),
        local("__larder_key"),
        local("__larder_hit"),
        local("__larder_value"),
        local("__larder_ttl"),
    );
    let func = &m.func;
    let attrs = &func.attrs;
    let vis = &func.vis;
    let sig = &func.sig;
    // The wrapper and `_refresh` only pass their arguments on: a `mut` belongs to the body.
    let mut outer_sig = sig.clone();
    for arg in &mut outer_sig.inputs {
        if let syn::FnArg::Typed(typed) = arg
            && let syn::Pat::Ident(pat) = &mut *typed.pat
        {
            pat.mutability = None;
        }
    }
    let outer_inputs = &outer_sig.inputs;
    // Only lifetimes get this far (the model rejects type parameters).
    let generics = &sig.generics;
    let where_clause = &sig.generics.where_clause;
    let name = &sig.ident;
    let body = &func.block;
    let inputs = &sig.inputs;
    let output = &sig.output;
    let value = m.shape.value();
    let own = |suffix: &str| format_ident!("{}_{}", name, suffix);
    let inner = format_ident!("__larder_uncached_{}", name);
    let cache_fn = own("cache");
    let (invalidate, invalidate_all, contains, refresh, prime) = (
        own("invalidate"),
        own("invalidate_all"),
        own("contains"),
        own("refresh"),
        own("prime"),
    );
    let (hidden_invalidate, hidden_invalidate_all) = (
        format_ident!("__larder_invalidate_{}", name),
        format_ident!("__larder_invalidate_all_{}", name),
    );
    // Items of an impl block are reached through `Self::`.
    let scope = if m.has_receiver {
        quote!(Self::)
    } else {
        quote!()
    };
    let label = m
        .args
        .name
        .as_ref()
        .map_or_else(|| name.to_string(), syn::LitStr::value);

    // The cache, bound to `lc`: a static built on first use, the one the user passed, or a
    // static tier built over the user's store on first use. A passed expression is bound by
    // reference in a statement of its own, so that an owned value (`USERS.clone()`) lives to
    // the end of the call, and `as_larder_cache()`, a method call, auto-derefs a `LazyLock`,
    // an `Arc` or a reference to the `Cache` or `Tiered` inside.
    let backend = m.backend();
    let cache_now = match backend {
        Backend::Generated => {
            let built = cache_builder(m, m.args.ttl.as_ref().map(|e| quote!(#e)));
            quote!(let #lc = ::larder::__private::cache_of(#scope #cache_fn(), || #built);)
        }
        Backend::Passed(expr) => {
            // Spanned at the expression: "no method named `as_larder_cache`" points at it.
            let bind = Ident::new("as_larder_cache", syn::spanned::Spanned::span(expr));
            quote! {
                let #lo = &#expr;
                let #lc = {
                    use ::larder::__private::Backing as _;
                    #lo.#bind()
                };
            }
        }
        Backend::Store(store) => {
            // The TTL goes on both tiers, evaluated once.
            let bind_ttl = m.args.ttl.as_ref().map(|e| quote!(let #lt = #e;));
            let ttl = m.args.ttl.as_ref().map(|_| quote!(#lt));
            let l1 = cache_builder(m, ttl.clone());
            let mut settings = Vec::new();
            if let Some(version) = &m.args.version {
                settings.push(quote!(.version(#version)));
            }
            if let Some(ttl) = &ttl {
                settings.push(quote!(.l2_ttl(#ttl)));
            }
            quote! {
                let #lc = ::larder::__private::tier_of::<_, #value>(#scope #cache_fn(), || {
                    #bind_ttl
                    ::larder::__private::tier_builder(#l1, #store, #label)
                        #(#settings)*
                        .build()
                });
            }
        }
    };

    let owned = owned_key(m);
    let load = match m.shape {
        Shape::Plain(_) => quote!(::larder::__private::load_plain),
        Shape::Result(_) => quote!(::larder::__private::load_result),
        Shape::Option(_) => quote!(::larder::__private::load_option),
    };
    let wrap_hit = match m.shape {
        Shape::Plain(_) => quote!(#lh),
        Shape::Result(_) => quote!(::larder::__private::Result::Ok(#lh)),
        Shape::Option(_) => quote!(::larder::__private::Option::Some(#lh)),
    };
    let all_args: Vec<&Ident> = m.inputs.iter().map(|i| &i.ident).collect();
    let inner_call = if m.has_receiver {
        quote!(Self::#inner(self, #(#all_args),*))
    } else {
        quote!(#inner(#(#all_args),*))
    };
    // The hidden body keeps only the lint and `cfg` attributes: `#[deprecated]`, `#[must_use]`
    // or an instrumenting attribute belong to the function callers see.
    let hidden_attrs: Vec<_> = attrs
        .iter()
        .filter(|a| {
            ["allow", "expect", "warn", "deny", "cfg"]
                .iter()
                .any(|kept| a.path().is_ident(kept))
        })
        .collect();

    // Companions take the key's arguments, and `&self` if the key uses it.
    // With the default key, an owned argument is taken as `impl Borrow<T>`: callers pass it
    // or a reference to it, and keep it (`#[invalidates(user(&name))]`).
    let key_params: Vec<TokenStream> = if m.args.key.is_some() {
        m.key_inputs().map(param).collect()
    } else {
        m.key_inputs().map(borrowed_param).collect()
    };
    let key_args: Vec<&Ident> = m.key_inputs().map(|i| &i.ident).collect();
    let owned_in_companion = if m.args.key.is_some() {
        owned.clone()
    } else {
        owned_key_from_borrowed(m)
    };
    let takes_self = m.key_uses_self() || m.cache_uses_self();
    let (self_param, self_arg) = if takes_self {
        (quote!(&self,), quote!(self,))
    } else {
        (quote!(), quote!())
    };
    let (self_only, self_only_arg) = if m.cache_uses_self() {
        (quote!(&self), quote!(self))
    } else {
        (quote!(), quote!())
    };
    let fn_name = name.to_string();
    let cache_fn_item = match backend {
        Backend::Generated => Some(quote! {
            /// The cache of
            #[doc = concat!("[`", #fn_name, "`](", #fn_name, "): its stats, length, and `clear`.")]
            #vis fn #cache_fn() -> &'static ::larder::__private::CachedFn {
                static CACHE: ::larder::__private::CachedFn = ::larder::__private::cached_fn(#label);
                &CACHE
            }
        }),
        Backend::Store(_) => Some(quote! {
            /// The tiered cache of
            #[doc = concat!("[`", #fn_name, "`](", #fn_name, "): its stats, and `clear`.")]
            #vis fn #cache_fn() -> &'static ::larder::__private::TieredFn {
                static CACHE: ::larder::__private::TieredFn = ::larder::__private::tiered_fn(#label);
                &CACHE
            }
        }),
        Backend::Passed(_) => None,
    };
    let fn_doc = &fn_name;
    // The arguments are looked up borrowed (a `&str` needs no `String`, two or three as a
    // `KeyRef`) before the owned key is made, which only a miss needs; any other key is made
    // first and looked up by reference.
    let lookup_then_load = match lookup_borrowed(m) {
        Some(lookup) => quote! {
            if let ::larder::__private::Option::Some(#lh) =
                ::larder::__private::hit(#lc, #lookup)
            {
                return #wrap_hit;
            }
            let #lk = #owned;
        },
        None => quote! {
            let #lk = #owned;
            if let ::larder::__private::Option::Some(#lh) =
                ::larder::__private::hit(#lc, &#lk)
            {
                return #wrap_hit;
            }
        },
    };

    // The companions that change the cache: sync on a generated cache (which they need not
    // build), async on a passed cache (the macro cannot tell a `Cache` from a `Tiered`) and
    // on a tier (whose L2 is remote, and shared: they build it).
    let clear_all = match backend {
        Backend::Store(store) => quote! {
            ::larder::__private::clear_tier(#scope #cache_fn(), || #store).await
        },
        _ => quote! {
            #cache_now
            ::larder::__private::Backing::clear(#lc).await
        },
    };
    let companions = match backend {
        Backend::Generated => {
            let cache_if_built = quote! {
                let #lc = ::larder::__private::built_cache::<_, #value>(#scope #cache_fn());
            };
            quote! {
                #[doc = concat!("Removes the cached result of [`", #fn_doc, "`] for these arguments; whether there was one.")]
                #[allow(unused_variables)]
                #vis fn #invalidate #generics (#self_param #(#key_params),*) -> bool #where_clause {
                    #cache_if_built
                    ::larder::__private::remove(#lc, #owned_in_companion)
                }

                #[doc = concat!("Removes every cached result of [`", #fn_doc, "`].")]
                #vis fn #invalidate_all(#self_only) {
                    #scope #cache_fn().clear();
                }

                #[doc = concat!("Whether a result of [`", #fn_doc, "`] is cached for these arguments; no side effects.")]
                #[allow(unused_variables)]
                #vis fn #contains #generics (#self_param #(#key_params),*) -> bool #where_clause {
                    #cache_if_built
                    ::larder::__private::contains(#lc, #owned_in_companion)
                }

                #[doc = concat!("Caches `value` as [`", #fn_doc, "`]'s result for these arguments (warmup).")]
                #[allow(unused_variables)]
                #vis fn #prime #generics (#self_param #(#key_params,)* #lv: #value) #where_clause {
                    #cache_now
                    let #lk = #owned_in_companion;
                    #lc.insert(#lk, #lv);
                }

                #[doc(hidden)]
                #[allow(unused_variables)]
                #vis async fn #hidden_invalidate #generics (#self_param #(#key_params),*) -> bool #where_clause {
                    #scope #invalidate(#self_arg #(#key_args),*)
                }

                #[doc(hidden)]
                #vis async fn #hidden_invalidate_all(#self_only) {
                    #scope #invalidate_all(#self_only_arg)
                }
            }
        }
        Backend::Passed(_) | Backend::Store(_) => quote! {
            #[doc = concat!("Removes the cached result of [`", #fn_doc, "`] for these arguments (from both tiers of a tiered cache); whether there was one (in L1).")]
            #[allow(unused_variables)]
            #vis async fn #invalidate #generics (#self_param #(#key_params),*) -> bool #where_clause {
                #cache_now
                ::larder::__private::Backing::remove(#lc, #owned_in_companion).await
            }

            #[doc = concat!("Removes every cached result of [`", #fn_doc, "`] (a tiered cache clears its store's namespace).")]
            #vis async fn #invalidate_all(#self_only) {
                #clear_all
            }

            #[doc = concat!("Whether a result of [`", #fn_doc, "`] is cached for these arguments (in either tier); no side effects.")]
            #[allow(unused_variables)]
            #vis async fn #contains #generics (#self_param #(#key_params),*) -> bool #where_clause {
                #cache_now
                ::larder::__private::Backing::contains(#lc, #owned_in_companion).await
            }

            #[doc = concat!("Caches `value` as [`", #fn_doc, "`]'s result for these arguments (warmup; in both tiers of a tiered cache).")]
            #[allow(unused_variables)]
            #vis async fn #prime #generics (#self_param #(#key_params,)* #lv: #value) #where_clause {
                #cache_now
                let #lk = #owned_in_companion;
                ::larder::__private::Backing::insert(#lc, #lk, #lv).await
            }

            #[doc(hidden)]
            #[allow(unused_variables)]
            #vis async fn #hidden_invalidate #generics (#self_param #(#key_params),*) -> bool #where_clause {
                #scope #invalidate(#self_arg #(#key_args),*).await
            }

            #[doc(hidden)]
            #vis async fn #hidden_invalidate_all(#self_only) {
                #scope #invalidate_all(#self_only_arg).await
            }
        },
    };

    quote! {
        #(#attrs)*
        #vis #outer_sig {
            #cache_now
            #lookup_then_load
            // Boxed: a miss allocates anyway, and a hit then carries no load's state in the
            // function's future (a large future costs every call to move).
            ::larder::__private::Box::pin(#load(#lc, #lk, false, #inner_call)).await
        }

        #[doc(hidden)]
        #(#hidden_attrs)*
        async fn #inner #generics (#inputs) #output #where_clause #body

        #cache_fn_item

        #companions

        #[doc = concat!("Runs [`", #fn_doc, "`]'s body afresh, bypassing the cache, and caches what it returns (async-cache's `use_cache=False`).")]
        #vis async fn #refresh #generics (#outer_inputs) #output #where_clause {
            #cache_now
            let #lk = #owned;
            #load(#lc, #lk, true, #inner_call).await
        }
    }
}

fn param(input: &crate::model::Input) -> TokenStream {
    let (ident, ty) = (&input.ident, &input.ty);
    quote!(#ident: #ty)
}

fn borrowed_param(input: &crate::model::Input) -> TokenStream {
    let (ident, ty) = (&input.ident, &input.ty);
    match input.referent() {
        Some(_) => quote!(#ident: #ty),
        None => quote!(#ident: impl ::larder::__private::Borrow<#ty>),
    }
}

/// The owned key in a companion whose owned arguments are `impl Borrow<T>`.
fn owned_key_from_borrowed(m: &Model) -> TokenStream {
    let parts: Vec<TokenStream> = m
        .key_inputs()
        .map(|input| {
            let (ident, ty) = (&input.ident, &input.ty);
            if input.referent().is_some() {
                quote!(::larder::__private::ToOwned::to_owned(#ident))
            } else {
                quote!(::larder::__private::Clone::clone(
                    ::larder::__private::Borrow::<#ty>::borrow(&#ident)
                ))
            }
        })
        .collect();
    match parts.as_slice() {
        [only] => only.clone(),
        _ => quote!((#(#parts,)*)),
    }
}

/// A generated cache (a tier's L1): the macro's defaults and the attribute's settings, the
/// TTL given as `ttl` (a tier binds it once for both tiers).
fn cache_builder(m: &Model, ttl: Option<TokenStream>) -> TokenStream {
    let a = &m.args;
    let label = a
        .name
        .as_ref()
        .map_or_else(|| m.func.sig.ident.to_string(), syn::LitStr::value);
    let mut calls = vec![quote!(.name(#label))];
    if let Some(e) = &a.max_capacity {
        calls.push(quote!(.max_capacity(#e)));
    }
    if let Some(e) = &a.policy {
        calls.push(quote!(.policy(#e)));
    }
    if let Some(e) = ttl {
        calls.push(quote!(.time_to_live(#e)));
    }
    if let Some(e) = &a.jitter {
        calls.push(quote!(.ttl_jitter(#e)));
    }
    if let Some(e) = &a.time_to_idle {
        calls.push(quote!(.time_to_idle(#e)));
    }
    quote!(::larder::__private::builder() #(#calls)* .build())
}

/// The key a hit is looked up by, borrowed from the arguments so that a hit builds no owned
/// key: a single argument as itself (a `&T` as is, a `T` by reference), two or three as a
/// `KeyRef` of references to them (`KeyRef((&*a, &b))` for the key `(a.to_owned(), b.clone())`,
/// which it hashes and compares as). `None` when the owned key must be built first: a `key`
/// expression (the macro cannot borrow an arbitrary expression), no key argument (the key is
/// `()`, which costs nothing), or four or more (`KeyRef` covers pairs and triples).
fn lookup_borrowed(m: &Model) -> Option<TokenStream> {
    if m.args.key.is_some() {
        return None;
    }
    let keyed: Vec<_> = m.key_inputs().collect();
    if let [only] = keyed.as_slice() {
        let ident = &only.ident;
        return Some(if only.referent().is_some() {
            quote!(#ident)
        } else {
            quote!(&#ident)
        });
    }
    if !(2..=3).contains(&keyed.len()) {
        return None;
    }
    // `&*` reborrows a `&mut T` argument as the `&T` that `KeyRef` is implemented for.
    let parts = keyed.iter().map(|input| {
        let ident = &input.ident;
        if input.referent().is_some() {
            quote!(&*#ident)
        } else {
            quote!(&#ident)
        }
    });
    Some(quote!(&::larder::__private::KeyRef((#(#parts,)*))))
}

/// The owned key: the `key` expression, the single key argument, or a tuple of them.
fn owned_key(m: &Model) -> TokenStream {
    if let Some(key) = &m.args.key {
        return quote!(#key);
    }
    let parts: Vec<TokenStream> = m
        .key_inputs()
        .map(|input| {
            let ident = &input.ident;
            if input.referent().is_some() {
                quote!(::larder::__private::ToOwned::to_owned(#ident))
            } else {
                quote!(::larder::__private::Clone::clone(&#ident))
            }
        })
        .collect();
    match parts.as_slice() {
        [only] => only.clone(),
        _ => quote!((#(#parts,)*)),
    }
}
