//! The SMS centre's state, its outbound queues and its timer.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tracing::{info, warn};

use e173gw_core::config::sms::{SmsConfig, UssdConfig};
use e173gw_core::domain::ModemId;
use e173gw_core::ports::{CounterStore, MessageStore, Window};
use e173gw_core::sms::delivery::{self, SmsCandidate};
use e173gw_core::sms::message::{SmsDirection, SmsRecord, SmsState};
use e173gw_core::sms::pdu::{self, Submit, SubmitPart};
use e173gw_core::sms::reassembly::Reassembly;

use super::{GetSms, SendSms, SmsError};
use crate::modem::{ModemActor, ModemStatus, SendSmsPart, SetInbox};
use crate::routing::ModemUpdate;
use crate::wall_ms;

/// What the SMS centre is started with.
pub struct SmsSpec {
    /// `[sms]`.
    pub sms: SmsConfig,
    /// `[ussd]`.
    pub ussd: UssdConfig,
    /// Where messages and balances are kept.
    pub store: Arc<dyn MessageStore>,
    /// Per-SIM SMS counts (day and month windows).
    pub counters: Arc<dyn CounterStore>,
    /// Rests a SIM whose balance is low (`[ussd] rest_when_low`).
    pub rest: Option<Recipient<crate::routing::AdminModem>>,
    /// The webhook's client (its TLS set up by the caller).
    pub http: reqwest::Client,
    /// The router, whose operator holds (disabled, quarantined modems) SMS respects too.
    pub sims: Option<Recipient<crate::routing::ListSims>>,
    /// The router, asked where an SMS goes by the calls' policy (sticky route, operator
    /// affinity, balancing); its lease is given back at once.
    pub route: Option<(
        Recipient<crate::routing::RouteRequest>,
        Recipient<crate::routing::Release>,
    )>,
}

pub(super) struct Modem {
    pub(super) addr: Addr<ModemActor>,
    pub(super) status: ModemStatus,
    /// Message ids waiting for this modem, in order.
    queue: VecDeque<String>,
    /// A part is with the modem.
    busy: bool,
    /// No part before this (Unix ms): the pace.
    next_ms: u64,
    /// SMS sent from its SIM today and this month (refreshed from the counters).
    pub(super) today: u32,
    pub(super) month: u32,
}

impl Modem {
    /// Its SIM's IMSI, when known.
    pub(super) fn imsi(&self) -> Option<String> {
        self.status
            .session
            .identity
            .imsi
            .as_ref()
            .map(|i| i.to_string())
    }
}

/// An outbound message in flight: its record and its parts.
pub(super) struct Outgoing {
    pub(super) rec: SmsRecord,
    parts: Vec<SubmitPart>,
    /// Parts the network took.
    pub(super) sent: usize,
    /// Parts a status report said were delivered.
    pub(super) delivered: usize,
}

impl Outgoing {
    /// Every part sent, and every report in (delivered), or one part failed.
    pub(super) fn settled(&self, failed: bool) -> bool {
        failed || (self.sent >= self.parts.len() && self.delivered >= self.parts.len())
    }
}

/// The SMS centre. See the module docs.
pub struct SmsCenter {
    pub(super) spec: SmsSpec,
    pub(super) modems: BTreeMap<ModemId, Modem>,
    pub(super) outgoing: HashMap<String, Outgoing>,
    /// (IMSI, message reference) of each part sent -> message id, for status reports.
    pub(super) reports: HashMap<(String, u8), String>,
    pub(super) reassembly: Reassembly,
    /// SIM slots of the parts of long texts not complete yet.
    pub(super) slots: HashMap<(String, u16, u8), Vec<(ModemId, u16)>>,
    /// Received messages still to hand on, with the time of their next try.
    pub(super) deliveries: HashMap<String, (SmsRecord, u64)>,
    pub(super) http: reqwest::Client,
    next_ref: u8,
    pub(super) ticks: u64,
    /// Modems this centre rested for a low balance (the rest ends when a check finds the
    /// SIM topped up).
    pub(super) rested_low: std::collections::BTreeSet<ModemId>,
}

