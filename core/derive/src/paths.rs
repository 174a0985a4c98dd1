//! How generated code names things: the `plinth` crate, and spans for errors.

use proc_macro2::{Span, TokenStream};
use proc_macro_crate::FoundCrate;
use quote::{format_ident, quote};

/// The path of the `plinth` crate as the deriving crate's `Cargo.toml` names it:
/// `::plinth`, or `::storage` for `storage = { package = "plinth", … }`. Inside `plinth`
/// itself, and when the manifest does not name it (`plinth` reached through another
/// crate's re-export), `::plinth`, which `plinth`'s `extern crate self as plinth`
/// makes resolve in its own unit tests.
pub(crate) fn plinth_path() -> TokenStream {
    match proc_macro_crate::crate_name("plinth") {
        Ok(FoundCrate::Name(name)) => {
            let name = format_ident!("{name}");
            quote!(::#name)
        }
        Ok(FoundCrate::Itself) | Err(_) => quote!(::plinth),
    }
}

/// An identifier as a name: `r#type` is `type`.
pub(crate) fn unraw(ident: &syn::Ident) -> String {
    let name = ident.to_string();
    name.strip_prefix("r#").map_or(name.clone(), str::to_owned)
}

/// `path` with every token at `span`, so an error in code built with it points where
/// `span` does (a field's type) rather than at the derive.
pub(crate) fn respan(path: &TokenStream, span: Span) -> TokenStream {
    path.clone()
        .into_iter()
        .map(|mut token| {
            token.set_span(span);
            token
        })
        .collect()
}
