//! The local gateway actor.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tracing::{debug, info, warn};

use e173gw_core::at::quarantine::{Quarantine, QuarantineRule};
use e173gw_core::at::recovery::ExponentialBackoff;
use e173gw_core::config::profile::ModemProfile;
use e173gw_core::config::{DiscoveryConfig, DiscoveryMode};
use e173gw_core::domain::{Imei, ModemId};

use super::discovery::{self, Candidate};
use super::probe::probe_imei;
use crate::modem::{
    AttachPorts, LinkState, ModemActor, ModemSpec, ModemStatus, ModemStatusChanged, Subscribe,
};

/// What the gateway is started with.
#[derive(Clone)]
pub struct GatewaySpec {
    /// Configured modems.
    pub modems: Vec<ModemSpec>,
    /// Discovery, with `at_glob` already absolute.
    pub discovery: DiscoveryConfig,
    /// Profiles by name.
    pub profiles: BTreeMap<String, Arc<ModemProfile>>,
    /// Profile for adopted devices that match no USB id.
    pub default_profile: Arc<ModemProfile>,
    /// Backoff for adopted modems.
    pub backoff: ExponentialBackoff,
    /// Where modems and SIMs seen are recorded.
    pub inventory: Option<std::sync::Arc<dyn e173gw_core::ports::InventoryStore>>,
    /// When a modem that keeps failing is kept out of routing.
    pub quarantine: QuarantineRule,
}

impl std::fmt::Debug for GatewaySpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewaySpec")
            .field("modems", &self.modems.len())
            .field("discovery", &self.discovery)
            .finish_non_exhaustive()
    }
}

struct Entry {
    addr: Addr<ModemActor>,
    status: Option<ModemStatus>,
    /// What was last written to the inventory, and when.
    inventoried: Option<(e173gw_core::ports::ModemSeen, tokio::time::Instant)>,
    /// The IMEI this modem is bound to (configured, or learned at init).
    imei: Option<Imei>,
    quarantine: Quarantine,
}

/// This host's modems. See the module docs.
pub struct LocalGateway {
    spec: GatewaySpec,
    subscribers: Vec<Recipient<crate::routing::ModemUpdate>>,
    modems: BTreeMap<ModemId, Entry>,
    scanning: bool,
    /// AT ports that failed a probe, and how many scans to skip them for.
    cooldown: HashMap<PathBuf, u32>,
}

impl std::fmt::Debug for LocalGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalGateway")
            .field("modems", &self.modems.len())
            .finish()
    }
}

impl LocalGateway {
    /// A gateway for `spec`.
    pub fn new(spec: GatewaySpec) -> Self {
        Self {
            spec,
            subscribers: Vec::new(),
            modems: BTreeMap::new(),
            scanning: false,
            cooldown: HashMap::new(),
        }
    }

    fn spawn_modem(&mut self, spec: ModemSpec, ctx: &mut Context<Self>) {
        let id = spec.id.clone();
        let imei = spec.expect_imei.clone();
        let addr = ModemActor::new(spec).start();
        addr.do_send(Subscribe(ctx.address().recipient()));
        self.modems.insert(
            id,
            Entry {
                addr,
                status: None,
                imei,
                inventoried: None,
                quarantine: Quarantine::default(),
            },
        );
    }

    /// Canonical paths of ports held by modems that have them open.
    fn held_ports(&self) -> HashSet<PathBuf> {
        self.modems
            .values()
            .filter_map(|e| e.status.as_ref())
            .filter(|s| s.link == LinkState::Open)
            .filter_map(|s| s.ports.as_ref())
            .flat_map(|p| [p.at.clone(), p.audio.clone()])
            .map(|p| p.canonicalize().unwrap_or(p))
            .collect()
    }

    fn scan(&mut self, ctx: &mut Context<Self>) {
        if self.scanning {
            return;
        }
        let d = &self.spec.discovery;
        let candidates = match d.mode {
            DiscoveryMode::Off => return,
            DiscoveryMode::Glob => discovery::scan_glob(&d.at_glob, &d.at_suffix, &d.audio_suffix),
            DiscoveryMode::Sysfs => {
                discovery::scan_sysfs(&d.sysfs_root, &d.dev_dir, &self.spec.profiles)
            }
        };
        let held = self.held_ports();
        let mut todo = Vec::new();
        for c in candidates {
            let canon = c
                .ports
                .at
                .canonicalize()
                .unwrap_or_else(|_| c.ports.at.clone());
            if held.contains(&canon) {
                continue;
            }
            if let Some(n) = self.cooldown.get_mut(&c.ports.at) {
                if *n > 0 {
                    *n -= 1;
                    continue;
                }
            }
            todo.push(c);
        }
        if todo.is_empty() {
            return;
        }
        self.scanning = true;
        let fut = async move {
            let mut found = Vec::new();
            for c in todo {
                let r = probe_imei(&c.ports.at, Duration::from_millis(1500)).await;
                found.push((c, r.map_err(|e| e.to_string())));
            }
            found
        };
        ctx.spawn(fut.into_actor(self).map(|found, act, ctx| {
            act.scanning = false;
            for (c, r) in found {
                act.on_probed(c, r, ctx);
            }
        }));
    }

