//! The filter pipeline actor: holds the rules in force, the state kept between calls
//! (the store's blacklist, velocity windows, learned operators) and the lookups' guards;
//! runs each call's [`Screening`](e173gw_core::filter::Screening) and answers with its
//! verdict.

mod actor;
mod messages;

pub use actor::{
    screen_once, FilterActor, LookupFuture, Lookups, PortabilityLookup, PresenceLookup,
};
pub use messages::*;