impl std::fmt::Debug for SmsSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsSpec")
            .field("sms", &self.sms)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for SmsCenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsCenter")
            .field("modems", &self.modems.len())
            .field("outgoing", &self.outgoing.len())
            .field("deliveries", &self.deliveries.len())
            .finish_non_exhaustive()
    }
}

impl SmsCenter {
    /// An SMS centre (start it, then subscribe it to the gateway's modems).
    pub fn new(spec: SmsSpec) -> Self {
        let http = spec.http.clone();
        Self {
            spec,
            modems: BTreeMap::new(),
            outgoing: HashMap::new(),
            reports: HashMap::new(),
            reassembly: Reassembly::default(),
            slots: HashMap::new(),
            deliveries: HashMap::new(),
            http,
            next_ref: 1,
            ticks: 0,
            rested_low: Default::default(),
        }
    }

    /// What the picking sees of each modem; `held` are modems an operator disabled or
    /// their gateway quarantined.
    fn candidates(&self, held: &[ModemId]) -> Vec<SmsCandidate> {
        self.modems
            .iter()
            .map(|(id, m)| SmsCandidate {
                modem: id.to_string(),
                imsi: m.imsi(),
                ready: !held.contains(id)
                    && m.status.link == crate::modem::LinkState::Open
                    && m.status.session.sim == e173gw_core::at::session::SimState::Ready
                    && m.status
                        .session
                        .registration
                        .as_ref()
                        .is_some_and(|r| r.state.is_registered()),
                today: m.today,
                month: m.month,
                queued: m.queue.len(),
            })
            .collect()
    }

    /// The IMSI of `modem`'s SIM, when known.
    pub(super) fn imsi_of(&self, modem: &ModemId) -> Option<String> {
        self.modems.get(modem).and_then(Modem::imsi)
    }

    /// Stores `rec` (logging a failure: the next change stores it again) and pushes the
    /// change to the webhook.
    pub(super) fn save(&self, rec: &SmsRecord, ctx: &mut Context<Self>) {
        let store = self.spec.store.clone();
        let r = rec.clone();
        let push = (rec.direction == SmsDirection::Outbound
            && !self.spec.sms.webhook_url.is_empty())
        .then(|| super::io::webhook(&self.http, &self.spec.sms, "sms.status", rec));
        ctx.spawn(
            async move {
                if let Err(e) = store.put_sms(&r).await {
                    warn!(sms = %r.id, error = %e, "Could not store the SMS state.");
                }
                if let Some(p) = push {
                    if let Err(e) = p.await {
                        warn!(sms = %r.id, error = %e, "Webhook did not take the SMS status.");
                    }
                }
            }
            .into_actor(self),
        );
    }

    /// Starts the next part on every modem whose pace allows it.
    fn pump(&mut self, ctx: &mut Context<Self>) {
        let now = wall_ms();
        let ready: Vec<ModemId> = self
            .modems
            .iter()
            .filter(|(_, m)| !m.busy && now >= m.next_ms && !m.queue.is_empty())
            .map(|(id, _)| id.clone())
            .collect();
        for id in ready {
            let Some(m) = self.modems.get_mut(&id) else {
                continue;
            };
            let Some(sms_id) = m.queue.front().cloned() else {
                continue;
            };
            let Some(out) = self.outgoing.get_mut(&sms_id) else {
                m.queue.pop_front();
                continue;
            };
            let Some(part) = out.parts.get(out.sent).cloned() else {
                m.queue.pop_front();
                continue;
            };
            m.busy = true;
            let imsi = m.imsi();
            let req = m.addr.send(SendSmsPart {
                tpdu_len: part.tpdu_len,
                pdu: part.hex,
            });
            if out.rec.state == SmsState::Queued {
                out.rec.state = SmsState::Sending;
                out.rec.attempts += 1;
                out.rec.updated_ms = now;
                let rec = out.rec.clone();
                self.save(&rec, ctx);
            }
            ctx.spawn(req.into_actor(self).map(move |res, act, ctx| {
                let res = res.unwrap_or(Err(e173gw_core::at::session::SmsSendError::Aborted));
                act.part_done(ctx, &id, &sms_id, imsi, res);
            }));
        }
    }

