//! Client transactions (RFC 3261 §17.1, RFC 6026 for 2xx to INVITE): the transaction
//! user's requests, inbound responses, Timers A, B, D, E, F, K, M.

use std::time::{Duration, Instant};

use super::builders::ack_for_error;
use super::key::ClientKey;
use super::layer::{Gens, Side, Slot, TimerHeap, TransactionLayer};
use super::{wire, TuEvent, TxId, TIMER_D};
use crate::sip::headers;
use crate::sip::{Method, Peer, Request, Response};

/// States of a client transaction (Terminated is removal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ClientState {
    /// INVITE sent, nothing heard.
    Calling,
    /// Non-INVITE sent, nothing heard.
    Trying,
    /// A provisional arrived.
    Proceeding,
    /// A final arrived: 300–699 for INVITE (ACK sent), any final otherwise.
    Completed,
    /// INVITE: a 2xx arrived (RFC 6026).
    Accepted,
}

/// One client transaction.
#[derive(Debug)]
pub(super) struct ClientTx {
    /// Timer generations.
    pub(super) gens: Gens,
    /// `None` when the request had no branch: nothing can match it.
    key: Option<ClientKey>,
    method: Method,
    state: ClientState,
    /// Where the request went.
    peer: Peer,
    /// The request's bytes, kept on unreliable transports for retransmission.
    bytes: Vec<u8>,
    /// Current retransmission interval.
    interval: Duration,
    /// INVITE until its final response: for the ACK of a non-2xx.
    invite: Option<Request>,
    /// The ACK sent for a non-2xx final, re-sent for its retransmissions (UDP).
    ack: Option<Vec<u8>>,
    /// When the transaction user sent a CANCEL for this INVITE.
    cancelled_at: Option<Instant>,
}

impl TransactionLayer {
    /// Starts a client transaction for `req` (INVITE, BYE, CANCEL, OPTIONS, re-INVITE...)
    /// and sends it. Its top Via branch (see [`super::new_branch`]) and method match the
    /// responses. A CANCEL whose branch is a live INVITE's bounds that INVITE: without a
    /// final response 64·T1 after the CANCEL it ends in [`TuEvent::Timeout`] (§9.1).
    ///
    /// An ACK is not a transaction: it is sent as by [`TransactionLayer::send_ack`] and
    /// the returned id names nothing.
    pub fn send_request(&mut self, now: Instant, req: Request, to: Peer) -> TxId {
        let id = self.alloc_id();
        if req.method == Method::Ack {
            self.send_ack(req, to);
            return id;
        }
        let t = self.timers;
        let method = req.method;
        let key = headers::top_via(&req.headers)
            .and_then(|v| v.branch)
            .map(|b| ClientKey {
                branch: b.into(),
                method,
            });
        let unreliable = !to.transport.is_reliable();
        let bytes = wire::request(&req, self.product.as_deref());
        let kept = if unreliable {
            bytes.clone()
        } else {
            Vec::new()
        };
        self.send(to, bytes);
        if let (Method::Cancel, Some(k)) = (method, &key) {
            self.note_cancel(now, &k.branch);
        }
        let invite = method == Method::Invite;
        let mut tx = ClientTx {
            gens: [0; 2],
            key: key.clone(),
            method,
            state: if invite {
                ClientState::Calling
            } else {
                ClientState::Trying
            },
            peer: to,
            bytes: kept,
            interval: t.t1,
            invite: invite.then_some(req),
            ack: None,
            cancelled_at: None,
        };
        if unreliable {
            self.heap.arm(
                &mut tx.gens,
                id,
                Side::Client,
                Slot::Retransmit,
                Self::after(now, t.t1),
            );
        }
        self.heap.arm(
            &mut tx.gens,
            id,
            Side::Client,
            Slot::Lifetime,
            Self::after(now, t.timeout()),
        );
        if let Some(k) = key {
            self.client_index.insert(k, id);
        }
        self.clients.insert(id, tx);
        self.prune();
        id
    }

    /// Sends an ACK for a 2xx: outside any transaction, it is only bytes to send.
    pub fn send_ack(&mut self, ack: Request, to: Peer) {
        self.send(to, wire::request(&ack, self.product.as_deref()));
    }

