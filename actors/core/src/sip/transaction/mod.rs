//! The RFC 3261 §17 transaction layer, sans-IO.
//!
//! One [`TransactionLayer`] holds every client and server transaction of the gateway. The
//! ingress feeds it checked messages ([`TransactionLayer::on_request`],
//! [`TransactionLayer::on_response`]) and time ([`TransactionLayer::on_timer`] at
//! [`TransactionLayer::next_deadline`]); the call actors answer and send through it
//! ([`TransactionLayer::respond`], [`TransactionLayer::send_request`],
//! [`TransactionLayer::send_ack`]). Everything it wants done comes out of
//! [`TransactionLayer::poll_output`]: bytes to send, and events for the transaction user.
//!
//! What it implements:
//!
//! - INVITE server: 100 Trying at once, retransmitted INVITEs absorbed (the last response
//!   is sent again), Timer G/H/I for non-2xx finals, the RFC 6026 Accepted state for 2xx
//!   (the layer retransmits the 2xx until the ACK, Timer L);
//! - non-INVITE server: Timer J; CANCEL matched to its INVITE and answered by the layer;
//! - INVITE client: Timer A/B, the ACK for non-2xx finals (§17.1.1.3) and Timer D, the
//!   Accepted state and Timer M (every 2xx reaches the transaction user, who ACKs it); a
//!   CANCELled INVITE that never gets a final response ends 64·T1 after the CANCEL (§9.1);
//! - non-INVITE client: Timer E/F/K;
//! - matching per §17.1.3 and §17.2.3, including requests without the `z9hG4bK` cookie
//!   (RFC 2543), and ACKs for 2xx by Call-ID, From tag and CSeq number;
//! - where responses go ([`response_target`], RFC 3261 §18.2.2 and RFC 3581) and the
//!   `received`/`rport` stamping of inbound requests ([`stamp_via`]);
//! - the builders the transaction user needs: [`cancel_for`] and [`new_branch`].
//!
//! Cost per message: one or two hash lookups keyed by branch, sent-by and method; timers
//! sit in one binary heap and are cancelled lazily by a generation counter; every
//! outgoing message is serialised once and its bytes kept for retransmission.
//!
//! # Layout
//!
//! - `layer`: the [`TransactionLayer`] value, its timer heap and counters;
//! - `server`, `client`: the state machines of both sides;
//! - `key`: the matching keys;
//! - `target`: [`response_target`] and [`stamp_via`];
//! - `builders`: [`cancel_for`], [`new_branch`] and the ACK for non-2xx finals;
//! - `wire`: serialising outgoing messages into one buffer each.

mod builders;
mod client;
mod key;
mod layer;
mod server;
mod target;
mod wire;

#[cfg(test)]
mod tests;

use std::fmt;
use std::time::Duration;

use super::{Peer, Request, Response};

pub use builders::{cancel_for, new_branch};
pub use layer::TransactionLayer;
pub use target::{response_target, stamp_via};

/// The magic cookie that starts every RFC 3261 branch.
pub const BRANCH_COOKIE: &str = "z9hG4bK";

/// Timer D on unreliable transports (RFC 3261 Table 4: at least 32 s).
pub const TIMER_D: Duration = Duration::from_secs(32);

/// The base timers of RFC 3261 Table 4; every other timer derives from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// RTT estimate: first retransmission interval (default 500 ms).
    pub t1: Duration,
    /// Longest retransmission interval for non-INVITE requests and INVITE responses
    /// (default 4 s).
    pub t2: Duration,
    /// How long a message may stay in the network (default 5 s).
    pub t4: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl Timers {
    /// 64·T1: Timers B, F, H, J, L and M.
    pub fn timeout(&self) -> Duration {
        self.t1.saturating_mul(64)
    }
}

/// Names one transaction of a [`TransactionLayer`]; never reused by that layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxId(u64);

impl TxId {
    /// An id from a number, for code that drives a transaction user without a layer
    /// (tests, fuzzing). A layer never answers to ids it did not hand out.
    pub fn from_raw(n: u64) -> Self {
        Self(n)
    }
}

