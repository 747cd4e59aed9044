//! Actix actors of e173gw.
