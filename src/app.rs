//! Starting and stopping the gateway.

use std::time::Duration;

use actix::prelude::*;
use tracing::{info, warn};

use std::sync::Arc;

use e173gw_actors::call::{self, CallEnv, PortPool};
use e173gw_actors::filter::{FilterActor, Lookups};
use e173gw_actors::gateway::PeerGateway;
use e173gw_actors::gateway::{GatewaySpec, LocalGateway, Shutdown, SubscribeModems};
use e173gw_actors::ingress::{IngressError, IngressSpec, SipIngress};
use e173gw_actors::modem::{ModemSpec, PortPaths};
use e173gw_actors::recorder::{DrainRecords, JsonlSink, LogSink, Recorder, RecorderSpec};
use e173gw_actors::routing::{FlushUsage, NodeViewCell, Router};
use e173gw_actors::sim::{self, SimHandle};
use e173gw_core::at::recovery::ExponentialBackoff;
use e173gw_core::call::CallConfig;
use e173gw_core::filter::{Rules, Stage};
use e173gw_core::ports::RecordSink;
use e173gw_core::routing::AgentTarget;
use e173gw_core::sip::Peer;

use crate::providers::{Guarded, HttpLookup, ProviderError};
use crate::settings::Settings;
use crate::storage;

/// Why the gateway could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The in-process simulator failed to start.
    #[error("simulator: {0}")]
    Sim(#[from] sim::SimError),
    /// A profile named by the config is not loaded (checked earlier; kept for safety).
    #[error("profile {0:?} is not loaded")]
    Profile(String),
    /// Bad recovery settings (checked earlier; kept for safety).
    #[error("recovery: {0}")]
    Backoff(#[from] e173gw_core::at::recovery::InvalidBackoff),
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
    /// The SIP listeners could not start.
    #[error("SIP: {0}")]
    Sip(#[from] IngressError),
    /// The records file could not be opened.
    #[error("records file {0}: {1}")]
    Records(std::path::PathBuf, std::io::Error),
    /// Storage could not be opened.
    #[error("storage: {0}")]
    Storage(#[from] crate::storage::StorageError),
    /// The record spool could not be opened.
    #[error("record spool {0}: {1}")]
    Spool(std::path::PathBuf, std::io::Error),
    /// A lookup provider could not be set up.
    #[error("filter provider: {0}")]
    Provider(#[from] ProviderError),
    /// The HTTP client (webhooks) could not be set up.
    #[error("HTTP client: {0}")]
    HttpClient(String),
    /// The HTTP server could not listen.
    #[error("HTTP server on {0}: {1}")]
    Http(std::net::SocketAddr, std::io::Error),
}

/// A running gateway.
#[derive(Debug)]
pub struct App {
    /// This host's modems.
    pub gateway: Addr<LocalGateway>,
    /// The in-process simulator, when `sim.enabled`.
    pub sim: Option<SimHandle>,
    /// The SIP side.
    pub ingress: Addr<SipIngress>,
    /// The router.
    pub router: Addr<Router>,
    /// The filter pipeline.
    pub filter: Addr<FilterActor>,
    /// The recorder.
    pub recorder: Addr<Recorder>,
    /// The Redis-backed ports (production), for health.
    pub shared:
        Option<Arc<crate::adapters::resilient::Resilient<crate::adapters::redis::RedisStore>>>,
    /// The operations HTTP server, when `[http] listen` is set: its address and handle.
    pub http: Option<(std::net::SocketAddr, actix_web::dev::ServerHandle)>,
}

/// Builds the gateway's start-up spec from the settings.
pub fn gateway_spec(s: &Settings) -> Result<GatewaySpec, AppError> {
    let c = &s.config;
    let backoff = ExponentialBackoff::try_new(
        Duration::from_millis(c.recovery.backoff_min_ms),
        Duration::from_millis(c.recovery.backoff_max_ms),
    )?;
    let mut modems = Vec::new();
    for dev in c.modems.device.iter().filter(|d| d.enabled) {
        let profile = s
            .profile(dev.profile.as_deref())
            .ok_or_else(|| AppError::Profile(dev.profile.clone().unwrap_or_default()))?;
        let ports = match (&dev.at_port, &dev.audio_port) {
            (Some(at), Some(audio)) => Some(PortPaths {
                at: s.resolve(at),
                audio: s.resolve(audio),
            }),
            _ => None,
        };
        modems.push(ModemSpec {
            id: dev.id.clone(),
            profile,
            ports,
            expect_imei: dev.imei.clone(),
            backoff,
        });
    }
    let mut discovery = c.modems.discovery.clone();
    if !discovery.at_glob.is_empty() {
        discovery.at_glob = s
            .resolve(std::path::Path::new(&discovery.at_glob))
            .to_string_lossy()
            .into_owned();
    }
    let default_profile = s
        .profile(None)
        .ok_or_else(|| AppError::Profile(c.modems.default_profile.clone()))?;
    Ok(GatewaySpec {
        modems,
        discovery,
        profiles: s.profiles.clone(),
        default_profile,
        backoff,
        inventory: None,
        quarantine: c.recovery.quarantine(),
    })
}

/// Starts storage, the recorder (replaying its spool), the simulator (when enabled), the
/// gateway and the SIP side. Call inside an actix `System`.
pub async fn start(s: &Settings) -> Result<App, AppError> {
    let c = &s.config;
    let opened = storage::open(&c.storage, &s.base_dir).await?;
    let stores = opened.stores.clone();
    let mut sinks: Vec<Box<dyn RecordSink>> = Vec::new();
    if c.records.log {
        sinks.push(Box::new(LogSink));
    }
    if let Some(p) = &c.records.jsonl_path {
        let path = s.resolve(p);
        sinks.push(Box::new(
            JsonlSink::open(&path).map_err(|e| AppError::Records(path.clone(), e))?,
        ));
    }
    let spool_dir = s.resolve(&c.storage.spool_dir);
    let mut recorder = Recorder::open(RecorderSpec {
        spool_dir: spool_dir.clone(),
        segment_bytes: 64 << 20,
        store: stores.records.clone(),
        sinks,
    })
    .map_err(|e| AppError::Spool(spool_dir.clone(), e))?;
    // The recorder writes and syncs the spool: its own thread, so disk waits stall no call.
    let journal = recorder
        .take_journal()
        .ok_or_else(|| AppError::Spool(spool_dir, std::io::Error::other("journal taken")))?;
    let recorder = Recorder::start_in_arbiter(&actix::Arbiter::new().handle(), move |_| recorder);
    let sim = if c.sim.enabled {
        Some(sim::start(&c.sim, &s.base_dir).await?)
    } else {
        None
    };
    let mut spec = gateway_spec(s)?;
    spec.inventory = Some(stores.inventory.clone());
    let gateway = LocalGateway::new(spec).start();
    let agent = e173gw_core::sip::headers::uri_target(&c.agent.uri).map(|addr| AgentTarget {
        uri: c.agent.uri.clone(),
        peer: Peer {
            addr,
            transport: c.agent.transport.into(),
        },
        answer_timeout: Duration::from_secs(c.agent.answer_timeout_s),
    });
    let agent_ip = agent.as_ref().map(|a| a.peer.addr.ip());
    let filter = FilterActor::new(
        s.rules.clone(),
        stores.clone(),
        lookups(&s.rules)?,
        Duration::from_millis(c.filter.budget_ms),
    );
    let filter_active = filter.active_flag();
    let filter = filter.start();
    let node_view = NodeViewCell::default();
    let inbound_agent = agent.clone();
    let router = Router::new(c.routing.clone(), agent, stores)
        .serving(node_view.clone(), c.sip.node_id.clone())
        .start();
    for p in &c.peer {
        // Checks leave from this node's SIP address, the one its peers know as a trunk.
        let peer_ip = e173gw_core::sip::headers::uri_target(&p.uri).map(|a| a.ip());
        let bind = c
            .sip
            .listen
            .iter()
            .filter_map(|l| e173gw_core::config::sip::parse_listen(l).ok())
            .map(|l| l.addr.ip())
            .find(|ip| peer_ip.is_none_or(|p| p.is_ipv4() == ip.is_ipv4()))
            .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into());
        match PeerGateway::new(
            p.clone(),
            c.sip.node_id.clone(),
            bind,
            router.clone().recipient(),
        ) {
            Some(g) => {
                info!(peer = %p.name, uri = %p.uri, "Checking peer node.");
                g.start();
            }
            None => warn!(peer = %p.name, uri = %p.uri, "Peer node without an address; not used."),
        }
    }
    let reload = crate::reload::Reloader::new(
        s,
        filter.clone(),
        router.clone().recipient(),
        Box::new(e173gw_core::config::env::ProcessEnv),
    )
    .spawn();
    let ladders = e173gw_actors::board::LadderBook::new(c.http.ladder_calls);
    gateway.do_send(SubscribeModems(router.clone().recipient()));
    let sms = e173gw_actors::sms::SmsCenter::new(e173gw_actors::sms::SmsSpec {
        sms: c.sms.clone(),
        ussd: c.ussd.clone(),
        store: opened.stores.messages.clone(),
        counters: opened.stores.counters.clone(),
        rest: Some(router.clone().recipient()),
        http: crate::providers::http::client_builder(Duration::from_secs(10))
            .build()
            .map_err(|e| AppError::HttpClient(e.to_string()))?,
        sims: Some(router.clone().recipient()),
        route: Some((router.clone().recipient(), router.clone().recipient())),
    })
    .start();
    gateway.do_send(SubscribeModems(sms.clone().recipient()));
    let call_env = CallEnv {
        filter: Some((filter.clone().recipient(), filter_active)),
        router: router.clone().recipient(),
        release: router.clone().recipient(),
        usage: router.clone().recipient(),
        records: journal.records(),
        media: c.media.clone(),
        ports: Arc::new(PortPool::new(c.media.port_min, c.media.port_max)),
        node_id: c.sip.node_id.clone(),
        timing: CallConfig {
            max_duration: Duration::from_secs(c.sip.max_call_duration_s),
            screen: true,
            screen_transfers: c.agent.screen_transfers,
            ..CallConfig::default()
        },
        ladders: Some(ladders.clone()),
    };
    let calls = call::factory(call_env.clone());
    let ingress = SipIngress::start(IngressSpec {
        sip: c.sip.clone(),
        trunks: c.trunk.clone(),
        calls,
        journal,
        agent_ip,
        node_view,
        sms: Some(sms.clone().recipient()),
    })
    .await?;
    if c.inbound.is_on() {
        let desk =
            call::InboundDesk::new(c.inbound.clone(), call_env, ingress.clone(), inbound_agent)
                .start();
        gateway.do_send(SubscribeModems(desk.recipient()));
        info!("Incoming GSM calls are taken ([inbound]).");
    }
    let http = match c.http.addr() {
        Some(addr) => {
            let sources = crate::http::Sources {
                ingress: ingress.clone(),
                recorder: recorder.clone(),
                router: router.clone(),
                filter: filter.clone(),
                shared: opened.shared.clone(),
                ladders,
                stores: opened.stores.clone(),
                reload: Some(reload),
                node_id: c.sip.node_id.clone(),
                sticky_ttl: Duration::from_secs(c.routing.sticky_ttl_s),
                http: Arc::default(),
                started_ms: e173gw_actors::wall_ms(),
                sms: Some(sms.clone()),
                low_balance: c.ussd.low_balance_cents,
            };
            let (bound, handle) = crate::http::start(addr, sources, c.http.api_token.clone())
                .map_err(|e| AppError::Http(addr, e))?;
            info!(addr = %bound, writes = !c.http.api_token.is_empty(), "HTTP server ready (the page at /, the API under /api/, /metrics, /healthz, /readyz).");
            Some((bound, handle))
        }
        None => None,
    };
    Ok(App {
        gateway,
        sim,
        ingress,
        router,
        filter,
        recorder,
        shared: opened.shared,
        http,
    })
}

/// Where the filter's lookups go: the providers the rules' stages name, each behind its
/// guard. A provider whose credential is missing from the environment is an error.
pub fn lookups(rules: &Rules) -> Result<Lookups, ProviderError> {
    let mut l = Lookups::default();
    for st in &rules.stages {
        if let Stage::WhatsApp(w) = st {
            let c = w.config();
            if let Some(p) = &c.provider {
                let http = HttpLookup::new(p.clone(), Duration::from_millis(c.budget_ms))?;
                l.presence = Some(Arc::new(Guarded::new(http, c.guard)));
            }
        }
        if let Stage::Operator(o) = st {
            let c = o.config();
            if let Some(p) = &c.portability {
                let budget = Duration::from_millis(c.portability_budget_ms);
                let http = HttpLookup::new(p.clone(), budget)?;
                l.portability = Some(Arc::new(Guarded::new(http, c.portability_guard)));
            }
        }
    }
    Ok(l)
}

/// What decides whether [`lookups`] must be built again after a reload.
pub fn lookups_key(rules: &Rules) -> String {
    rules
        .stages
        .iter()
        .filter_map(|st| match st {
            Stage::WhatsApp(w) => serde_json::to_string(w.config()).ok(),
            Stage::Operator(o) => serde_json::to_string(&(
                &o.config().portability,
                o.config().portability_budget_ms,
                o.config().portability_guard,
            ))
            .ok(),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("|")
}

/// Runs until SIGINT or SIGTERM, then hangs up calls in progress and stops.
pub async fn run(s: Settings) -> Result<(), AppError> {
    info!(
        config = %s.path.display(),
        devices = s.config.modems.device.len(),
        discovery = ?s.config.modems.discovery.mode,
        profiles = s.profiles.len(),
        "Starting e173gw."
    );
    for o in &s.overrides {
        info!(var = %o.var, key = %o.key, "Environment override applied.");
    }
    // Signals are caught from here on: a SIGTERM during start-up is a clean stop too.
    let signals = Signals::new()?;
    let app = start(&s).await?;
    signals.wait().await;
    info!("Shutting down.");
    if app
        .gateway
        .send(Shutdown {
            grace: Duration::from_secs(3),
        })
        .await
        .is_err()
    {
        warn!("Gateway stopped before shutdown.");
    }
    if let Some(sim) = app.sim {
        sim.stop().await;
    }
    // Give calls a moment to write their records, then force the spool to disk and
    // deliver what the store will take; the rest is delivered at the next start.
    tokio::time::sleep(Duration::from_millis(300)).await;
    if app.router.send(FlushUsage).await.is_err() {
        warn!("Router stopped before its usage was written.");
    }
    if let Ok(st) = app
        .recorder
        .send(DrainRecords {
            timeout: Duration::from_secs(3),
        })
        .await
    {
        info!(
            backlog = st.backlog,
            delivered = st.delivered,
            "Records drained."
        );
    }
    if let Some((_, h)) = app.http {
        h.stop(true).await;
    }
    info!("Stopped.");
    Ok(())
}

struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Self, AppError> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self {
            term: signal(SignalKind::terminate()).map_err(AppError::Signals)?,
            int: signal(SignalKind::interrupt()).map_err(AppError::Signals)?,
        })
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.term.recv() => info!(signal = "SIGTERM", "Signal received."),
            _ = self.int.recv() => info!(signal = "SIGINT", "Signal received."),
        }
    }
}
