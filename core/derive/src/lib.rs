//! `#[derive(Entity)]` for Plinth; use it through `plinth::Entity`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod entity;

use proc_macro::TokenStream;

/// Derives `plinth::Entity` for a struct with named fields. See `plinth::Entity`.
#[proc_macro_derive(Entity, attributes(entity))]
pub fn derive_entity(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    entity::expand_entity(input).unwrap_or_else(syn::Error::into_compile_error).into()
}
