//! The ingress's messages: the transaction-user interface calls are built on (events in
//! [`CallIn`], requests out in [`SipOut`], new calls through a [`CallFactory`]), and its own
//! queries. Calls depend on this module; the ingress depends on no call type.

use std::sync::Arc;

use actix::prelude::*;

use e173gw_core::call::Parties;
use e173gw_core::config::sip::Target;
use e173gw_core::sip::dialog::LocalSip;
use e173gw_core::sip::transaction::TxId;
use e173gw_core::sip::{Method, Peer, Request, Response};

/// What the ingress hands a call: the transaction user's events for its dialogs.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub enum CallIn {
    /// A request in one of the call's dialogs (BYE, re-INVITE, UPDATE, INFO, OPTIONS).
    Request {
        /// Its server transaction.
        tx: TxId,
        /// The request.
        req: Request,
        /// Where it came from.
        from: Peer,
    },
    /// The caller cancelled the INVITE (the CANCEL itself is already answered 200).
    Cancel {
        /// The INVITE's server transaction.
        invite_tx: TxId,
    },
    /// An ACK for a 2xx the call sent.
    Ack {
        /// The ACK.
        req: Request,
    },
    /// A response to a request the call sent.
    Response {
        /// The client transaction.
        tx: TxId,
        /// The response.
        resp: Response,
    },
    /// A response matching no transaction (a late 2xx retransmission: re-ACK it).
    Stray {
        /// The response.
        resp: Response,
    },
    /// Operations asks what the call is doing (and its ladder so far).
    Describe(
        tokio::sync::oneshot::Sender<(
            crate::board::ActiveCall,
            Option<e173gw_core::call::ladder::Ladder>,
        )>,
    ),
    /// A request the call sent got no final response in time (or the transport failed).
    Timeout {
        /// The client transaction.
        tx: TxId,
        /// The request's Call-ID (which leg).
        call_id: String,
        /// The request's method.
        method: Method,
    },
    /// The caller never ACKed the call's final response to its INVITE.
    NoAck {
        /// The INVITE's server transaction.
        tx: TxId,
    },
}

/// What a call asks of the ingress.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub enum SipOut {
    /// Answer a server transaction.
    Respond {
        /// The server transaction.
        tx: TxId,
        /// The response.
        resp: Response,
    },
    /// Send a request in a new client transaction; its responses come back as [`CallIn`].
    Send {
        /// The calling call's key.
        call: u64,
        /// The request.
        req: Request,
        /// Where to.
        to: Peer,
    },
    /// Send an ACK for a 2xx (outside any transaction).
    Ack {
        /// The ACK.
        ack: Request,
        /// Where to.
        to: Peer,
    },
    /// Route messages with this Call-ID (a leg the call created) to the call.
    Watch {
        /// The call's key.
        call: u64,
        /// The Call-ID.
        call_id: String,
    },
    /// The call is over: forget its dialogs and transactions, release its trunk slot.
    Finished {
        /// The call's key.
        call: u64,
    },
}

/// An admitted INVITE, for the call that will own it.
#[derive(Debug)]
pub struct NewCall {
    /// The ingress's key for the call.
    pub key: u64,
    /// The INVITE's server transaction.
    pub tx: TxId,
    /// The INVITE.
    pub invite: Request,
    /// Where it came from.
    pub from: Peer,
    /// Trunk name.
    pub trunk: String,
    /// Where the trunk's calls go.
    pub target: Target,
    /// The trunk is a peer e173gw node.
    pub from_peer: bool,
    /// Caller and callee, parsed at admission.
    pub parties: Parties,
    /// When the INVITE arrived (Unix ms), as journaled.
    pub received_ms: u64,
    /// How the gateway addresses itself.
    pub local: Arc<LocalSip>,
    /// Where the call's responses and requests go.
    pub sip: Recipient<SipOut>,
}

/// Starts the owner of a new call on the current thread (the ingress's) and returns where
/// its events go. Wired by the composition root.
pub type CallFactory = Arc<dyn Fn(NewCall) -> Recipient<CallIn> + Send + Sync>;

/// The addresses the ingress listens on.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "Vec<e173gw_core::sip::Peer>")]
pub struct GetListeners;

/// Counters of the SIP side.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct IngressStats {
    /// Messages received.
    pub received: u64,
    /// Messages rejected by the inbound checks (answered or dropped).
    pub malformed: u64,
    /// Requests from unknown sources.
    pub unknown_source: u64,
    /// Requests dropped by the per-source flood limit.
    pub flooded: u64,
    /// 401 challenges sent.
    pub challenged: u64,
    /// Requests refused for bad credentials.
    pub auth_failed: u64,
    /// Calls refused by trunk caps.
    pub over_limit: u64,
    /// Calls started.
    pub calls: u64,
    /// Calls in progress.
    pub active_calls: u64,
    /// UDP sends that failed (buffer full).
    pub send_failures: u64,
    /// Calls refused 503 because the journal was behind.
    pub journal_refusals: u64,
    /// INVITEs refused because the callee is not a dialable number.
    pub undialable: u64,
    /// SIP transactions in flight (read when asked).
    pub transactions: u64,
    /// Messages by method or status, each way.
    #[serde(skip)]
    pub messages: e173gw_core::stats::SipTally,
    /// Time spent handling each received message, µs.
    #[serde(skip)]
    pub handler_us: e173gw_core::stats::Histogram,
}

/// Read the counters.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "IngressStats")]
pub struct GetStats;

/// The calls in progress as operations see them, oldest first. Each call is asked (no
/// call reports anything while nobody looks); one that does not answer within a second
/// is left out.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "Vec<crate::board::ActiveCall>")]
pub struct ListCalls;

/// A call in progress's ladder so far, by its Call-ID (`None`: no such live call, or
/// its ladder is not kept).
#[derive(Message, Debug, Clone)]
#[rtype(result = "Option<e173gw_core::call::ladder::Ladder>")]
pub struct LiveLadder(pub String);
