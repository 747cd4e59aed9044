//! Message handlers of the SIP ingress actor.

use actix::prelude::*;
use tracing::{debug, warn};

use e173gw_core::sip::{Peer, Transport};

use super::actor::{now, SipIngress};
use super::messages::*;
use super::transport::{ConnClosed, ConnOpened, Datagram, StreamMessage};

// === impl Handler ===

impl Handler<Datagram> for SipIngress {
    type Result = ();
    fn handle(&mut self, msg: Datagram, ctx: &mut Context<Self>) {
        self.on_bytes(
            &msg.bytes,
            Peer {
                addr: msg.from,
                transport: Transport::Udp,
            },
            ctx,
        );
    }
}

impl Handler<StreamMessage> for SipIngress {
    type Result = ();
    fn handle(&mut self, msg: StreamMessage, ctx: &mut Context<Self>) {
        self.on_bytes(
            &msg.bytes,
            Peer {
                addr: msg.from,
                transport: Transport::Tcp,
            },
            ctx,
        );
    }
}

impl Handler<ConnOpened> for SipIngress {
    type Result = ();
    fn handle(&mut self, msg: ConnOpened, _: &mut Context<Self>) {
        for b in self.tcp_pending.remove(&msg.peer).unwrap_or_default() {
            let _ = msg.tx.send(b);
        }
        self.tcp_conns.insert(msg.peer, msg.tx);
    }
}

impl Handler<ConnClosed> for SipIngress {
    type Result = ();
    fn handle(&mut self, msg: ConnClosed, _: &mut Context<Self>) {
        debug!(peer = %msg.peer, reason = %msg.reason, "TCP connection closed.");
        self.tcp_conns.remove(&msg.peer);
        if self.tcp_pending.remove(&msg.peer).is_some() {
            warn!(peer = %msg.peer, reason = %msg.reason, "Could not connect; queued messages dropped.");
        }
    }
}

impl Handler<SipOut> for SipIngress {
    type Result = ();
    fn handle(&mut self, msg: SipOut, ctx: &mut Context<Self>) {
        match msg {
            SipOut::Respond { tx, resp } => self.respond(tx, resp, ctx),
            SipOut::Send { call, req, to } => {
                let meta = (
                    e173gw_core::sip::headers::call_id(&req.headers)
                        .unwrap_or_default()
                        .to_string(),
                    req.method,
                );
                let tx = self.layer.send_request(now(), req, to);
                if let Some(entry) = self.calls.get_mut(&call) {
                    entry.txs.push(tx);
                    self.tx_owner.insert(tx, call);
                    self.sent.insert(tx, meta);
                }
                self.flush(ctx);
            }
            SipOut::Ack { ack, to } => {
                self.layer.send_ack(ack, to);
                self.flush(ctx);
            }
            SipOut::Watch { call, call_id } => {
                if let Some(entry) = self.calls.get_mut(&call) {
                    entry.call_ids.push(call_id.clone());
                    self.by_call_id.insert(call_id, call);
                }
            }
            SipOut::Finished { call } => self.finish_call(call),
        }
    }
}

impl Handler<GetListeners> for SipIngress {
    type Result = MessageResult<GetListeners>;
    fn handle(&mut self, _: GetListeners, _: &mut Context<Self>) -> Self::Result {
        let mut v: Vec<Peer> = self
            .udp
            .iter()
            .map(|(a, _)| Peer {
                addr: *a,
                transport: Transport::Udp,
            })
            .collect();
        v.extend(self.tcp_listen.iter().map(|a| Peer {
            addr: *a,
            transport: Transport::Tcp,
        }));
        MessageResult(v)
    }
}

impl Handler<GetStats> for SipIngress {
    type Result = MessageResult<GetStats>;
    fn handle(&mut self, _: GetStats, _: &mut Context<Self>) -> Self::Result {
        let c = self.layer.counts();
        let mut s = self.stats.clone();
        s.transactions = (c.server + c.client) as u64;
        MessageResult(s)
    }
}