    fn part_done(
        &mut self,
        ctx: &mut Context<Self>,
        modem: &ModemId,
        sms_id: &str,
        imsi: Option<String>,
        res: Result<u8, e173gw_core::at::session::SmsSendError>,
    ) {
        let now = wall_ms();
        let pace = self.spec.sms.pace_ms;
        let max = self.spec.sms.max_attempts;
        if let Some(m) = self.modems.get_mut(modem) {
            m.busy = false;
            m.next_ms = now + pace;
        }
        let Some(out) = self.outgoing.get_mut(sms_id) else {
            return;
        };
        out.rec.updated_ms = now;
        match res {
            Ok(mr) => {
                out.sent += 1;
                out.rec.references.push(mr);
                let all_sent = out.sent >= out.parts.len();
                if all_sent && out.settled(false) {
                    // Every report came before the last answer.
                    out.rec.state = SmsState::Delivered;
                } else if all_sent {
                    out.rec.state = SmsState::Sent;
                    out.rec.error = None;
                    info!(sms = %sms_id, modem = %modem, parts = out.sent, "SMS sent.");
                }
                let rec = out.rec.clone();
                if let Some(imsi) = &imsi {
                    self.reports.insert((imsi.clone(), mr), sms_id.to_string());
                }
                if let Some(m) = self.modems.get_mut(modem) {
                    m.today += 1;
                    m.month += 1;
                }
                if let Some(imsi) = imsi {
                    let c = self.spec.counters.clone();
                    ctx.spawn(
                        async move {
                            let key = format!("sms:{imsi}");
                            let _ = c.add(&key, Window::Day, now, 1).await;
                            let _ = c.add(&key, Window::Month, now, 1).await;
                        }
                        .into_actor(self),
                    );
                }
                if all_sent {
                    self.finish_part(modem, sms_id, !rec.status_report || rec.state.is_final());
                }
                self.save(&rec, ctx);
            }
            Err(e) => {
                out.rec.error = Some(e.to_string());
                if out.rec.attempts >= max {
                    out.rec.state = SmsState::Failed;
                    warn!(sms = %sms_id, modem = %modem, error = %e, "SMS failed.");
                    let rec = out.rec.clone();
                    self.finish_part(modem, sms_id, true);
                    self.save(&rec, ctx);
                } else {
                    // Tried again from the part that failed, after the others in line.
                    out.rec.state = SmsState::Queued;
                    warn!(sms = %sms_id, modem = %modem, error = %e, attempt = out.rec.attempts, "SMS part not sent; will retry.");
                    let rec = out.rec.clone();
                    if let Some(m) = self.modems.get_mut(modem) {
                        if let Some(pos) = m.queue.iter().position(|q| q == sms_id) {
                            m.queue.remove(pos);
                        }
                        m.queue.push_back(sms_id.to_string());
                    }
                    self.save(&rec, ctx);
                }
            }
        }
        self.pump(ctx);
    }

    /// The message leaves its modem's queue; `forget` drops it from memory (nothing more
    /// will come for it).
    fn finish_part(&mut self, modem: &ModemId, sms_id: &str, forget: bool) {
        if let Some(m) = self.modems.get_mut(modem) {
            m.queue.retain(|q| q != sms_id);
        }
        if forget {
            self.outgoing.remove(sms_id);
        }
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        self.ticks += 1;
        self.pump(ctx);
        self.deliver_due(ctx);
        self.expire_parts(ctx);
        self.balance_schedule(ctx);
        if self.ticks % 60 == 1 {
            self.refresh_counts(ctx);
        }
    }

