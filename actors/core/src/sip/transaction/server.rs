//! Server transactions (RFC 3261 §17.2, RFC 6026 for 2xx to INVITE): inbound requests,
//! the transaction user's responses, Timers G, H, I, J, L.

use std::time::{Duration, Instant};

use super::key::{AckKey, ServerKey};
use super::layer::{Gens, Side, Slot, TimerHeap, TransactionLayer};
use super::target::response_target;
use super::{wire, Result, TuEvent, TxError, TxId};
use crate::sip::headers::{self, Via};
use crate::sip::{build, Method, Peer, Request, Response};

/// States of a server transaction (Terminated is removal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ServerState {
    /// Non-INVITE, nothing sent yet.
    Trying,
    /// A provisional was sent (INVITE: the 100 at least).
    Proceeding,
    /// A final was sent: 300–699 for INVITE, any final otherwise.
    Completed,
    /// INVITE: the ACK for a non-2xx final arrived.
    Confirmed,
    /// INVITE: a 2xx was sent (RFC 6026).
    Accepted,
}

/// One server transaction.
#[derive(Debug)]
pub(super) struct ServerTx {
    /// Timer generations.
    pub(super) gens: Gens,
    key: ServerKey,
    method: Method,
    state: ServerState,
    /// Where responses go.
    peer: Peer,
    /// The last response sent, for retransmission and for absorbed requests.
    last: Option<Vec<u8>>,
    /// Current retransmission interval.
    interval: Duration,
    /// To tag of the last response sent (INVITE).
    resp_to_tag: Option<Box<str>>,
    /// Index entry of an Accepted INVITE.
    ack_key: Option<AckKey>,
    /// Accepted INVITE: the ACK arrived.
    acked: bool,
}

/// A To tag for responses the layer makes before the transaction user chose one.
fn local_tag(id: TxId) -> String {
    format!("gwtx{:x}", id.0)
}

impl TransactionLayer {
    /// A checked inbound request (after [`super::stamp_via`]). A new INVITE is answered
    /// 100 Trying and reaches the transaction user as [`TuEvent::Request`], like any new
    /// non-INVITE request; retransmissions get the last response again; ACKs and CANCELs
    /// are matched to their INVITE. A request without a usable Via or CSeq is ignored.
    pub fn on_request(&mut self, now: Instant, req: Request, from: Peer) {
        let (Some(via), Some(cseq)) = (headers::top_via(&req.headers), headers::cseq(&req.headers))
        else {
            return;
        };
        match req.method {
            Method::Ack => self.server_ack(now, req, from, &via, cseq.seq),
            Method::Cancel => self.server_cancel(now, req, from, &via, cseq.seq),
            m => self.server_request(now, req, from, &via, cseq.seq, m),
        }
        self.prune();
    }

