//! Lookup providers the filter asks over HTTP (WhatsApp presence, number portability),
//! each behind a guard that keeps calls safe from them.

pub mod guarded;
pub mod http;

#[cfg(test)]
mod tests;

pub use guarded::Guarded;
pub use http::{HttpLookup, ProviderError};
