//! The ingress actor: sockets in, transaction layer, events out to calls.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use e173gw_core::stats::Direction;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use e173gw_core::call::Parties;
use e173gw_core::config::sip::{parse_listen, SipConfig, TrunkConfig, UnknownSource};
use e173gw_core::sip::acl::SourceLimiter;
use e173gw_core::sip::dialog::LocalSip;
use e173gw_core::sip::framing::Limits;
use e173gw_core::sip::ids::IdGen;
use e173gw_core::sip::inbound::{self, Inbound, Policy};
use e173gw_core::sip::transaction::{stamp_via, Output, Timers, TransactionLayer, TuEvent, TxId};
use e173gw_core::sip::trunks::TrunkTable;
use e173gw_core::sip::{headers, Method, Peer, Response, Transport};

use super::messages::*;
use super::transport;
use crate::recorder::{Starts, Ticket};

/// How soon held responses are looked at again while any is held.
const HELD_CHECK: Duration = Duration::from_millis(1);

/// What the ingress starts with.
pub struct IngressSpec {
    /// `[sip]`.
    pub sip: SipConfig,
    /// `[[trunk]]`.
    pub trunks: Vec<TrunkConfig>,
    /// Starts the owner of each admitted call.
    pub calls: CallFactory,
    /// Where call starts are journaled.
    pub journal: Starts,
    /// The AI voice agent's address: its requests are taken like a trunk's.
    pub agent_ip: Option<IpAddr>,
    /// This node's modems, for the `OPTIONS` checks of peer nodes.
    pub node_view: crate::routing::NodeViewCell,
    /// Where `MESSAGE` requests go as SMS (`None`: 405).
    pub sms: Option<Recipient<crate::sms::SendSms>>,
}

impl std::fmt::Debug for IngressSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngressSpec")
            .field("sip", &self.sip)
            .field("trunks", &self.trunks.len())
            .finish_non_exhaustive()
    }
}

/// Why the ingress could not start.
#[derive(Debug, thiserror::Error)]
pub enum IngressError {
    /// A listener is malformed (checked by config validation).
    #[error("listener {0}: {1}")]
    Listen(String, String),
    /// A socket could not be bound.
    #[error("cannot bind {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
}

pub(super) struct CallEntry {
    pub(super) recipient: Recipient<CallIn>,
    pub(super) call_ids: Vec<String>,
    pub(super) txs: Vec<TxId>,
    /// The trunk it came in on (`None`: a leg the gateway opened, see [`OpenLeg`]).
    pub(super) trunk: Option<usize>,
    /// The call's start in the journal: no response but 100 Trying leaves before it is
    /// written (`None`: nothing to wait for).
    pub(super) ticket: Option<Ticket>,
}

/// The SIP ingress actor. See the module docs.
pub struct SipIngress {
    pub(super) layer: TransactionLayer,
    pub(super) udp: Vec<(SocketAddr, Arc<UdpSocket>)>,
    pub(super) tcp_listen: Vec<SocketAddr>,
    pub(super) tcp_conns: HashMap<SocketAddr, mpsc::UnboundedSender<Vec<u8>>>,
    pub(super) tcp_pending: HashMap<SocketAddr, Vec<Vec<u8>>>,
    pub(super) policy: Policy,
    pub(super) journal: Starts,
    /// Responses held until their call's start is written, in order.
    pub(super) held: std::collections::VecDeque<(Ticket, TxId, Response)>,
    /// A check of the held responses is due soon (they are looked at every millisecond
    /// while any is held, not only at the 10 ms tick).
    pub(super) held_check: bool,
    pub(super) ids: IdGen,
    pub(super) trunks: TrunkTable,
    flood: SourceLimiter,
    pub(super) unknown_source: UnknownSource,
    pub(super) calls: HashMap<u64, CallEntry>,
    pub(super) by_call_id: HashMap<String, u64>,
    pub(super) tx_owner: HashMap<TxId, u64>,
    /// Call-ID and method of the requests calls sent, for their time-outs.
    pub(super) sent: HashMap<TxId, (String, Method)>,
    next_call: u64,
    factory: CallFactory,
    pub(super) local: Arc<LocalSip>,
    /// This actor, for connections it opens and for the calls it starts.
    pub(super) me: Option<Addr<Self>>,
    pub(super) undialable_status: u16,
    pub(super) stats: IngressStats,
    limits: Limits,
    agent_ip: Option<IpAddr>,
    pub(super) node_view: crate::routing::NodeViewCell,
    pub(super) sms: Option<Recipient<crate::sms::SendSms>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Inside `flush`: a nested flush (a reply sent while handling an event) leaves its
    /// output to the outer one, so responses leave in the order they were produced.
    flushing: bool,
}

