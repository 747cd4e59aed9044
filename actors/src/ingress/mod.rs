//! The SIP ingress: owns the sockets and the transaction layer, checks every message
//! (framing, RFC 3261 rules, trunk sources, digest auth, caps, flood limits), answers
//! OPTIONS and REGISTER, starts a call actor for each admitted INVITE, and routes in-dialog
//! traffic to the call that owns it.

mod actor;
mod admit;
mod handlers;
mod message;
mod messages;
mod transport;

pub use actor::{IngressError, IngressSpec, OpenLeg, SipIngress};
pub use messages::*;
