//! The expansion of `#[derive(Entity)]`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, LitStr};

use crate::paths::{plinth_path, respan, unraw};

/// Names every table has; a field may not take them.
const RESERVED: [(&str, &str); 3] =
    [("id", "Record::id()"), ("created_at", "Record::created_at()"), ("updated_at", "Record::updated_at()")];

struct FieldSpec {
    ident: syn::Ident,
    /// The column's name: the field's, or `#[entity(column = "…")]`.
    column: String,
    /// Where the column's name is written, for errors about it.
    span: proc_macro2::Span,
    ty: syn::Type,
    unique: bool,
    indexed: bool,
    /// `#[entity(max_length = n)]`: at most `n` characters.
    max_length: Option<u32>,
    /// `#[entity(default = …)]`: what rows stored before the column existed get.
    default: Option<syn::Expr>,
    /// `#[entity(on_delete = "…")]`: the variant of `OnDelete`, and where it is written.
    on_delete: Option<(syn::Ident, proc_macro2::Span)>,
}

pub(crate) fn expand_entity(input: DeriveInput) -> syn::Result<TokenStream> {
    let name = &input.ident;
    let fields = match &input.data {
        Data::Struct(data) => {
            match &data.fields {
                Fields::Named(named) => &named.named,
                other => return Err(syn::Error::new(
                    other.span(),
                    "#[derive(Entity)] needs a struct with named fields: each field becomes a column named after it",
                )),
            }
        }
        Data::Enum(data) => {
            return Err(syn::Error::new(
                data.enum_token.span,
                "#[derive(Entity)] needs a struct with named fields; to store an enum, make it a field of type String",
            ))
        }
        Data::Union(data) => {
            return Err(syn::Error::new(data.union_token.span, "#[derive(Entity)] needs a struct with named fields"))
        }
    };
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new(
            input.generics.span(),
            "#[derive(Entity)] does not support generic structs: a table has one fixed set of column types",
        ));
    }

    let table_name = table_name(&input)?;
    let specs = fields.iter().map(field_spec).collect::<syn::Result<Vec<_>>>()?;
    check_distinct_columns(&specs)?;

    let krate = plinth_path();
    let vis = &input.vis;
    let columns_ident = format_ident!("{}Columns", name);
    let column_defs = specs.iter().map(|f| {
        let (column, ty) = (&f.column, &f.ty);
        let krate = respan(&krate, ty.span());
        let field = quote_spanned!(ty.span()=> <#ty as #krate::Field>);
        let unique = f.unique.then(|| quote!(.unique()));
        let indexed = f.indexed.then(|| quote!(.indexed()));
        let limited = f.max_length.map(|chars| quote!(.max_length(#chars)));
        let default = f.default.as_ref().map(|expr| default_value(&krate, ty, expr));
        let rule = f.on_delete.as_ref().map_or_else(|| format_ident!("Restrict"), |(rule, _)| rule.clone());
        quote!(#krate::backend::ColumnDef::new(#column, #field::TYPE, #field::NULLABLE) #unique #indexed #limited #default
            .referencing(#field::REFERENCES, #krate::OnDelete::#rule))
    });
    let reference_checks = specs.iter().filter_map(|f| {
        let (rule, span) = f.on_delete.as_ref()?;
        let ty = &f.ty;
        let krate = respan(&krate, *span);
        let set_null = rule == "SetNull";
        Some(quote_spanned!(*span=> const _: () = #krate::__private::assert_reference(
            <#ty as #krate::Field>::REFERENCES.is_some(), <#ty as #krate::Field>::NULLABLE, #set_null);))
    });
    let limit_checks = specs.iter().filter(|f| f.max_length.is_some()).map(|f| {
        let ty = &f.ty;
        let krate = respan(&krate, ty.span());
        quote_spanned!(ty.span()=> const _: () = #krate::__private::assert_text_for_max_length(<#ty as #krate::Field>::TYPE);)
    });
    let indexable_checks = specs.iter().filter(|f| f.unique || f.indexed).map(|f| {
        let ty = &f.ty;
        let krate = respan(&krate, ty.span());
        quote_spanned!(ty.span()=> const _: () = #krate::__private::assert_indexable(<#ty as #krate::Field>::TYPE);)
    });
    let column_count = specs.len();
    let idents: Vec<_> = specs.iter().map(|f| &f.ident).collect();
    let column_names: Vec<_> = specs.iter().map(|f| &f.column).collect();
    let types: Vec<_> = specs.iter().map(|f| &f.ty).collect();
    let indexes: Vec<_> = (0..column_count).collect();
    let timestamp = quote!(#krate::__private::Timestamp);
    let columns_doc = format!("Typed columns of [`{name}`] (table `{table_name}`), for queries.");
    let field_docs = column_names.iter().map(|c| format!("The `{c}` column."));

    Ok(quote! {
        #[doc = #columns_doc]
        #[derive(Clone, Copy, Debug)]
        #vis struct #columns_ident {
            /// The `id` column.
            pub id: #krate::Column<#name, #krate::Id<#name>>,
            #(
                #[doc = #field_docs]
                pub #idents: #krate::Column<#name, #types>,
            )*
            /// The `created_at` column.
            pub created_at: #krate::Column<#name, #timestamp>,
            /// The `updated_at` column.
            pub updated_at: #krate::Column<#name, #timestamp>,
        }

        #(#indexable_checks)*
        #(#limit_checks)*
        #(#reference_checks)*

        #[automatically_derived]
        impl #krate::Entity for #name {
            type Columns = #columns_ident;
            const TABLE_NAME: &'static str = #table_name;

            fn table() -> &'static #krate::Table {
                static COLUMNS: [#krate::backend::ColumnDef; #column_count] = [#(#column_defs),*];
                static TABLE: #krate::Table = #krate::Table::new(#table_name, &COLUMNS);
                &TABLE
            }

            fn columns() -> #columns_ident {
                #columns_ident {
                    id: #krate::Column::new("id"),
                    #( #idents: #krate::Column::new(#column_names), )*
                    created_at: #krate::Column::new("created_at"),
                    updated_at: #krate::Column::new("updated_at"),
                }
            }

            fn to_row(&self) -> #krate::backend::Row {
                #krate::backend::Row::new(::std::vec![#( #krate::Field::to_value(&self.#idents) ),*])
            }

            fn from_fields(
                fields: &mut dyn #krate::backend::StoredFields,
            ) -> ::std::result::Result<Self, #krate::DecodeError> {
                let columns = <Self as #krate::Entity>::table().columns();
                #krate::__private::check_field_count(fields, #column_count)?;
                ::std::result::Result::Ok(Self {
                    #( #idents: #krate::__private::read_field::<#types>(fields, #indexes, &columns[#indexes])?, )*
                })
            }
        }
    })
}

/// `#[entity(table = "…")]`, or the type name lower-cased (the Unicode way) plus `s`.
fn table_name(input: &DeriveInput) -> syn::Result<String> {
    let mut table = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("entity")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("table") {
                let lit: LitStr = meta.value()?.parse()?;
                if lit.value().is_empty() || lit.value().contains('\0') {
                    return Err(syn::Error::new(
                        lit.span(),
                        "a table name may be neither empty nor hold a NUL character",
                    ));
                }
                table = Some(lit.value());
                Ok(())
            } else {
                Err(meta.error("unknown entity attribute; on a struct, use #[entity(table = \"name\")]"))
            }
        })?;
    }
    let name = table.unwrap_or_else(|| format!("{}s", unraw(&input.ident).to_lowercase()));
    if name.len() > MAX_NAME_BYTES {
        return Err(syn::Error::new(
            input.ident.span(),
            too_long("table", &name, "name the table with #[entity(table = \"…\")]"),
        ));
    }
    Ok(name)
}

