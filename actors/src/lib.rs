//! Actix actors of e173gw.
pub mod call;
pub mod filter;
pub mod gateway;
pub mod ingress;
pub mod modem;
pub mod recorder;
pub mod routing;
pub mod sim;
