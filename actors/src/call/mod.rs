//! The call actor: one per call, a back-to-back user agent between the caller's trunk leg
//! (UAS) and either a modem (through its modem actor, with RTP bridged to the modem's PCM
//! port) or the AI voice agent (a UAC leg with the SDP relayed). It answers CANCEL and BYE
//! on either side, fails over to the next modem when a modem fails for a reason of the
//! gateway's own, and sends exactly one call record when it ends, whatever happened.

mod actor;
mod agent_leg;
mod media;
mod modem_leg;
mod record;
mod trunk_leg;
mod usage;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use e173gw_core::config::sip::{MediaConfig, Target};
use e173gw_core::sip::dialog::Local;
use e173gw_core::sip::transaction::TxId;
use e173gw_core::sip::{Peer, Request, Transport};

pub use media::PortPool;

pub(crate) use actor::{callee_of, caller_of};

use crate::ingress::{CallIn, SipIngress};
use crate::recorder::Records;
use crate::routing::{AgentTarget, Release, RouteRequest};

/// What every call needs from the rest of the gateway.
#[derive(Debug, Clone)]
pub struct CallSeed {
    /// The router.
    pub router: Recipient<RouteRequest>,
    /// Where leased modems are given back.
    pub release: Recipient<Release>,
    /// Where call records go (the recorder's journal).
    pub records: Records,
    /// The AI voice agent, when configured.
    pub agent: Option<AgentTarget>,
    /// RTP settings.
    pub media: MediaConfig,
    /// Shared RTP port pool.
    pub ports: Arc<PortPool>,
    /// Node id (Call-IDs and branches).
    pub node_id: String,
    /// Storage: sticky routes, counters, inventory.
    pub stores: e173gw_core::ports::Stores,
    /// How long sticky routes last (`None`: no sticky routing).
    pub sticky_ttl: Option<Duration>,
}

/// How this gateway addresses itself in SIP.
#[derive(Debug, Clone)]
pub struct LocalSip {
    /// For UDP.
    pub udp: Option<Local>,
    /// For TCP.
    pub tcp: Option<Local>,
    /// Host written in From and SDP.
    pub host: String,
}

fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

impl LocalSip {
    /// From the bound listeners; `advertise` replaces unspecified addresses.
    pub fn from_listeners(advertise: Option<&str>, udp: &[SocketAddr], tcp: &[SocketAddr]) -> Self {
        let pick = |a: &SocketAddr| -> String {
            match advertise {
                Some(h) => h.to_string(),
                None if a.ip().is_unspecified() => "127.0.0.1".to_string(),
                None => a.ip().to_string(),
            }
        };
        let local = |a: &SocketAddr, t: Transport| {
            let hp = host_port(&pick(a), a.port());
            let contact = match t {
                Transport::Udp => format!("sip:e173gw@{hp}"),
                Transport::Tcp => format!("sip:e173gw@{hp};transport=tcp"),
            };
            Local {
                sent_by: hp,
                transport: t,
                contact,
            }
        };
        let host = udp
            .first()
            .or(tcp.first())
            .map_or_else(|| "127.0.0.1".to_string(), pick);
        Self {
            udp: udp.first().map(|a| local(a, Transport::Udp)),
            tcp: tcp.first().map(|a| local(a, Transport::Tcp)),
            host,
        }
    }

    /// Our addressing for a transport (falls back to the other one).
    pub fn for_transport(&self, t: Transport) -> Local {
        let (first, second) = match t {
            Transport::Udp => (&self.udp, &self.tcp),
            Transport::Tcp => (&self.tcp, &self.udp),
        };
        first
            .clone()
            .or_else(|| second.clone())
            .unwrap_or_else(|| Local {
                sent_by: "127.0.0.1:5060".into(),
                transport: t,
                contact: "sip:e173gw@127.0.0.1:5060".into(),
            })
    }
}

/// The seed plus what the ingress adds once its sockets are bound.
#[derive(Debug)]
pub struct CallEnv {
    pub(crate) seed: CallSeed,
    pub(crate) ingress: Addr<SipIngress>,
    pub(crate) local: LocalSip,
    pub(crate) max_duration: Duration,
    pub(crate) arbiter: actix::ArbiterHandle,
}

impl CallEnv {
    /// Built by the ingress.
    pub fn new(
        seed: CallSeed,
        ingress: Addr<SipIngress>,
        local: LocalSip,
        max_duration_s: u64,
        arbiter: actix::ArbiterHandle,
    ) -> Self {
        Self {
            seed,
            ingress,
            local,
            max_duration: Duration::from_secs(max_duration_s),
            arbiter,
        }
    }
}

/// An admitted INVITE.
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
    /// The trunk's default target.
    pub target: Target,
    /// When the INVITE arrived (Unix ms), as journaled.
    pub received_ms: u64,
}

/// Starts a call actor on the calls' arbiter.
pub fn start(env: Arc<CallEnv>, new: NewCall) -> Recipient<CallIn> {
    let arbiter = env.arbiter.clone();
    actor::CallActor::start_in_arbiter(&arbiter, move |_| actor::CallActor::new(env, new))
        .recipient()
}