    /// The transport could not send for client transaction `tx`: it ends, in
    /// [`TuEvent::Timeout`] when it had no final response yet. Server transactions are
    /// left to their timers.
    pub fn transport_error(&mut self, _now: Instant, tx: TxId) {
        let Some(c) = self.clients.get(&tx) else {
            return;
        };
        if matches!(
            c.state,
            ClientState::Calling | ClientState::Trying | ClientState::Proceeding
        ) {
            self.stats.timeouts += 1;
            self.emit(TuEvent::Timeout { tx });
        }
        self.end_client(tx);
        self.prune();
    }

    /// A checked inbound response: given to its client transaction, or to the
    /// transaction user as [`TuEvent::StrayResponse`] when it matches none. A response
    /// without a usable Via or CSeq, or with a status outside 100–699, is ignored.
    pub fn on_response(&mut self, now: Instant, resp: Response, from: Peer) {
        let (Some(via), Some(cseq)) = (
            headers::top_via(&resp.headers),
            headers::cseq(&resp.headers),
        ) else {
            return;
        };
        let code = resp.status_code.code();
        if !(100..=699).contains(&code) {
            return;
        }
        let id = match (via.branch, cseq.method.parse::<Method>()) {
            (Some(branch), Ok(method)) => self
                .client_index
                .get(&ClientKey {
                    branch: branch.into(),
                    method,
                })
                .copied(),
            _ => None,
        };
        match id.and_then(|id| Some((id, self.clients.get(&id)?.method))) {
            Some((id, Method::Invite)) => self.invite_response(now, id, code, resp),
            Some((id, _)) => self.non_invite_response(now, id, code, resp),
            None => self.emit(TuEvent::StrayResponse { resp, from }),
        }
        self.prune();
    }

    fn invite_response(&mut self, now: Instant, id: TxId, code: u16, resp: Response) {
        let t = self.timers;
        let Some(tx) = self.clients.get_mut(&id) else {
            return;
        };
        let unreliable = !tx.peer.transport.is_reliable();
        match (tx.state, code) {
            (ClientState::Calling | ClientState::Proceeding, 100..=199) => {
                if tx.state == ClientState::Calling {
                    tx.state = ClientState::Proceeding;
                    TimerHeap::cancel(&mut tx.gens, Slot::Retransmit);
                    match tx.cancelled_at {
                        Some(at) => {
                            self.heap.arm(
                                &mut tx.gens,
                                id,
                                Side::Client,
                                Slot::Lifetime,
                                Self::after(at, t.timeout()),
                            );
                        }
                        None => TimerHeap::cancel(&mut tx.gens, Slot::Lifetime),
                    }
                }
                self.emit(TuEvent::Response { tx: id, resp });
            }
            (ClientState::Calling | ClientState::Proceeding, 200..=299) => {
                tx.state = ClientState::Accepted;
                tx.invite = None;
                TimerHeap::cancel(&mut tx.gens, Slot::Retransmit);
                self.heap.arm(
                    &mut tx.gens,
                    id,
                    Side::Client,
                    Slot::Lifetime,
                    Self::after(now, t.timeout()),
                );
                self.emit(TuEvent::Response { tx: id, resp });
            }
            (ClientState::Calling | ClientState::Proceeding, _) => {
                let ack = tx
                    .invite
                    .take()
                    .map(|inv| wire::request(&ack_for_error(&inv, &resp), self.product.as_deref()));
                tx.state = ClientState::Completed;
                TimerHeap::cancel(&mut tx.gens, Slot::Retransmit);
                if unreliable {
                    tx.ack = ack.clone();
                    self.heap.arm(
                        &mut tx.gens,
                        id,
                        Side::Client,
                        Slot::Lifetime,
                        Self::after(now, TIMER_D),
                    );
                }
                let peer = tx.peer;
                if let Some(a) = ack {
                    self.send(peer, a);
                }
                self.emit(TuEvent::Response { tx: id, resp });
                if !unreliable {
                    self.end_client(id);
                }
            }
            (ClientState::Accepted, 200..=299) => self.emit(TuEvent::Response { tx: id, resp }),
            (ClientState::Completed, 300..) => {
                self.stats.absorbed += 1;
                if let Some(a) = tx.ack.clone() {
                    let peer = tx.peer;
                    self.stats.retransmissions += 1;
                    self.send(peer, a);
                }
            }
            _ => self.stats.absorbed += 1,
        }
    }

