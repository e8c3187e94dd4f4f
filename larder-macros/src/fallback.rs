//! On a wrong use, the original item is kept beside the error: the code around it still
//! type-checks, and IDEs keep completing it (tokio-macros does the same).

use proc_macro2::TokenStream;

pub(crate) fn with_error(item: TokenStream, error: &syn::Error) -> TokenStream {
    let mut out = error.to_compile_error();
    out.extend(item);
    out
}
