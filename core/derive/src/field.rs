//! The expansion of `#[derive(Field)]`: a newtype over a field type, or a fieldless enum
//! stored by its variants' names.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields};

use crate::paths::{plinth_path, respan};

pub(crate) fn expand_field(input: DeriveInput) -> syn::Result<TokenStream> {
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new(
            input.generics.span(),
            "#[derive(Field)] does not support generic types: a column has one fixed type",
        ));
    }
    let krate = plinth_path();
    let name = &input.ident;
    let mut checks = TokenStream::new();
    let body = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Unnamed(fields) if fields.unnamed.len() == 1 => {
                let inner = &fields.unnamed[0].ty;
                let at = respan(&krate, inner.span());
                checks = quote_spanned!(inner.span()=>
                    const _: () = #at::__private::assert_newtype_inner(
                        <#inner as #at::Field>::TYPE,
                        <#inner as #at::Field>::NULLABLE,
                    );
                );
                newtype(&krate, inner)
            }
            other => return Err(syn::Error::new(other.span(), WHAT)),
        },
        Data::Enum(data) => {
            if data.variants.is_empty() {
                return Err(syn::Error::new(name.span(), "#[derive(Field)] needs an enum with at least one variant"));
            }
            if let Some(variant) = data.variants.iter().find(|v| !matches!(v.fields, Fields::Unit)) {
                return Err(syn::Error::new(
                    variant.fields.span(),
                    "#[derive(Field)] stores an enum by its variants' names, so no variant may hold data; \
                     store data-carrying enums as serde_json::Value",
                ));
            }
            let idents: Vec<_> = data.variants.iter().map(|v| &v.ident).collect();
            fieldless_enum(&krate, &idents)
        }
        Data::Union(data) => return Err(syn::Error::new(data.union_token.span, WHAT)),
    };
    Ok(quote! {
        impl #krate::Field for #name {
            const NULLABLE: bool = false;
            type Scalar = Self;
            #body
        }

        impl #krate::Comparable for #name {}
        impl #krate::Ordered for #name {}

        #checks
    })
}

const WHAT: &str = "#[derive(Field)] needs a newtype (`struct Email(String);`) or a fieldless enum";

/// A newtype is stored, compared and sorted as the type it wraps, which must be a
/// non-optional field type other than JSON (the entity's field is `Option<Newtype>`
/// for a nullable column; JSON has no equality or order to inherit).
fn newtype(krate: &TokenStream, inner: &syn::Type) -> TokenStream {
    let at = respan(krate, inner.span());
    let inner_field = quote_spanned!(inner.span()=> <#inner as #at::Field>);
    quote! {
        const TYPE: #krate::ColumnType = #inner_field::TYPE;

        fn to_value(&self) -> #krate::Value {
            #krate::Field::to_value(&self.0)
        }

        fn from_value(value: #krate::Value) -> ::std::result::Result<Self, #krate::Value> {
            #inner_field::from_value(value).map(Self)
        }

        fn expected() -> ::std::string::String {
            #inner_field::expected()
        }
    }
}

/// A fieldless enum is stored as the text of its variant's name, so it compares and
/// sorts as that text does on every backend (by name, not by declaration order); a
/// stored name that is no variant's is given back, and reads as `Error::Decode`.
fn fieldless_enum(krate: &TokenStream, idents: &[&syn::Ident]) -> TokenStream {
    let names: Vec<String> = idents.iter().map(|i| crate::paths::unraw(i)).collect();
    let expected = format!("one of {} (String)", names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "));
    quote! {
        const TYPE: #krate::ColumnType = #krate::ColumnType::Text;

        fn to_value(&self) -> #krate::Value {
            #krate::Value::Text(::std::string::String::from(match self {
                #( Self::#idents => #names, )*
            }))
        }

        fn from_value(value: #krate::Value) -> ::std::result::Result<Self, #krate::Value> {
            match value {
                #krate::Value::Text(text) => match text.as_str() {
                    #( #names => ::std::result::Result::Ok(Self::#idents), )*
                    _ => ::std::result::Result::Err(#krate::Value::Text(text)),
                },
                other => ::std::result::Result::Err(other),
            }
        }

        fn expected() -> ::std::string::String {
            ::std::string::String::from(#expected)
        }
    }
}
