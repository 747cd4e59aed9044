//! The filter actor. See the module docs.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tracing::{debug, info, warn};

use e173gw_core::filter::blacklist::Index;
use e173gw_core::filter::{
    history, Answer, Lookup, LookupFailure, Memory, Request, Rules, Screening, Step, Verdict,
};
use e173gw_core::ports::{BlacklistEntry, Stores};

use super::messages::{
    DryRun, FilterStats, GetFilterStats, RefreshBlacklist, ReloadRefused, Screen, SwapRules,
};
use crate::wall_ms;

/// How often the store's blacklist is read again.
const BLACKLIST_REFRESH: Duration = Duration::from_secs(5);

/// Where lookups go. Each is a future that keeps to the budget it is given.
#[derive(Clone, Default)]
pub struct Lookups {
    /// WhatsApp presence.
    pub presence: Option<Arc<dyn PresenceLookup>>,
    /// Number portability (the operator serving a number).
    pub portability: Option<Arc<dyn PortabilityLookup>>,
}

impl std::fmt::Debug for Lookups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lookups")
            .field("presence", &self.presence.is_some())
            .field("portability", &self.portability.is_some())
            .finish()
    }
}

/// A boxed lookup future.
pub type LookupFuture<T> = Pin<Box<dyn Future<Output = (Result<T, LookupFailure>, bool)> + Send>>;

/// Is a number on WhatsApp (cached, guarded, within `budget`)? The flag says "from cache".
pub trait PresenceLookup: Send + Sync {
    /// Looks `e164` up.
    fn presence(&self, e164: &str, budget: Duration) -> LookupFuture<bool>;
}

/// Which operator serves a number today (cached, guarded, within `budget`)?
pub trait PortabilityLookup: Send + Sync {
    /// Looks `e164` up.
    fn operator(&self, e164: &str, budget: Duration) -> LookupFuture<Option<String>>;
}

/// The filter actor.
pub struct FilterActor {
    rules: Arc<Rules>,
    mem: Memory,
    stores: Stores,
    lookups: Lookups,
    budget: Duration,
    stats: FilterStats,
    /// Whether any stage is configured (calls skip the filter when not).
    active: Arc<AtomicBool>,
    /// The store's blacklist as last read (its index is in `mem`).
    stored_entries: Vec<BlacklistEntry>,
}

impl std::fmt::Debug for FilterActor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilterActor")
            .field("rules_version", &self.rules.version)
            .field("stages", &self.rules.stages.len())
            .finish()
    }
}

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

impl FilterActor {
    /// A filter with `rules`; a screening never takes longer than `budget` (lookups are
    /// cut to what is left of it).
    pub fn new(rules: Arc<Rules>, stores: Stores, lookups: Lookups, budget: Duration) -> Self {
        let stats = FilterStats {
            rules_version: rules.version,
            ..FilterStats::default()
        };
        let active = Arc::new(AtomicBool::new(!rules.stages.is_empty()));
        Self {
            rules,
            mem: Memory::default(),
            stores,
            lookups,
            budget,
            stats,
            active,
            stored_entries: Vec::new(),
        }
    }

    /// Set while any stage is configured: calls that find it clear are not sent here
    /// (their record says they were not screened).
    pub fn active_flag(&self) -> Arc<AtomicBool> {
        self.active.clone()
    }

    fn refresh_blacklist(&mut self, ctx: &mut Context<Self>) {
        if !self.rules.uses_store_blacklist() {
            return;
        }
        let store = self.stores.blacklist.clone();
        async move { store.list(wall_ms()).await }
            .into_actor(self)
            .map(|res, act, _| match res {
                Ok(entries) => {
                    // Rebuilt only when it changed: the index of a large list takes
                    // milliseconds that screenings would wait for.
                    if entries != act.stored_entries {
                        act.mem.stored_blacklist = Index::from_store(&entries);
                        act.stats.stored_blacklist = entries.len() as u64;
                        act.stored_entries = entries;
                    }
                }
                Err(e) => {
                    act.stats.blacklist_refresh_failures += 1;
                    debug!(error = %e, "Store blacklist not refreshed; the last copy stays.");
                }
            })
            .spawn(ctx);
    }

    /// Runs the screening until it needs a lookup (then again when it is answered).
    fn step(
        &mut self,
        mut s: Screening,
        started: Instant,
    ) -> Pin<Box<dyn ActorFuture<Self, Output = Verdict>>> {
        let mut clock = now;
        match s.advance(&mut self.mem, &mut clock) {
            Step::Done(v) => {
                self.count(&v, started);
                Box::pin(fut::ready(v))
            }
            Step::Lookup(l) => {
                let left = self
                    .budget
                    .saturating_sub(now().saturating_duration_since(started));
                let f = fulfil(&self.stores, &self.lookups, l, left);
                Box::pin(f.into_actor(self).then(move |answer, act, _| {
                    let mut clock = now;
                    s.supply(answer, &mut act.mem, &mut clock);
                    act.step(s, started)
                }))
            }
        }
    }

