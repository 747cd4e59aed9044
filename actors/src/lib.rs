//! Actix actors of e173gw.
pub mod gateway;
pub mod modem;
pub mod sim;
