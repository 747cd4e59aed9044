//! Messages between the ingress and the call actors.

use actix::prelude::*;

use e173gw_core::sip::transaction::TxId;
use e173gw_core::sip::{Peer, Request, Response};

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
    /// A request the call sent got no final response in time (or the transport failed).
    Timeout {
        /// The client transaction.
        tx: TxId,
    },
    /// The caller never ACKed the call's final response to its INVITE.
    NoAck {
        /// The INVITE's server transaction.
        tx: TxId,
    },
}

/// Answer a server transaction.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct Respond {
    /// The server transaction.
    pub tx: TxId,
    /// The response.
    pub resp: Response,
}

/// Send a request in a new client transaction; the call gets its responses as [`CallIn`].
#[derive(Message, Debug)]
#[rtype(result = "TxId")]
pub struct SendRequest {
    /// The calling call's key.
    pub call: u64,
    /// The request.
    pub req: Request,
    /// Where to.
    pub to: Peer,
}

/// Send an ACK for a 2xx (outside any transaction).
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct SendAck {
    /// The ACK.
    pub ack: Request,
    /// Where to.
    pub to: Peer,
}

/// Route messages with this Call-ID (a leg the call created) to the call.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct RegisterCallId {
    /// The call's key.
    pub call: u64,
    /// The Call-ID.
    pub call_id: String,
}

/// The call is over: forget its dialogs and transactions, release its trunk slot.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct CallFinished {
    /// The call's key.
    pub call: u64,
}

/// The addresses the ingress listens on.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "Vec<e173gw_core::sip::Peer>")]
pub struct GetListeners;

/// Counters of the SIP side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
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
}

/// Read the counters.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "IngressStats")]
pub struct GetStats;