    fn on_probed(&mut self, c: Candidate, r: Result<Imei, String>, ctx: &mut Context<Self>) {
        let imei = match r {
            Ok(i) => i,
            Err(e) => {
                debug!(at = %c.ports.at.display(), error = %e, "Probe found no modem.");
                self.cooldown.insert(c.ports.at.clone(), 3);
                return;
            }
        };
        self.cooldown.remove(&c.ports.at);
        let owner = self
            .modems
            .iter()
            .find(|(_, e)| e.imei.as_ref() == Some(&imei))
            .map(|(id, e)| (id.clone(), e.addr.clone()));
        if let Some((id, addr)) = owner {
            info!(modem = %id, imei = %imei, at = %c.ports.at.display(), "Modem found by IMEI.");
            addr.do_send(AttachPorts { ports: c.ports });
            return;
        }
        if !self.spec.discovery.adopt_unknown {
            info!(imei = %imei, at = %c.ports.at.display(), "Ignoring a modem no config entry names.");
            self.cooldown.insert(c.ports.at.clone(), 10);
            return;
        }
        let Ok(id) = ModemId::parse(imei.as_str()) else {
            return;
        };
        let profile = c
            .profile
            .as_ref()
            .and_then(|p| self.spec.profiles.get(p))
            .cloned()
            .unwrap_or_else(|| self.spec.default_profile.clone());
        info!(modem = %id, imei = %imei, profile = %profile.name, at = %c.ports.at.display(), "Adopting a new modem.");
        self.spawn_modem(
            ModemSpec {
                id,
                profile,
                ports: Some(c.ports),
                expect_imei: Some(imei),
                backoff: self.spec.backoff,
            },
            ctx,
        );
    }

    fn log_summary(&self) {
        let total = self.modems.len();
        let available = self
            .modems
            .values()
            .filter(|e| e.status.as_ref().is_some_and(ModemStatus::is_available))
            .count();
        let open = self
            .modems
            .values()
            .filter(|e| e.status.as_ref().is_some_and(|s| s.link == LinkState::Open))
            .count();
        info!(total, open, available, "Modem summary.");
    }
}

impl Actor for LocalGateway {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        for spec in std::mem::take(&mut self.spec.modems) {
            self.spawn_modem(spec, ctx);
        }
        if self.spec.discovery.mode != DiscoveryMode::Off {
            self.scan(ctx);
            let every = Duration::from_millis(self.spec.discovery.scan_interval_ms);
            ctx.run_interval(every, |act, ctx| act.scan(ctx));
        }
        ctx.run_interval(Duration::from_secs(60), |act, _| act.log_summary());
    }
}

/// Why a modem is out of routing, while its quarantine is in force.
fn quarantine_note(
    q: &Quarantine,
    rule: QuarantineRule,
    now: std::time::Instant,
) -> Option<String> {
    q.in_force(now).map(|until| {
        format!(
            "quarantined: {} resets within {} s; readmitted in {} s",
            rule.after,
            rule.window.as_secs(),
            until.saturating_duration_since(now).as_secs().max(1)
        )
    })
}

impl LocalGateway {
    /// The quarantine of `id` is over: tell the subscribers it is back.
    fn readmit(&mut self, id: &ModemId) {
        let Some(entry) = self.modems.get(id) else {
            return;
        };
        let now = tokio::time::Instant::now().into_std();
        if entry.quarantine.in_force(now).is_some() {
            return;
        }
        info!(modem = %id, "Modem readmitted after quarantine.");
        if let Some(status) = &entry.status {
            for sub in &self.subscribers {
                sub.do_send(crate::routing::ModemUpdate {
                    id: id.clone(),
                    addr: entry.addr.clone(),
                    status: status.clone(),
                    quarantined: None,
                });
            }
        }
    }
}

impl Handler<ModemStatusChanged> for LocalGateway {
    type Result = ();