    fn refresh_counts(&mut self, ctx: &mut Context<Self>) {
        let c = self.spec.counters.clone();
        let sims: Vec<(ModemId, String)> = self
            .modems
            .iter()
            .filter_map(|(id, m)| Some((id.clone(), m.imsi()?)))
            .collect();
        let now = wall_ms();
        ctx.spawn(
            async move {
                let mut out = Vec::new();
                for (id, imsi) in sims {
                    let key = format!("sms:{imsi}");
                    let day = c.get(&key, Window::Day, now).await.unwrap_or(0);
                    let month = c.get(&key, Window::Month, now).await.unwrap_or(0);
                    out.push((id, day, month));
                }
                out
            }
            .into_actor(self)
            .map(|counts, act, _| {
                for (id, day, month) in counts {
                    if let Some(m) = act.modems.get_mut(&id) {
                        m.today = u32::try_from(day.max(0)).unwrap_or(u32::MAX);
                        m.month = u32::try_from(month.max(0)).unwrap_or(u32::MAX);
                    }
                }
            }),
        );
    }
}

impl Actor for SmsCenter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(Duration::from_secs(1), |act, ctx| act.tick(ctx));
        self.load_pending(ctx);
    }
}

impl Handler<ModemUpdate> for SmsCenter {
    type Result = ();

    fn handle(&mut self, msg: ModemUpdate, ctx: &mut Context<Self>) {
        match self.modems.get_mut(&msg.id) {
            Some(m) => {
                m.addr = msg.addr;
                m.status = msg.status;
            }
            None => {
                msg.addr.do_send(SetInbox(ctx.address().recipient()));
                self.modems.insert(
                    msg.id,
                    Modem {
                        addr: msg.addr,
                        status: msg.status,
                        queue: VecDeque::new(),
                        busy: false,
                        next_ms: 0,
                        today: 0,
                        month: 0,
                    },
                );
                self.refresh_counts(ctx);
            }
        }
        self.pump(ctx);
    }
}

impl Handler<SendSms> for SmsCenter {
    type Result = ResponseActFuture<Self, Result<SmsRecord, SmsError>>;

    fn handle(&mut self, msg: SendSms, _: &mut Context<Self>) -> Self::Result {
        let ask = self
            .spec
            .sims
            .clone()
            .map(|r| r.send(crate::routing::ListSims));
        let route = self.spec.route.clone().filter(|_| msg.via.is_none());
        let number = e173gw_core::domain::DialNumber::parse(&msg.to).ok();
        // Modems that cannot send SMS now (not ready, or over a limit) are left out of
        // the router's choice.
        let unfit: Vec<ModemId> = {
            let cfg = &self.spec.sms;
            self.candidates(&[])
                .into_iter()
                .filter(|c| {
                    !c.ready
                        || cfg.per_day.is_some_and(|l| c.today >= l)
                        || cfg.per_month.is_some_and(|l| c.month >= l)
                })
                .filter_map(|c| ModemId::parse(&c.modem).ok())
                .collect()
        };
        Box::pin(
            async move {
                let rows = match ask {
                    Some(a) => a.await.unwrap_or_default(),
                    None => Vec::new(),
                };
                let held: Vec<ModemId> = rows
                    .into_iter()
                    .filter(|r| r.disabled.is_some() || r.quarantined.is_some())
                    .map(|r| r.status.id)
                    .collect();
                let chosen = match (route, number) {
                    (Some((router, release)), Some(callee)) => {
                        pick_by_router(
                            &router,
                            &release,
                            callee,
                            held.iter().chain(&unfit).cloned().collect(),
                        )
                        .await
                    }
                    _ => None,
                };
                (held, chosen)
            }
            .into_actor(self)
            .then(move |(held, chosen), act, _| {
                let mut msg = msg;
                if msg.via.is_none() {
                    msg.via = chosen.map(|m| m.to_string());
                }
                act.queue_sms(msg, &held)
            }),
        )
    }
}

