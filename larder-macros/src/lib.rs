//! Attribute macros for [larder](https://docs.rs/larder): `#[larder::cached]` and
//! `#[larder::invalidates]`.
//!
//! This crate is an implementation detail of `larder`: depend on `larder` and use the macros
//! through it; their documentation is on the re-exports there. Each macro runs a pipeline of
//! one stage per file: `args.rs` parses the attribute's arguments, `model.rs` analyses and
//! validates the function, `expand.rs` writes the code (naming only `::larder::…`), and
//! `fallback.rs` keeps the original function beside a compile error when anything is wrong,
//! so that IDEs keep working. `invalidates.rs` is the second macro.

mod args;
mod expand;
mod fallback;
mod invalidates;
mod model;

use proc_macro::TokenStream;

/// Caches an async function's results; see `larder::cached`.
#[proc_macro_attribute]
pub fn cached(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::cached(args.into(), item.into()).into()
}

/// Invalidates cached functions' entries before a mutation runs; see `larder::invalidates`.
#[proc_macro_attribute]
pub fn invalidates(args: TokenStream, item: TokenStream) -> TokenStream {
    invalidates::invalidates(args.into(), item.into()).into()
}
