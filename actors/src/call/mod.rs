//! The call actor: one per call, the shell around a [`CallSession`] (the back-to-back user
//! agent's state machines, in core). It feeds the session what happens (the ingress's
//! transaction-user events, the router's decision, the modem's progress, timers) and
//! carries out what the session asks (responses and requests through the ingress, route
//! and lease requests to the router, dial and hang-up to the modem, RTP, timers, the
//! record). The RTP bridge to the modem's PCM port lives here ([`media`]): it is I/O.
//!
//! [`CallSession`]: e173gw_core::call::CallSession

mod actor;
mod inbound;
mod media;

use std::net::IpAddr;
use std::sync::Arc;

use actix::prelude::*;

use e173gw_core::call::CallConfig;
use e173gw_core::config::sip::MediaConfig;

pub use inbound::{InboundCall, InboundDesk};
pub use media::PortPool;

use crate::ingress::{CallFactory, CallIn, NewCall};
use crate::recorder::Records;
use crate::routing::{CallUsage, Release, RouteRequest};

/// What every call needs from the rest of the gateway.
#[derive(Debug, Clone)]
pub struct CallEnv {
    /// The filter pipeline (`None`: calls are not screened), and whether it has any
    /// stage now (when not, calls skip it).
    pub filter: Option<(
        Recipient<crate::filter::Screen>,
        Arc<std::sync::atomic::AtomicBool>,
    )>,
    /// The router.
    pub router: Recipient<RouteRequest>,
    /// Where leased modems are given back.
    pub release: Recipient<Release>,
    /// Where a finished call's usage is counted.
    pub usage: Recipient<CallUsage>,
    /// Where call records go (the recorder's journal).
    pub records: Records,
    /// RTP settings.
    pub media: MediaConfig,
    /// Shared RTP port pool.
    pub ports: Arc<PortPool>,
    /// Node id (Call-IDs and branches).
    pub node_id: String,
    /// Timing of calls.
    pub timing: CallConfig,
    /// Where finished calls' ladders go (`None`: no ladders).
    pub ladders: Option<crate::board::LadderBook>,
}

impl CallEnv {
    /// The address written in our SDP.
    fn advertise(&self, sip_host: &str) -> IpAddr {
        let m = &self.media;
        m.advertise.unwrap_or_else(|| {
            if m.bind.is_unspecified() {
                sip_host.parse().unwrap_or(m.bind)
            } else {
                m.bind
            }
        })
    }
}

/// Starts a call actor on the current thread (the SIP ingress's).
pub fn start(env: Arc<CallEnv>, new: NewCall) -> Recipient<CallIn> {
    actor::CallActor::new(env, new).start().recipient()
}

/// The factory the ingress starts calls with.
pub fn factory(env: CallEnv) -> CallFactory {
    let env = Arc::new(env);
    Arc::new(move |new| start(env.clone(), new))
}