    fn handle(&mut self, msg: ModemStatusChanged, ctx: &mut Context<Self>) {
        let status = msg.status;
        let Some(entry) = self.modems.get_mut(&status.id) else {
            return;
        };
        let was_open = entry
            .status
            .as_ref()
            .is_some_and(|s| s.link == LinkState::Open);
        if let Some(imei) = &status.session.identity.imei {
            if entry.imei.is_none() {
                entry.imei = Some(imei.clone());
            }
        }
        let now = tokio::time::Instant::now().into_std();
        if let Some(until) = entry
            .quarantine
            .on_resets(self.spec.quarantine, status.resets, now)
        {
            let hold = until.saturating_duration_since(now);
            warn!(modem = %status.id, resets = status.resets, hold_s = hold.as_secs(), "Modem quarantined: too many faults; out of routing until it has held up.");
            let id = status.id.clone();
            ctx.run_later(hold, move |act, _| act.readmit(&id));
        }
        let quarantined = quarantine_note(&entry.quarantine, self.spec.quarantine, now);
        for sub in &self.subscribers {
            sub.do_send(crate::routing::ModemUpdate {
                id: status.id.clone(),
                addr: entry.addr.clone(),
                status: status.clone(),
                quarantined: quarantined.clone(),
            });
        }
        let lost = was_open && status.link != LinkState::Open;
        if lost {
            warn!(modem = %status.id, link = ?status.link, "Modem lost its ports; looking for it.");
        }
        if let Some(inv) = &self.spec.inventory {
            note_inventory(inv, entry, &status);
        }
        entry.status = Some(status);
        if lost {
            self.scan(ctx);
        }
    }
}

/// The status of every modem, in id order.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "Vec<ModemStatus>")]
pub struct ListModems;

impl Handler<ListModems> for LocalGateway {
    type Result = ResponseFuture<Vec<ModemStatus>>;

    fn handle(&mut self, _msg: ListModems, _ctx: &mut Context<Self>) -> Self::Result {
        let addrs: Vec<_> = self.modems.values().map(|e| e.addr.clone()).collect();
        Box::pin(async move {
            let mut out = Vec::with_capacity(addrs.len());
            for a in addrs {
                if let Ok(s) = a.send(crate::modem::GetStatus).await {
                    out.push(s);
                }
            }
            out
        })
    }
}

/// Scan for devices now (instead of waiting for the next period).
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct ScanNow;

impl Handler<ScanNow> for LocalGateway {
    type Result = ();

    fn handle(&mut self, _msg: ScanNow, ctx: &mut Context<Self>) {
        self.cooldown.clear();
        self.scan(ctx);
    }
}

/// Stop every modem: calls in progress are hung up (waiting up to `grace` for the
/// modems to confirm), then the ports are closed.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Shutdown {
    /// How long to wait for hang-ups.
    pub grace: Duration,
}

impl Handler<Shutdown> for LocalGateway {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, msg: Shutdown, _ctx: &mut Context<Self>) -> Self::Result {
        let addrs: Vec<_> = self.modems.values().map(|e| e.addr.clone()).collect();
        Box::pin(async move {
            let waits = addrs
                .iter()
                .map(|a| a.send(crate::modem::Drain { grace: msg.grace }));
            let _ = futures_util::future::join_all(waits).await;
        })
    }
}

/// Receive a [`crate::routing::ModemUpdate`] for every modem now and on every change.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct SubscribeModems(pub Recipient<crate::routing::ModemUpdate>);

impl Handler<SubscribeModems> for LocalGateway {
    type Result = ();

    fn handle(&mut self, msg: SubscribeModems, _: &mut Context<Self>) {
        for (id, e) in &self.modems {
            if let Some(status) = &e.status {
                let now = tokio::time::Instant::now().into_std();
                msg.0.do_send(crate::routing::ModemUpdate {
                    id: id.clone(),
                    addr: e.addr.clone(),
                    status: status.clone(),
                    quarantined: quarantine_note(&e.quarantine, self.spec.quarantine, now),
                });
            }
        }
        self.subscribers.push(msg.0);
    }
}

/// Records the modem (and its SIM) as seen when its identity changed, or every 5 minutes.
fn note_inventory(
    inv: &std::sync::Arc<dyn e173gw_core::ports::InventoryStore>,
    entry: &mut Entry,
    status: &ModemStatus,
) {
    let id = &status.session.identity;
    let Some(imei) = &id.imei else { return };
    if status.link != LinkState::Open {
        return;
    }
    let seen = e173gw_core::ports::ModemSeen {
        imei: imei.to_string(),
        modem_id: status.id.to_string(),
        model: id.model.clone(),
        firmware: id.firmware.clone(),
        imsi: id.imsi.as_ref().map(ToString::to_string),
        iccid: id.iccid.as_ref().map(ToString::to_string),
        operator: status.session.operator.name.clone(),
        own_number: id.own_number.clone(),
    };
    let now = tokio::time::Instant::now();
    let fresh = entry.inventoried.as_ref().is_some_and(|(last, at)| {
        *last == seen && now.duration_since(*at) < Duration::from_secs(300)
    });
    if fresh {
        return;
    }
    entry.inventoried = Some((seen.clone(), now));
    let inv = inv.clone();
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    actix::spawn(async move {
        if let Err(e) = inv.seen(&seen, at).await {
            debug!(imei = %seen.imei, error = %e, "Inventory not updated.");
        }
    });
}