impl std::fmt::Debug for SipIngress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipIngress")
            .field("calls", &self.calls.len())
            .finish()
    }
}

pub(super) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

pub(super) fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub(super) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    t ^ (u64::from(std::process::id()) << 32)
}

impl SipIngress {
    /// Binds every listener, then starts the actor. Call inside an actix `System`.
    pub async fn start(spec: IngressSpec) -> Result<Addr<Self>, IngressError> {
        let mut udp_std = Vec::new();
        let mut tcp_std = Vec::new();
        for l in &spec.sip.listen {
            let listen = parse_listen(l).map_err(|e| IngressError::Listen(l.clone(), e))?;
            match listen.transport {
                Transport::Udp => udp_std.push(
                    transport::bind_udp(listen.addr)
                        .map_err(|e| IngressError::Bind(listen.addr, e))?,
                ),
                Transport::Tcp => tcp_std.push(
                    transport::bind_tcp(listen.addr)
                        .map_err(|e| IngressError::Bind(listen.addr, e))?,
                ),
            }
        }
        let sip = spec.sip.clone();
        let timers = Timers {
            t1: Duration::from_millis(sip.t1_ms),
            t2: Duration::from_millis(sip.t2_ms),
            t4: Duration::from_millis(sip.t4_ms),
        };
        let limits = Limits {
            max_message: sip.max_message_bytes,
            max_headers: sip.max_header_bytes,
            max_body: sip.max_body_bytes,
        };
        let ids = IdGen::new(seed(), &sip.node_id);
        let product = Some(sip.user_agent.clone()).filter(|p| !p.is_empty());
        let policy = Policy {
            allow: vec![
                Method::Invite,
                Method::Ack,
                Method::Bye,
                Method::Cancel,
                Method::Options,
                Method::Update,
                Method::Info,
                Method::Register,
                Method::Message,
                Method::Refer,
            ],
            // No option tags: 100rel and session timers (RFC 4028) are not implemented,
            // so a Require of either gets 420.
            supported: Vec::new(),
            loop_branch_prefix: ids.prefix().to_string(),
            limits,
            product: product.clone(),
        };
        let mut secret = seed().to_le_bytes().to_vec();
        secret.extend_from_slice(&seed().rotate_left(17).to_le_bytes());
        let agent_ip = spec.agent_ip;
        let node_view = spec.node_view.clone();
        let sms = spec.sms.clone();
        // The SIP path gets its own thread: sockets, parsing, transactions and the call
        // actors (which talk to the ingress for every message) live there; modems, the
        // router and the recorder stay on the main arbiter.
        let arbiter = actix::Arbiter::new();
        let addr = Self::start_in_arbiter(&arbiter.handle(), move |ctx| {
            let mut tasks = Vec::new();
            let mut udp = Vec::new();
            for s in udp_std {
                match s
                    .local_addr()
                    .and_then(|local| Ok((local, UdpSocket::from_std(s)?)))
                {
                    Ok((local, s)) => {
                        info!(transport = "udp", addr = %local, "SIP listener ready.");
                        let s = Arc::new(s);
                        tasks.push(transport::spawn_udp_reader(s.clone(), ctx.address()));
                        udp.push((local, s));
                    }
                    Err(e) => warn!(error = %e, "UDP listener lost."),
                }
            }
            let mut tcp_listen = Vec::new();
            for l in tcp_std {
                match l
                    .local_addr()
                    .and_then(|local| Ok((local, TcpListener::from_std(l)?)))
                {
                    Ok((local, l)) => {
                        info!(transport = "tcp", addr = %local, "SIP listener ready.");
                        tcp_listen.push(local);
                        tasks.push(transport::spawn_tcp_listener(l, limits, ctx.address()));
                    }
                    Err(e) => warn!(error = %e, "TCP listener lost."),
                }
            }
            let local = LocalSip::from_listeners(
                sip.advertise.as_deref(),
                &udp.iter().map(|(a, _)| *a).collect::<Vec<_>>(),
                &tcp_listen,
            );
            SipIngress {
                layer: TransactionLayer::new(timers).with_product(product.clone()),
                udp,
                tcp_listen,
                tcp_conns: HashMap::new(),
                tcp_pending: HashMap::new(),
                policy,
                journal: spec.journal,
                held: std::collections::VecDeque::new(),
                held_check: false,
                ids,
                trunks: TrunkTable::new(&spec.trunks, secret),
                flood: SourceLimiter::new(sip.flood_rate, sip.flood_burst, 100_000),
                unknown_source: sip.unknown_source,
                calls: HashMap::new(),
                by_call_id: HashMap::new(),
                tx_owner: HashMap::new(),
                sent: HashMap::new(),
                next_call: 1,
                factory: spec.calls,
                local: Arc::new(local),
                me: Some(ctx.address()),
                undialable_status: sip.undialable_status,
                stats: IngressStats::default(),
                limits,
                agent_ip,
                node_view,
                sms,
                tasks,
                flushing: false,
            }
        });
        // The arbiter runs until the system stops.
        std::mem::forget(arbiter);
        Ok(addr)
    }