    fn count(&mut self, v: &Verdict, started: Instant) {
        let st = &mut self.stats;
        *st.decisions
            .entry(v.decision.name().to_string())
            .or_default() += 1;
        for t in &v.trace {
            *st.outcomes
                .entry((t.stage.clone(), t.finding.clone(), t.act.clone()))
                .or_default() += 1;
            st.latency
                .entry(t.stage.clone())
                .or_default()
                .observe(t.micros);
        }
        let us =
            u64::try_from(now().saturating_duration_since(started).as_micros()).unwrap_or(u64::MAX);
        st.total.observe(us);
    }
}

impl Actor for FilterActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(100_000);
        self.refresh_blacklist(ctx);
        ctx.run_interval(BLACKLIST_REFRESH, |act, ctx| act.refresh_blacklist(ctx));
    }
}

impl Handler<Screen> for FilterActor {
    type Result = ResponseActFuture<Self, Verdict>;

    fn handle(&mut self, msg: Screen, _: &mut Context<Self>) -> Self::Result {
        let started = now();
        let s = Screening::new(self.rules.clone(), msg.0);
        self.step(s, started)
    }
}

impl Handler<DryRun> for FilterActor {
    type Result = ResponseFuture<Verdict>;

    fn handle(&mut self, msg: DryRun, _: &mut Context<Self>) -> Self::Result {
        let (rules, stores, lookups, budget) = (
            self.rules.clone(),
            self.stores.clone(),
            self.lookups.clone(),
            self.budget,
        );
        Box::pin(async move { screen_once(rules, &stores, &lookups, msg.0, budget).await })
    }
}

impl Handler<RefreshBlacklist> for FilterActor {
    type Result = ();

    fn handle(&mut self, _: RefreshBlacklist, ctx: &mut Context<Self>) {
        self.refresh_blacklist(ctx);
    }
}

impl Handler<SwapRules> for FilterActor {
    type Result = ();

    fn handle(&mut self, msg: SwapRules, ctx: &mut Context<Self>) {
        info!(
            version = msg.0.version,
            stages = msg.0.stages.len(),
            "Filter rules swapped."
        );
        self.rules = msg.0;
        if let Some(l) = msg.1 {
            self.lookups = l;
        }
        self.active
            .store(!self.rules.stages.is_empty(), Ordering::Relaxed);
        self.stats.rules_version = self.rules.version;
        self.stats.reloads += 1;
        self.refresh_blacklist(ctx);
    }
}

impl Handler<ReloadRefused> for FilterActor {
    type Result = ();

    fn handle(&mut self, _: ReloadRefused, _: &mut Context<Self>) {
        self.stats.reloads_refused += 1;
        warn!(version = self.rules.version, "Filter rules kept.");
    }
}

impl Handler<GetFilterStats> for FilterActor {
    type Result = MessageResult<GetFilterStats>;

    fn handle(&mut self, _: GetFilterStats, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.stats.clone())
    }
}

/// The answer to `l` from the store or a provider, within `left`; the future borrows
/// nothing.
fn fulfil(
    stores: &Stores,
    lookups: &Lookups,
    l: Lookup,
    left: Duration,
) -> Pin<Box<dyn Future<Output = Answer> + 'static>> {
    let cap = |ms: u64| Duration::from_millis(ms).min(left);
    match l {
        Lookup::Presence { e164, budget_ms } => match &lookups.presence {
            Some(p) => {
                let f = p.presence(&e164, cap(budget_ms));
                Box::pin(async move {
                    let (result, cached) = f.await;
                    Answer::Presence { result, cached }
                })
            }
            None => Box::pin(std::future::ready(Answer::Presence {
                result: Err(LookupFailure::Unconfigured),
                cached: false,
            })),
        },
        Lookup::Portability { e164, budget_ms } => match &lookups.portability {
            Some(p) => {
                let f = p.operator(&e164, cap(budget_ms));
                Box::pin(async move {
                    let (result, cached) = f.await;
                    Answer::Portability { result, cached }
                })
            }
            None => Box::pin(std::future::ready(Answer::Portability {
                result: Err(LookupFailure::Unconfigured),
                cached: false,
            })),
        },
        Lookup::History(q) => {
            let store = stores.history.clone();
            let budget = cap(q.budget_ms);
            Box::pin(async move {
                let r = tokio::time::timeout(budget, history::fetch(&*store, &q)).await;
                Answer::History(match r {
                    Ok(Ok(facts)) => Ok(facts),
                    Ok(Err(e)) => Err(LookupFailure::Error(e.to_string())),
                    Err(_) => Err(LookupFailure::Timeout),
                })
            })
        }
    }
}

/// Screens one request outside any actor (the `check-number` command): lookups go to
/// `lookups` and the store as in the gateway.
pub async fn screen_once(
    rules: Arc<Rules>,
    stores: &Stores,
    lookups: &Lookups,
    req: Request,
    budget: Duration,
) -> Verdict {
    let mut mem = Memory::default();
    if rules.uses_store_blacklist() {
        if let Ok(entries) = stores.blacklist.list(req.now_ms).await {
            mem.stored_blacklist = Index::from_store(&entries);
        }
    }
    let started = now();
    let mut s = Screening::new(rules, req);
    let mut clock = now;
    loop {
        match s.advance(&mut mem, &mut clock) {
            Step::Done(v) => return v,
            Step::Lookup(l) => {
                let left = budget.saturating_sub(now().saturating_duration_since(started));
                let a = fulfil(stores, lookups, l, left).await;
                s.supply(a, &mut mem, &mut clock);
            }
        }
    }
}