    /// Answers a server transaction. 1xx keeps it proceeding; a final completes it (and,
    /// on UDP, the layer retransmits a final to INVITE until the ACK). A further 2xx to
    /// an Accepted INVITE is sent as is.
    pub fn respond(&mut self, now: Instant, tx: TxId, resp: Response) -> Result<()> {
        let t = self.timers;
        let id = tx;
        let tx = self
            .servers
            .get_mut(&id)
            .ok_or(TxError::UnknownTransaction(id))?;
        let code = resp.status_code.code();
        if !(100..=699).contains(&code) {
            return Err(TxError::InvalidStatus { tx: id, code });
        }
        if let Some(c) = headers::cseq(&resp.headers) {
            if c.method.parse::<Method>().ok() != Some(tx.method) {
                return Err(TxError::WrongMethod {
                    tx: id,
                    expected: tx.method.to_string(),
                    got: c.method,
                });
            }
        }
        let invite = tx.method == Method::Invite;
        let next = match (invite, tx.state, code) {
            (_, ServerState::Trying | ServerState::Proceeding, 100..=199) => {
                ServerState::Proceeding
            }
            (true, ServerState::Proceeding, 200..=299)
            | (true, ServerState::Accepted, 200..=299) => ServerState::Accepted,
            (_, ServerState::Trying | ServerState::Proceeding, _) => ServerState::Completed,
            _ => return Err(TxError::AlreadyFinal(id)),
        };
        let bytes = wire::response(&resp, self.product.as_deref());
        if invite {
            if let Some(tag) = headers::to_tag(&resp.headers) {
                tx.resp_to_tag = Some(tag.into());
            }
        }
        let was = tx.state;
        tx.state = next;
        tx.last = Some(bytes.clone());
        let peer = tx.peer;
        let unreliable = !peer.transport.is_reliable();
        let mut end = false;
        match next {
            _ if was == next => {}
            ServerState::Completed | ServerState::Accepted if invite => {
                // Timer G (non-2xx) or the 2xx retransmission from T1, doubling; Timer H
                // (non-2xx) or Timer L (2xx) at 64·T1.
                tx.interval = t.t1;
                if unreliable {
                    self.heap.arm(
                        &mut tx.gens,
                        id,
                        Side::Server,
                        Slot::Retransmit,
                        Self::after(now, t.t1),
                    );
                }
                self.heap.arm(
                    &mut tx.gens,
                    id,
                    Side::Server,
                    Slot::Lifetime,
                    Self::after(now, t.timeout()),
                );
                if next == ServerState::Accepted {
                    tx.ack_key = AckKey::of(&resp.headers);
                    if let Some(k) = tx.ack_key.clone() {
                        self.accepted.insert(k, id);
                    }
                }
            }
            ServerState::Completed if unreliable => {
                self.heap.arm(
                    &mut tx.gens,
                    id,
                    Side::Server,
                    Slot::Lifetime,
                    Self::after(now, t.timeout()),
                );
            }
            ServerState::Completed => end = true,
            _ => {}
        }
        self.send(peer, bytes);
        if end {
            self.end_server(id);
        }
        self.prune();
        Ok(())
    }

    /// The live server transaction `key` names.
    fn find_server(&self, key: &ServerKey) -> Option<TxId> {
        self.server_index
            .get(key)
            .copied()
            .filter(|id| self.servers.contains_key(id))
    }

    /// A new server transaction, indexed.
    fn new_server(&mut self, key: ServerKey, method: Method, peer: Peer) -> TxId {
        let id = self.alloc_id();
        let state = if method == Method::Invite {
            ServerState::Proceeding
        } else {
            ServerState::Trying
        };
        let tx = ServerTx {
            gens: [0; 2],
            key: key.clone(),
            method,
            state,
            peer,
            last: None,
            interval: self.timers.t1,
            resp_to_tag: None,
            ack_key: None,
            acked: false,
        };
        self.servers.insert(id, tx);
        self.server_index.insert(key, id);
        id
    }

    fn server_request(
        &mut self,
        _now: Instant,
        req: Request,
        from: Peer,
        via: &Via,
        seq: u32,
        m: Method,
    ) {
        let Some(key) = ServerKey::new(&req, via, seq, m) else {
            return;
        };
        if let Some(id) = self.find_server(&key) {
            self.absorb_request(id);
            return;
        }
        let peer = response_target(via, from);
        let id = self.new_server(key, m, peer);
        if m == Method::Invite {
            let bytes = wire::trying(&req, self.product.as_deref());
            if let Some(tx) = self.servers.get_mut(&id) {
                tx.last = Some(bytes.clone());
            }
            self.send(peer, bytes);
        }
        self.emit(TuEvent::Request { tx: id, req, from });
    }

    /// A retransmitted request: counted, and answered with the last response if any.
    fn absorb_request(&mut self, id: TxId) {
        self.stats.absorbed += 1;
        let Some(tx) = self.servers.get(&id) else {
            return;
        };
        if let Some(bytes) = tx.last.clone() {
            let peer = tx.peer;
            self.stats.retransmissions += 1;
            self.send(peer, bytes);
        }
    }