/// PostgreSQL cuts longer identifiers, silently; `plinth::MAX_NAME_BYTES` is the same.
const MAX_NAME_BYTES: usize = 63;

/// PostgreSQL's longest `VARCHAR`; `plinth::MAX_LENGTH_LIMIT` is the same.
const MAX_LENGTH_LIMIT: u32 = 10_485_760;

/// `.with_default(…)`: a function giving `expr` as a value of the field's type `ty`; a
/// string literal becomes the type through `Into` (`default = "grey"` for a `String`),
/// anything else must be of the type itself.
fn default_value(krate: &TokenStream, ty: &syn::Type, expr: &syn::Expr) -> TokenStream {
    let is_str = matches!(expr, syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(_), .. }));
    let value = if is_str { quote!(::core::convert::Into::into(#expr)) } else { quote!(#expr) };
    quote_spanned! {expr.span()=>
        .with_default(|| {
            let value: #ty = #value;
            #krate::Field::to_value(&value)
        })
    }
}

fn too_long(what: &str, name: &str, remedy: &str) -> String {
    format!(
        "the {what} name `{name}` is {} bytes; PostgreSQL keeps {MAX_NAME_BYTES} and cuts the rest silently, so {remedy}",
        name.len()
    )
}

fn field_spec(field: &syn::Field) -> syn::Result<FieldSpec> {
    let ident = field.ident.clone().ok_or_else(|| syn::Error::new(field.span(), "expected a named field"))?;
    let (mut unique, mut indexed, mut renamed, mut max_length, mut default) = (false, false, None, None, None);
    let mut on_delete = None;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("entity")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("unique") {
                unique = true;
                Ok(())
            } else if meta.path.is_ident("index") {
                indexed = true;
                Ok(())
            } else if meta.path.is_ident("max_length") {
                let lit: syn::LitInt = meta.value()?.parse()?;
                let chars: u32 = lit.base10_parse()?;
                if !(1..=MAX_LENGTH_LIMIT).contains(&chars) {
                    return Err(syn::Error::new(
                        lit.span(),
                        format!(
                            "a text column's limit is from 1 to {MAX_LENGTH_LIMIT} characters (PostgreSQL's VARCHAR)"
                        ),
                    ));
                }
                max_length = Some(chars);
                Ok(())
            } else if meta.path.is_ident("on_delete") {
                let lit: LitStr = meta.value()?.parse()?;
                let rule = match lit.value().as_str() {
                    "restrict" => "Restrict",
                    "cascade" => "Cascade",
                    "set_null" => "SetNull",
                    _ => {
                        return Err(syn::Error::new(
                            lit.span(),
                            "a delete rule is \"restrict\" (the default), \"cascade\" or \"set_null\"",
                        ))
                    }
                };
                on_delete = Some((format_ident!("{}", rule), lit.span()));
                Ok(())
            } else if meta.path.is_ident("default") {
                default = Some(meta.value()?.parse::<syn::Expr>()?);
                Ok(())
            } else if meta.path.is_ident("column") {
                let lit: LitStr = meta.value()?.parse()?;
                if lit.value().is_empty() || lit.value().contains('\0') {
                    return Err(syn::Error::new(
                        lit.span(),
                        "a column name may be neither empty nor hold a NUL character",
                    ));
                }
                renamed = Some((lit.value(), lit.span()));
                Ok(())
            } else {
                Err(meta.error(
                    "unknown entity attribute; on a field, use #[entity(unique)], #[entity(index)], \
                     #[entity(column = \"name\")], #[entity(max_length = 32)], #[entity(default = …)] or \
                     #[entity(on_delete = \"cascade\")]",
                ))
            }
        })?;
    }
    let (column, span) = renamed.unwrap_or_else(|| (unraw(&ident), ident.span()));
    if let Some((_, accessor)) = RESERVED.iter().find(|(reserved, _)| reserved.eq_ignore_ascii_case(&column)) {
        return Err(syn::Error::new(
            span,
            format!("`{column}` is a column every Plinth table has (read it with {accessor}); rename this field"),
        ));
    }
    if column.len() > MAX_NAME_BYTES {
        return Err(syn::Error::new(span, too_long("column", &column, "shorten the field's name")));
    }
    Ok(FieldSpec {
        ident,
        column,
        span,
        ty: field.ty.clone(),
        unique,
        indexed: indexed && !unique,
        max_length,
        default,
        on_delete,
    })
}

/// Refuses two fields stored in one column (`#[entity(column = …)]` naming another
/// field's column).
fn check_distinct_columns(specs: &[FieldSpec]) -> syn::Result<()> {
    for (i, spec) in specs.iter().enumerate() {
        // Ignoring ASCII case, as SQLite compares names.
        if let Some(first) = specs[..i].iter().find(|s| s.column.eq_ignore_ascii_case(&spec.column)) {
            return Err(syn::Error::new(
                spec.span,
                format!(
                    "column `{}` is already the column of field `{}`; name this one another",
                    spec.column, first.ident
                ),
            ));
        }
    }
    Ok(())
}
