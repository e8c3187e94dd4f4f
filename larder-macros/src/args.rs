//! The arguments of `#[cached(...)]`: Rust expressions, each named once.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitStr, Token};

/// What the attribute says.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) max_capacity: Option<Expr>,
    pub(crate) policy: Option<Expr>,
    pub(crate) ttl: Option<Expr>,
    pub(crate) jitter: Option<Expr>,
    pub(crate) time_to_idle: Option<Expr>,
    pub(crate) key: Option<Expr>,
    pub(crate) skip: Vec<Ident>,
    pub(crate) name: Option<LitStr>,
    pub(crate) cache: Option<Expr>,
    pub(crate) store: Option<Expr>,
    pub(crate) version: Option<Expr>,
    /// Where each argument was given, for "given twice" errors.
    seen: Vec<(String, Span)>,
}

const KNOWN: &str =
    "max_capacity, policy, ttl, jitter, time_to_idle, key, skip(..), name, cache, store, version";

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Args::default();
        while !input.is_empty() {
            let ident: Ident = input.parse()?;
            let name = ident.to_string();
            if let Some((_, first)) = args.seen.iter().find(|(n, _)| *n == name) {
                let mut error =
                    syn::Error::new(ident.span(), format!("`{name}` is given twice: keep one"));
                error.combine(syn::Error::new(*first, "first given here"));
                return Err(error);
            }
            args.seen.push((name.clone(), ident.span()));
            if name == "skip" {
                let content;
                syn::parenthesized!(content in input);
                // `Ident::parse_any`: `self` is a keyword, and may be skipped.
                let idents = Punctuated::<Ident, Token![,]>::parse_terminated_with(
                    &content,
                    Ident::parse_any,
                )?;
                args.skip = idents.into_iter().collect();
            } else {
                if !input.peek(Token![=]) {
                    return Err(syn::Error::new(
                        ident.span(),
                        format!(
                            "unknown argument `{name}`: expected one of {KNOWN}, as `name = value`"
                        ),
                    ));
                }
                input.parse::<Token![=]>()?;
                match name.as_str() {
                    "max_capacity" => args.max_capacity = Some(input.parse()?),
                    "policy" => args.policy = Some(input.parse()?),
                    "ttl" => args.ttl = Some(input.parse()?),
                    "jitter" => args.jitter = Some(input.parse()?),
                    "time_to_idle" => args.time_to_idle = Some(input.parse()?),
                    "key" => args.key = Some(input.parse()?),
                    "name" => args.name = Some(input.parse()?),
                    "cache" => args.cache = Some(input.parse()?),
                    "store" => args.store = Some(input.parse()?),
                    "version" => args.version = Some(input.parse()?),
                    _ => {
                        return Err(syn::Error::new(
                            ident.span(),
                            format!("unknown argument `{name}`: expected one of {KNOWN}"),
                        ));
                    }
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(args)
    }
}

impl Args {
    /// Where `name` was given, if it was.
    pub(crate) fn span_of(&self, name: &str) -> Option<Span> {
        self.seen.iter().find(|(n, _)| n == name).map(|(_, s)| *s)
    }
}
