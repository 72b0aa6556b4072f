//! `#[winsim::test]`: a test that explores a simulated program's schedules with
//! `winsim::Check` (docs/exploration.md).
//!
//! ```ignore
//! #[winsim::test(strategy = "pct:3", runs = 500)]
//! fn producer_consumer(sim: &mut winsim::Sim) {
//!     sim.program("main", |ctx| async move { 0 });
//! }
//! ```
//!
//! The function registers the programs on a fresh simulation; the attribute turns it into
//! a `#[test]` that runs `Check::new("<module path>::<name>")` with the given settings
//! and starts the program `entry` (default `"main"`). Settings: `strategy` (as
//! WINSIM_STRATEGY: `random`, `pct:D[:K]`, `dfs[:B[:por]]`, `rr`), `runs`, `seed`,
//! `steps_max`, `jobs`, `entry`. The WINSIM_* environment variables still override them.
#![forbid(unsafe_code)]

use proc_macro::TokenStream;
use quote::quote;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, ItemFn, Lit, MetaNameValue, Token};

/// Turns `fn name(sim: &mut Sim) { ... }` into a test that explores its schedules.
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    match expand(attr, item) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<proc_macro2::TokenStream> {
    let args = Punctuated::<MetaNameValue, Token![,]>::parse_terminated.parse(attr)?;
    let f: ItemFn = syn::parse(item)?;
    let name = &f.sig.ident;
    let mut entry = "main".to_string();
    let mut settings = Vec::new();
    for a in &args {
        let key = a.path.get_ident().map(|i| i.to_string()).unwrap_or_default();
        let lit = match &a.value {
            Expr::Lit(ExprLit { lit, .. }) => lit.clone(),
            other => return Err(syn::Error::new_spanned(other, "expected a literal")),
        };
        match (key.as_str(), &lit) {
            ("strategy", Lit::Str(s)) => {
                let text = s.value();
                settings.push(quote! {
                    .strategy(::winsim::explore::Explore::parse(#text).expect("#[winsim::test] strategy"))
                });
            }
            ("entry", Lit::Str(s)) => entry = s.value(),
            ("runs", Lit::Int(n)) => settings.push(quote! { .runs(#n) }),
            ("seed", Lit::Int(n)) => settings.push(quote! { .seed(#n) }),
            ("steps_max", Lit::Int(n)) => settings.push(quote! { .steps_max(#n) }),
            ("jobs", Lit::Int(n)) => settings.push(quote! { .jobs(#n) }),
            _ => {
                return Err(syn::Error::new_spanned(
                    a,
                    "expected strategy = \"...\", entry = \"...\", runs = N, seed = N, steps_max = N or jobs = N",
                ));
            }
        }
    }
    let attrs = &f.attrs;
    let vis = &f.vis;
    let mut setup = f.clone();
    setup.attrs.clear();
    setup.vis = syn::Visibility::Inherited;
    setup.sig.ident = syn::Ident::new("__winsim_setup", name.span());
    let label = name.to_string();
    Ok(quote! {
        #[test]
        #(#attrs)*
        #vis fn #name() {
            #setup
            ::winsim::Check::new(concat!(module_path!(), "::", #label))
                #(#settings)*
                .run(#entry, __winsim_setup);
        }
    })
}