    fn server_ack(&mut self, now: Instant, req: Request, from: Peer, via: &Via, seq: u32) {
        let key = ServerKey::new(&req, via, seq, Method::Invite);
        let hit = key
            .as_ref()
            .and_then(|k| self.find_server(k))
            .or_else(|| {
                // RFC 2543: the ACK for the final response to an initial INVITE carries the
                // tag of that response.
                let id = self.find_server(&key.as_ref()?.without_to_tag()?)?;
                let sent = self.servers.get(&id)?.resp_to_tag.as_deref();
                (sent.is_some() && sent == headers::to_tag(&req.headers)).then_some(id)
            })
            .or_else(|| AckKey::of(&req.headers).and_then(|k| self.accepted.get(&k).copied()));
        let Some((id, tx)) = hit.and_then(|id| Some((id, self.servers.get_mut(&id)?))) else {
            self.emit(TuEvent::Ack {
                req,
                from,
                invite_tx: None,
            });
            return;
        };
        match tx.state {
            ServerState::Completed => {
                tx.state = ServerState::Confirmed;
                TimerHeap::cancel(&mut tx.gens, Slot::Retransmit);
                if tx.peer.transport.is_reliable() {
                    self.end_server(id);
                } else {
                    let at = Self::after(now, self.timers.t4);
                    self.heap
                        .arm(&mut tx.gens, id, Side::Server, Slot::Lifetime, at);
                }
            }
            ServerState::Accepted if !tx.acked => {
                tx.acked = true;
                TimerHeap::cancel(&mut tx.gens, Slot::Retransmit);
                self.emit(TuEvent::Ack {
                    req,
                    from,
                    invite_tx: Some(id),
                });
            }
            _ => self.stats.absorbed += 1,
        }
    }

    fn server_cancel(&mut self, now: Instant, req: Request, from: Peer, via: &Via, seq: u32) {
        let Some(own) = ServerKey::new(&req, via, seq, Method::Cancel) else {
            return;
        };
        if let Some(id) = self.find_server(&own) {
            self.absorb_request(id);
            return;
        }
        let invite = self.find_server(&own.with_method(Method::Invite));
        let peer = response_target(via, from);
        let id = self.new_server(own, Method::Cancel, peer);
        let (code, tag) = match invite {
            Some(inv) => {
                let known = self
                    .servers
                    .get(&inv)
                    .and_then(|t| t.resp_to_tag.as_deref().map(str::to_string));
                (200, known.unwrap_or_else(|| local_tag(inv)))
            }
            None => (481, local_tag(id)),
        };
        // A fresh non-INVITE transaction always takes a final response.
        let _ = self.respond(now, id, build::response(&req, code, Some(&tag)));
        if let Some(invite_tx) = invite {
            self.emit(TuEvent::Cancel {
                invite_tx,
                req,
                from,
            });
        }
    }

    /// A server timer fired: retransmit (G, 2xx) or end the state (H, I, J, L).
    pub(super) fn server_timer(&mut self, now: Instant, id: TxId, slot: Slot) {
        let t = self.timers;
        let Some(tx) = self.servers.get_mut(&id) else {
            return;
        };
        match slot {
            Slot::Retransmit => {
                let resend = tx.state == ServerState::Completed
                    || (tx.state == ServerState::Accepted && !tx.acked);
                let Some(bytes) = tx.last.clone().filter(|_| resend) else {
                    return;
                };
                tx.interval = tx.interval.saturating_mul(2).min(t.t2);
                self.heap.arm(
                    &mut tx.gens,
                    id,
                    Side::Server,
                    Slot::Retransmit,
                    Self::after(now, tx.interval),
                );
                let peer = tx.peer;
                self.stats.retransmissions += 1;
                self.send(peer, bytes);
            }
            Slot::Lifetime => {
                let no_ack = match tx.state {
                    ServerState::Completed => tx.method == Method::Invite,
                    ServerState::Accepted => !tx.acked,
                    _ => false,
                };
                if no_ack {
                    self.stats.no_acks += 1;
                    self.emit(TuEvent::NoAck { tx: id });
                }
                self.end_server(id);
            }
        }
    }

    /// Terminates a server transaction and drops its index entries.
    fn end_server(&mut self, id: TxId) {
        let Some(tx) = self.servers.remove(&id) else {
            return;
        };
        if self.server_index.get(&tx.key) == Some(&id) {
            self.server_index.remove(&tx.key);
        }
        if let Some(k) = &tx.ack_key {
            if self.accepted.get(k) == Some(&id) {
                self.accepted.remove(k);
            }
        }
    }
}