    // === sending ===

    pub(super) fn send(&mut self, to: Peer, bytes: &[u8]) {
        self.stats.messages.count(bytes, Direction::Out);
        match to.transport {
            Transport::Udp => {
                let sock = self
                    .udp
                    .iter()
                    .find(|(l, _)| l.is_ipv4() == to.addr.is_ipv4())
                    .or_else(|| self.udp.first());
                match sock {
                    Some((_, s)) => {
                        if s.try_send_to(bytes, to.addr).is_err() {
                            self.stats.send_failures += 1;
                        }
                    }
                    None => self.stats.send_failures += 1,
                }
            }
            Transport::Tcp => match self.tcp_conns.get(&to.addr) {
                Some(tx) => {
                    if tx.send(bytes.to_vec()).is_err() {
                        self.stats.send_failures += 1;
                    }
                }
                None => {
                    let q = self.tcp_pending.entry(to.addr).or_default();
                    if q.is_empty() {
                        // First message for this peer: connect (the queue drains on ConnOpened).
                        q.push(bytes.to_vec());
                        self.connect(to.addr);
                    } else if q.len() < 64 {
                        q.push(bytes.to_vec());
                    }
                }
            },
        }
    }

    fn connect(&mut self, to: SocketAddr) {
        if let Some(me) = self.me.clone() {
            transport::spawn_connect(to, self.limits, me);
        }
    }

    /// Hands the transaction layer's events out, then sends what it produced. Events go
    /// first so a new call's start is journaled before its 100 Trying leaves.
    pub(super) fn flush(&mut self, ctx: &mut Context<Self>) {
        if self.flushing {
            return;
        }
        self.flushing = true;
        loop {
            let mut sends = Vec::new();
            while let Some(out) = self.layer.poll_output() {
                match out {
                    Output::Send { to, bytes } => sends.push((to, bytes)),
                    Output::Event(ev) => self.on_event(ev, ctx),
                }
            }
            if sends.is_empty() {
                self.flushing = false;
                return;
            }
            for (to, bytes) in sends {
                self.send(to, &bytes);
            }
        }
    }

    // === receiving ===

    pub(super) fn on_bytes(&mut self, bytes: &[u8], from: Peer, ctx: &mut Context<Self>) {
        let t = now();
        self.handle_bytes(bytes, from, t, ctx);
        let us = now().saturating_duration_since(t).as_micros();
        self.stats
            .handler_us
            .observe(u64::try_from(us).unwrap_or(u64::MAX));
    }

    fn handle_bytes(
        &mut self,
        bytes: &[u8],
        from: Peer,
        t: std::time::Instant,
        ctx: &mut Context<Self>,
    ) {
        self.stats.received += 1;
        self.stats.messages.count(bytes, Direction::In);
        if !self.flood.allow(from.addr.ip(), t) {
            self.stats.flooded += 1;
            return;
        }
        let known = self.trunks.match_source(from.addr.ip()).is_some()
            || self.agent_ip == Some(from.addr.ip());
        if !known && self.unknown_source == UnknownSource::Drop {
            self.stats.unknown_source += 1;
            return;
        }
        let tag = self.ids.tag();
        let checked = match from.transport {
            Transport::Udp => inbound::from_datagram(bytes, &self.policy, &tag),
            Transport::Tcp => inbound::from_message(bytes, &self.policy, &tag),
        };
        match checked {
            Ok(Inbound::Request(req)) if !known => self.refuse_stranger(&req, from, &tag),
            Ok(Inbound::Request(mut req)) => {
                stamp_via(&mut req, from.addr);
                self.layer.on_request(t, req, from);
            }
            Ok(Inbound::Response(resp)) => self.layer.on_response(t, resp, from),
            Err(rej) => {
                self.stats.malformed += 1;
                debug!(source = %from, reason = %rej.reason, status = ?rej.status, "Malformed SIP message.");
                // Strangers learn nothing: only known sources get the error response.
                if let (Some(resp), true) = (rej.response, known) {
                    self.send(from, &resp);
                }
            }
        }
        self.flush(ctx);
    }

