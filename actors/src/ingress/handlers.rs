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

/// How long a call may take to say what it is doing.
const DESCRIBE_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

type Described = (
    crate::board::ActiveCall,
    Option<e173gw_core::call::ladder::Ladder>,
);

fn describe(r: &Recipient<CallIn>) -> impl std::future::Future<Output = Option<Described>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    r.do_send(CallIn::Describe(tx));
    async move { tokio::time::timeout(DESCRIBE_WAIT, rx).await.ok()?.ok() }
}

impl Handler<super::ListCalls> for SipIngress {
    type Result = ResponseFuture<Vec<crate::board::ActiveCall>>;

    fn handle(&mut self, _: super::ListCalls, _: &mut Context<Self>) -> Self::Result {
        let asks: Vec<_> = self
            .calls
            .values()
            .map(|c| describe(&c.recipient))
            .collect();
        Box::pin(async move {
            let mut v: Vec<crate::board::ActiveCall> = futures_util::future::join_all(asks)
                .await
                .into_iter()
                .flatten()
                .map(|(c, _)| c)
                .collect();
            v.sort_by_key(|c| c.received_ms);
            v
        })
    }
}

impl Handler<super::LiveLadder> for SipIngress {
    type Result = ResponseFuture<Option<e173gw_core::call::ladder::Ladder>>;

    fn handle(&mut self, msg: super::LiveLadder, _: &mut Context<Self>) -> Self::Result {
        let ask = self
            .by_call_id
            .get(&msg.0)
            .and_then(|k| self.calls.get(k))
            .map(|c| describe(&c.recipient));
        Box::pin(async move { ask?.await.and_then(|(_, l)| l) })
    }
}