/// Asks the router where a call to `callee` would go now, leaving out `exclude`, and gives
/// the lease back at once: the SMS goes out on that SIM. A peer's SIM cannot send this
/// node's SMS, so it is left out and the router asked again (a few times at most).
async fn pick_by_router(
    router: &Recipient<crate::routing::RouteRequest>,
    release: &Recipient<crate::routing::Release>,
    callee: e173gw_core::domain::DialNumber,
    mut exclude: Vec<ModemId>,
) -> Option<ModemId> {
    for _ in 0..4 {
        let d = router
            .send(crate::routing::RouteRequest {
                target: e173gw_core::config::sip::Target::Modems,
                trunk: "sms".into(),
                from_peer: Some(None),
                caller: String::new(),
                callee: callee.clone(),
                exclude: exclude.clone(),
                age_ms: 0,
                divert: None,
                operator: None,
                call: None,
            })
            .await
            .ok()?;
        match d.route {
            e173gw_core::routing::Route::Modem { id, .. } => {
                let _ = release.try_send(crate::routing::Release { modem: id.clone() });
                return Some(id);
            }
            e173gw_core::routing::Route::Peer { id, .. } => {
                let _ = release.try_send(crate::routing::Release { modem: id.clone() });
                exclude.push(id);
            }
            _ => return None,
        }
    }
    None
}

impl SmsCenter {
    fn queue_sms(
        &mut self,
        msg: SendSms,
        held: &[ModemId],
    ) -> ResponseActFuture<Self, Result<SmsRecord, SmsError>> {
        let status_report = msg.status_report.unwrap_or(self.spec.sms.status_report);
        let reference = self.next_ref;
        self.next_ref = self.next_ref.wrapping_add(1).max(1);
        let parts = pdu::submit(&Submit {
            to: &msg.to,
            text: &msg.text,
            status_report,
            validity: 169,
            reference,
        });
        let parts = match parts {
            Ok(p) => p,
            Err(e) => return Box::pin(fut::ready(Err(SmsError::Invalid(e.to_string())))),
        };
        let cfg = &self.spec.sms;
        let modem = match delivery::pick(
            &self.candidates(held),
            msg.via.as_deref(),
            cfg.per_day,
            cfg.per_month,
        ) {
            Ok(m) => m,
            Err(e) => return Box::pin(fut::ready(Err(e.into()))),
        };
        let now = wall_ms();
        let Some((modem_id, m)) = self.modems.iter().find(|(id, _)| id.as_str() == modem) else {
            return Box::pin(fut::ready(Err(SmsError::NoModem(
                e173gw_core::sms::delivery::PickError::NoneReady,
            ))));
        };
        let rec = SmsRecord {
            id: format!("sms-{}", uuid_like()),
            direction: SmsDirection::Outbound,
            number: msg.to,
            text: msg.text,
            modem: Some(modem_id.to_string()),
            imsi: m.imsi(),
            state: SmsState::Queued,
            parts: u8::try_from(parts.len()).unwrap_or(u8::MAX),
            references: Vec::new(),
            status_report,
            attempts: 0,
            error: None,
            origin: msg.origin,
            delivered_to: Vec::new(),
            created_ms: now,
            updated_ms: now,
        };
        let modem_id = modem_id.clone();
        let store = self.spec.store.clone();
        let r = rec.clone();
        Box::pin(async move { store.put_sms(&r).await }.into_actor(self).map(
            move |stored, act, ctx| {
                stored.map_err(|e| SmsError::Storage(e.to_string()))?;
                info!(sms = %rec.id, modem = %modem_id, parts = rec.parts, "SMS queued.");
                act.outgoing.insert(
                    rec.id.clone(),
                    Outgoing {
                        rec: rec.clone(),
                        parts,
                        sent: 0,
                        delivered: 0,
                    },
                );
                if let Some(m) = act.modems.get_mut(&modem_id) {
                    m.queue.push_back(rec.id.clone());
                }
                act.pump(ctx);
                Ok(rec)
            },
        ))
    }
}

impl Handler<GetSms> for SmsCenter {
    type Result = ResponseFuture<Result<Option<SmsRecord>, SmsError>>;

    fn handle(&mut self, msg: GetSms, _: &mut Context<Self>) -> Self::Result {
        if let Some(o) = self.outgoing.get(&msg.0) {
            let rec = o.rec.clone();
            return Box::pin(async move { Ok(Some(rec)) });
        }
        let store = self.spec.store.clone();
        Box::pin(async move {
            store
                .get_sms(&msg.0)
                .await
                .map_err(|e| SmsError::Storage(e.to_string()))
        })
    }
}

/// A unique id: time and a process-wide counter.
pub(super) fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("{:x}-{:x}-{n:x}", wall_ms(), std::process::id())
}