    fn non_invite_response(&mut self, now: Instant, id: TxId, code: u16, resp: Response) {
        let t4 = self.timers.t4;
        let Some(tx) = self.clients.get_mut(&id) else {
            return;
        };
        match (tx.state, code) {
            (ClientState::Trying | ClientState::Proceeding, 100..=199) => {
                tx.state = ClientState::Proceeding;
                self.emit(TuEvent::Response { tx: id, resp });
            }
            (ClientState::Trying | ClientState::Proceeding, _) => {
                tx.state = ClientState::Completed;
                TimerHeap::cancel(&mut tx.gens, Slot::Retransmit);
                let reliable = tx.peer.transport.is_reliable();
                if reliable {
                    TimerHeap::cancel(&mut tx.gens, Slot::Lifetime);
                } else {
                    self.heap.arm(
                        &mut tx.gens,
                        id,
                        Side::Client,
                        Slot::Lifetime,
                        Self::after(now, t4),
                    );
                }
                self.emit(TuEvent::Response { tx: id, resp });
                if reliable {
                    self.end_client(id);
                }
            }
            _ => self.stats.absorbed += 1,
        }
    }

    /// The transaction user CANCELs the INVITE with this branch: bound its wait for a
    /// final response to 64·T1 from now.
    fn note_cancel(&mut self, now: Instant, branch: &str) {
        let key = ClientKey {
            branch: branch.into(),
            method: Method::Invite,
        };
        let Some(&inv) = self.client_index.get(&key) else {
            return;
        };
        let Some(tx) = self.clients.get_mut(&inv) else {
            return;
        };
        if tx.cancelled_at.is_some()
            || !matches!(tx.state, ClientState::Calling | ClientState::Proceeding)
        {
            return;
        }
        tx.cancelled_at = Some(now);
        if tx.state == ClientState::Proceeding {
            let at = Self::after(now, self.timers.timeout());
            self.heap
                .arm(&mut tx.gens, inv, Side::Client, Slot::Lifetime, at);
        }
    }

    /// A client timer fired: retransmit (A, E) or end the state (B, D, F, K, M, CANCEL
    /// guard).
    pub(super) fn client_timer(&mut self, now: Instant, id: TxId, slot: Slot) {
        let t = self.timers;
        let Some(tx) = self.clients.get_mut(&id) else {
            return;
        };
        match slot {
            Slot::Retransmit => {
                let next = match tx.state {
                    // Timer A doubles without a cap: Timer B ends it.
                    ClientState::Calling => tx.interval.saturating_mul(2),
                    ClientState::Trying => tx.interval.saturating_mul(2).min(t.t2),
                    ClientState::Proceeding if tx.method != Method::Invite => t.t2,
                    _ => return,
                };
                tx.interval = next;
                self.heap.arm(
                    &mut tx.gens,
                    id,
                    Side::Client,
                    Slot::Retransmit,
                    Self::after(now, next),
                );
                let (peer, bytes) = (tx.peer, tx.bytes.clone());
                self.stats.retransmissions += 1;
                self.send(peer, bytes);
            }
            Slot::Lifetime => {
                if matches!(
                    tx.state,
                    ClientState::Calling | ClientState::Trying | ClientState::Proceeding
                ) {
                    self.stats.timeouts += 1;
                    self.emit(TuEvent::Timeout { tx: id });
                }
                self.end_client(id);
            }
        }
    }

    /// Terminates a client transaction and drops its index entry.
    fn end_client(&mut self, id: TxId) {
        let Some(tx) = self.clients.remove(&id) else {
            return;
        };
        if let Some(k) = &tx.key {
            if self.client_index.get(k) == Some(&id) {
                self.client_index.remove(k);
            }
        }
    }
}
