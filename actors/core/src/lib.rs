//! Pure logic of e173gw: no actix, no sockets, no serial ports, no database clients.
//!
//! Everything here takes time and bytes as parameters and returns decisions, so every
//! rule is a plain-function test.
//!
//! # Layout
//!
//! - [`domain`]: newtypes for identities (IMEI, IMSI, ICCID, dialled numbers, modem ids).
//! - [`at`]: the AT layer of Huawei E173-class modems: the byte-stream decoder
//!   ([`at::codec`]), typed commands ([`at::command`]), parsed responses and URCs
//!   ([`at::response`], [`at::urc`]) and the sans-IO modem session ([`at::session`]).
//! - [`sip`]: SIP messages behind one module, framing, RFC 3261 checks, builders, the
//!   Q.850 table.
//! - [`call`]: the sans-IO call session (the B2BUA's state machines, from the admitted
//!   INVITE to the call record) and the parties of a call, parsed once at admission.
//! - [`filter`]: screening: the pipeline's stages (blacklist, phone validation, WhatsApp,
//!   call history, operator prefix), one call's sans-IO screening and its verdict.
//! - [`routing`]: the routing policy over modem snapshots.
//! - [`record`], [`ports`]: the call record and the traits storage adapters implement.
//! - [`config`]: serde-typed configuration with defaults, environment overrides and a
//!   validation pass that names every bad key; modem profiles.
//! - [`media`]: G.711, RTP packets, jitter buffer, RFC 4733 DTMF and test tones.
//! - [`sdp`]: SDP parse and serialise, offer/answer for the modem leg.
//!
//! The decoder says "need more bytes" as `None`, not as an error: a partial `+CLIP:` line
//! is the normal state of a serial stream. Errors are reserved for input that can never
//! become valid.

pub mod at;
pub mod call;
pub mod config;
pub mod domain;
pub mod filter;
pub mod media;
pub mod ports;
pub mod record;
pub mod routing;
pub mod sdp;
pub mod sip;
pub mod sms;
pub mod stats;

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod test_util;