    /// A request from a source no trunk allows: 403 without any transaction state and
    /// without naming the product (or nothing, in drop mode), sent to the source address.
    fn refuse_stranger(&mut self, req: &e173gw_core::sip::Request, from: Peer, tag: &str) {
        self.stats.unknown_source += 1;
        debug!(source = %from, method = %req.method, "Request from an unknown source refused.");
        if self.unknown_source == UnknownSource::Reject && req.method != Method::Ack {
            let resp = e173gw_core::sip::build::response(req, 403, Some(tag));
            self.send(from, &resp.to_bytes());
        }
    }

    fn on_event(&mut self, ev: TuEvent, ctx: &mut Context<Self>) {
        match ev {
            TuEvent::Request { tx, req, from } => self.on_request(tx, req, from, ctx),
            TuEvent::Cancel { invite_tx, req, .. } => {
                if let Some(r) = self.owner_by_call_id(&req.headers) {
                    r.do_send(CallIn::Cancel { invite_tx });
                }
            }
            TuEvent::Ack { req, .. } => {
                if let Some(r) = self.owner_by_call_id(&req.headers) {
                    r.do_send(CallIn::Ack { req });
                }
            }
            TuEvent::Response { tx, resp } => {
                if let Some(r) = self.owner_by_tx(tx) {
                    r.do_send(CallIn::Response { tx, resp });
                }
            }
            TuEvent::StrayResponse { resp, .. } => {
                if let Some(r) = self.owner_by_call_id(&resp.headers) {
                    r.do_send(CallIn::Stray { resp });
                }
            }
            TuEvent::Timeout { tx } => {
                let (call_id, method) = self
                    .sent
                    .remove(&tx)
                    .unwrap_or((String::new(), Method::Options));
                if let Some(r) = self.owner_by_tx(tx) {
                    r.do_send(CallIn::Timeout {
                        tx,
                        call_id,
                        method,
                    });
                }
            }
            TuEvent::NoAck { tx } => {
                if let Some(r) = self.owner_by_tx(tx) {
                    r.do_send(CallIn::NoAck { tx });
                }
            }
        }
    }

    fn owner_by_call_id(&self, h: &e173gw_core::sip::Headers) -> Option<&Recipient<CallIn>> {
        let key = self.by_call_id.get(headers::call_id(h)?)?;
        self.calls.get(key).map(|c| &c.recipient)
    }

    fn owner_by_tx(&self, tx: TxId) -> Option<&Recipient<CallIn>> {
        self.calls
            .get(self.tx_owner.get(&tx)?)
            .map(|c| &c.recipient)
    }

    /// Routes an in-dialog request to its call; `false` when no call owns it.
    pub(super) fn route_in_dialog(
        &mut self,
        tx: TxId,
        req: e173gw_core::sip::Request,
        from: Peer,
    ) -> bool {
        let Some(key) = headers::call_id(&req.headers)
            .and_then(|c| self.by_call_id.get(c))
            .copied()
        else {
            return false;
        };
        let Some(entry) = self.calls.get_mut(&key) else {
            return false;
        };
        entry.txs.push(tx);
        self.tx_owner.insert(tx, key);
        entry.recipient.do_send(CallIn::Request { tx, req, from });
        true
    }

    /// Registers a new call (already admitted) and starts its owner.
    pub(super) fn start_call(
        &mut self,
        tx: TxId,
        req: e173gw_core::sip::Request,
        from: Peer,
        trunk: usize,
        parties: Parties,
    ) {
        let Some(me) = self.me.clone() else { return };
        let key = self.next_call;
        self.next_call += 1;
        let call_id = headers::call_id(&req.headers)
            .unwrap_or_default()
            .to_string();
        let (name, target) = self
            .trunks
            .describe(trunk)
            .map_or(("?", Default::default()), |(n, t)| (n, t));
        // Journal the start before the call does anything: no response but 100 Trying
        // leaves before it is written, so a call the caller saw taken always has one
        // record, even after a crash.
        let received_ms = unix_ms();
        let start = e173gw_core::record::CallStart {
            call_id: call_id.clone(),
            trunk: Some(name.to_string()),
            caller: parties.caller.as_str().to_string(),
            callee: parties.callee.as_str().to_string(),
            received_ms,
        };
        let ticket = match self.journal.start(start) {
            Ok(t) => t,
            Err(e) => {
                warn!(call_id = %call_id, error = %e, "Call refused: its start cannot be journaled.");
                self.trunks.call_ended(trunk);
                self.stats.journal_refusals += 1;
                let mut resp = e173gw_core::sip::build::response(&req, 503, Some(&self.ids.tag()));
                resp.headers
                    .push(e173gw_core::sip::build::header("Retry-After", "1"));
                if let Err(e) = self.layer.respond(now(), tx, resp) {
                    debug!(error = %e, "Reply not sent.");
                }
                return;
            }
        };
        let from_peer = self.trunks.is_peer(trunk);
        let recipient = (self.factory)(NewCall {
            key,
            tx,
            invite: req,
            from,
            trunk: name.to_string(),
            target,
            from_peer,
            parties,
            received_ms,
            local: self.local.clone(),
            sip: me.recipient(),
        });
        self.by_call_id.insert(call_id.clone(), key);
        self.tx_owner.insert(tx, key);
        self.calls.insert(
            key,
            CallEntry {
                recipient,
                call_ids: vec![call_id],
                txs: vec![tx],
                trunk: Some(trunk),
                ticket: Some(ticket),
            },
        );
        self.stats.calls += 1;
        self.stats.active_calls += 1;
    }

