//! Actix actors of e173gw.
pub mod modem;