impl fmt::Display for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tx-{}", self.0)
    }
}

/// Something the layer wants done.
// Events are moved once through the output queue; boxing them would cost an allocation
// per event to save a copy.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send these bytes (one whole message) to this peer.
    Send {
        /// Destination.
        to: Peer,
        /// The serialised message.
        bytes: Vec<u8>,
    },
    /// Tell the transaction user.
    Event(TuEvent),
}

/// What the transaction user (the call actors) sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TuEvent {
    /// A new server transaction (INVITE, BYE, OPTIONS, ...): answer it with
    /// [`TransactionLayer::respond`]. An INVITE has already been answered 100 Trying.
    Request {
        /// The new server transaction.
        tx: TxId,
        /// The request.
        req: Request,
        /// Where it came from.
        from: Peer,
    },
    /// A CANCEL matched a live INVITE server transaction; the layer has already answered
    /// the CANCEL 200 OK. If the INVITE has no final response yet, the transaction user
    /// answers it 487.
    Cancel {
        /// The INVITE server transaction being cancelled.
        invite_tx: TxId,
        /// The CANCEL.
        req: Request,
        /// Where it came from.
        from: Peer,
    },
    /// An ACK for a 2xx, or any ACK that matched no transaction.
    Ack {
        /// The ACK.
        req: Request,
        /// Where it came from.
        from: Peer,
        /// The Accepted INVITE server transaction it acknowledges (by Call-ID, From tag
        /// and CSeq number), when still known.
        invite_tx: Option<TxId>,
    },
    /// A response for a client transaction: every provisional, the first final, and
    /// every 2xx of an INVITE (so the transaction user ACKs retransmissions too).
    Response {
        /// The client transaction.
        tx: TxId,
        /// The response.
        resp: Response,
    },
    /// A response that matched no client transaction (e.g. a late 2xx retransmission):
    /// the transaction user may ACK it again.
    StrayResponse {
        /// The response.
        resp: Response,
        /// Where it came from.
        from: Peer,
    },
    /// A client transaction got no final response: Timer B or F fired, a CANCELled INVITE
    /// got no final 64·T1 after the CANCEL, or the transport reported an error.
    Timeout {
        /// The client transaction.
        tx: TxId,
    },
    /// An INVITE server transaction got no ACK for its final response within Timer H
    /// (non-2xx) or Timer L (2xx).
    NoAck {
        /// The INVITE server transaction.
        tx: TxId,
    },
}

/// Counters of a [`TransactionLayer`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TxCounts {
    /// Live server transactions.
    pub server: usize,
    /// Live client transactions.
    pub client: usize,
    /// Messages sent again: timer retransmissions, and answers to absorbed retransmissions.
    pub retransmissions: u64,
    /// Retransmitted requests and responses absorbed (not given to the transaction user).
    pub absorbed: u64,
    /// Client transactions that ended in [`TuEvent::Timeout`].
    pub timeouts: u64,
    /// INVITE server transactions that ended in [`TuEvent::NoAck`].
    pub no_acks: u64,
}

/// Why the transaction user's call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// No live server transaction has this id (never existed, or already terminated).
    #[error("no live server transaction {0}")]
    UnknownTransaction(TxId),
    /// The transaction already sent its final response.
    #[error("{0} already sent a final response")]
    AlreadyFinal(TxId),
    /// The status code cannot be sent (outside 100–699).
    #[error("status {code} cannot be sent on {tx}")]
    InvalidStatus {
        /// The transaction.
        tx: TxId,
        /// The refused code.
        code: u16,
    },
    /// The response's CSeq method is not the request's.
    #[error("response for {got} sent on {tx}, a {expected} transaction")]
    WrongMethod {
        /// The transaction.
        tx: TxId,
        /// The transaction's method.
        expected: String,
        /// The response's CSeq method.
        got: String,
    },
}

/// `Result` with [`TxError`].
pub type Result<T, E = TxError> = std::result::Result<T, E>;
