//! `#[derive(Entity)]` and `#[derive(Field)]` for Plinth; use them through
//! `plinth::Entity` and `plinth::Field`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod entity;
mod field;
mod paths;

use proc_macro::TokenStream;

/// Derives `plinth::Entity` for a struct with named fields. See `plinth::Entity`.
#[proc_macro_derive(Entity, attributes(entity))]
pub fn derive_entity(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    entity::expand_entity(input).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Derives `plinth::Field` for a newtype over a field type (`struct Email(String);`,
/// stored as the `String`) or a fieldless enum (stored as its variant's name). See
/// `plinth::Field`.
#[proc_macro_derive(Field)]
pub fn derive_field(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    field::expand_field(input).unwrap_or_else(syn::Error::into_compile_error).into()
}
