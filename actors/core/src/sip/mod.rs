//! SIP for e173gw.
//!
//! Message types come from the maintained continuation of `rsip` (`rsipstack::sip`) and
//! are re-exported here: nothing outside this module names that crate, so it can be
//! replaced behind this module. What the parser does not do is added here:
//!
//! - [`framing`]: Content-Length framing for datagrams and TCP streams, size limits;
//! - [`startline`], [`normalize`], [`uri`], [`grammar`]: the RFC 3261 grammar of the start
//!   line, the header section (unfolded, LWS dropped, compact names expanded) and URIs,
//!   checked before the parser reads a plain form;
//! - [`inbound`]: every check of RFC 3261 §8.2 that ends in 400, 405, 406, 415, 416, 420,
//!   482, 483, 501, 505 or 513, in that section's order, and the response to send;
//!   unaddressable garbage is dropped;
//! - [`multipart`]: the SDP part of a multipart body;
//! - [`headers`]: reading Via, tags, CSeq, URIs and friends;
//! - [`build`]: responses and headers;
//! - [`acl`]: CIDR allowlists, token buckets, per-source flood limits;
//! - [`auth`]: digest authentication (MD5, SHA-256) with stateless expiring nonces;
//! - [`dialog`]: dialog state of each B2BUA leg and the requests built from it;
//! - [`ids`]: tags, Call-IDs and branches;
//! - [`q850`]: how a GSM call's end becomes a SIP status (RFC 3398), and a `Reason` header;
//! - [`trunks`]: trunk admission (source, digest, concurrent calls, calls per second);
//! - [`raw`]: tolerant scanning of bytes the parser rejects;
//! - [`transaction`]: the sans-IO RFC 3261 transaction layer (timers, retransmission, matching).

pub mod acl;
pub mod auth;
pub mod build;
pub mod dialog;
pub mod framing;
pub mod grammar;
pub mod headers;
pub mod ids;
pub mod inbound;
pub mod multipart;
pub mod normalize;
pub mod q850;
pub mod raw;
pub mod startline;
pub mod transaction;
pub mod trunks;
pub mod uri;

use std::fmt;
use std::net::SocketAddr;

pub use rsipstack::sip::{
    Header, Headers, Method, Request, Response, SipMessage, StatusCode, Uri, Version,
};

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// UDP datagrams (unreliable: transactions retransmit).
    Udp,
    /// A TCP connection (reliable).
    Tcp,
}

impl Transport {
    /// Whether the transport retransmits by itself.
    pub fn is_reliable(self) -> bool {
        matches!(self, Self::Tcp)
    }

    /// The Via token.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Udp => "UDP",
            Self::Tcp => "TCP",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The other end of a message: address and transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Peer {
    /// Source or destination address.
    pub addr: SocketAddr,
    /// Transport.
    pub transport: Transport,
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.transport)
    }
}