    /// Sends a call's response, or holds it (with any response already held) until the
    /// call's start is written to the journal.
    pub(super) fn respond(&mut self, tx: TxId, resp: Response, ctx: &mut Context<Self>) {
        let ticket = self
            .tx_owner
            .get(&tx)
            .and_then(|k| self.calls.get(k))
            .and_then(|c| c.ticket);
        match ticket {
            Some(t) if !self.held.is_empty() || !self.journal.is_written(t) => {
                self.held.push_back((t, tx, resp));
                self.check_held_soon(ctx);
            }
            _ => {
                if let Err(e) = self.layer.respond(now(), tx, resp) {
                    debug!(error = %e, "Response not sent.");
                }
                self.flush(ctx);
            }
        }
    }

    /// Looks at the held responses again in a millisecond (the recorder writes a batch of
    /// starts within a few), and so on while any is held.
    fn check_held_soon(&mut self, ctx: &mut Context<Self>) {
        if self.held_check {
            return;
        }
        self.held_check = true;
        ctx.run_later(HELD_CHECK, |act, ctx| {
            act.held_check = false;
            act.release_held(ctx);
            if !act.held.is_empty() {
                act.check_held_soon(ctx);
            }
        });
    }

    /// Sends the held responses whose call starts are written, in order.
    pub(super) fn release_held(&mut self, ctx: &mut Context<Self>) {
        while let Some((t, _, _)) = self.held.front() {
            if !self.journal.is_written(*t) {
                break;
            }
            if let Some((_, tx, resp)) = self.held.pop_front() {
                if let Err(e) = self.layer.respond(now(), tx, resp) {
                    debug!(error = %e, "Response not sent.");
                }
            }
        }
        self.flush(ctx);
    }

    pub(super) fn finish_call(&mut self, key: u64) {
        if let Some(entry) = self.calls.remove(&key) {
            for c in entry.call_ids {
                self.by_call_id.remove(&c);
            }
            for t in entry.txs {
                self.tx_owner.remove(&t);
                self.sent.remove(&t);
            }
            if let Some(t) = entry.trunk {
                self.trunks.call_ended(t);
            }
            self.stats.active_calls = self.stats.active_calls.saturating_sub(1);
        }
    }
}

/// Register a SIP leg the gateway opens itself (an inbound GSM call's): messages of the
/// Call-IDs it watches go to `0`, as for a call. The answer is the key its
/// [`SipOut`](super::SipOut) messages name, and this node's SIP addresses.
#[derive(Message, Debug)]
#[rtype(result = "(u64, Arc<LocalSip>)")]
pub struct OpenLeg(pub Recipient<super::CallIn>);

impl Handler<OpenLeg> for SipIngress {
    type Result = MessageResult<OpenLeg>;

    fn handle(&mut self, msg: OpenLeg, _: &mut Context<Self>) -> Self::Result {
        let key = self.next_call;
        self.next_call += 1;
        self.calls.insert(
            key,
            CallEntry {
                recipient: msg.0,
                call_ids: Vec::new(),
                txs: Vec::new(),
                trunk: None,
                ticket: None,
            },
        );
        self.stats.calls += 1;
        self.stats.active_calls += 1;
        MessageResult((key, self.local.clone()))
    }
}

impl Actor for SipIngress {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(1_000_000);
        ctx.run_interval(Duration::from_millis(10), |act, ctx| {
            act.release_held(ctx);
            act.layer.on_timer(now());
            act.flush(ctx);
        });
        ctx.run_interval(Duration::from_secs(10), |act, _| act.flood.sweep(now()));
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
