//! The router's live view of each SIM: usage today and this month (loaded from the
//! counter store, then kept current from finished calls and refreshed from the store so
//! other nodes' calls count too), when its last call ended, and its protection state.
//! SIMs are keyed by IMSI (a SIM moved to another modem keeps its counters and rest),
//! or by `modem:<id>` while the IMSI is unknown.

use std::collections::HashMap;

use e173gw_core::config::routing::RoutingConfig;
use e173gw_core::ports::{Stores, Window};
use e173gw_core::routing::policy::SimView;
use e173gw_core::routing::protection::{Change, Outcome, SimHealth};

use crate::modem::ModemStatus;

/// Cache namespace of SIM rests (shared by nodes, kept across restarts).
const REST_NS: &str = "sim_rest";

/// Calls and talk time in one window (a day or a month).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    /// The window ([`Window::bucket`]).
    bucket: String,
    calls: u32,
    secs: u64,
}

impl Counts {
    /// Starts from zero when `bucket` is another window.
    fn roll(&mut self, bucket: String) {
        if bucket != self.bucket {
            *self = Self {
                bucket,
                ..Self::default()
            };
        }
    }

    /// Takes in the store's counts of the same window (or of any, on the first load):
    /// counters only grow, so the larger of ours and the store's is right (the store has
    /// other nodes' calls; ours may not be flushed yet).
    fn merge(&mut self, stored: Self, first: bool) {
        if self.bucket != stored.bucket && !first {
            return;
        }
        self.roll(stored.bucket);
        self.calls = self.calls.max(stored.calls);
        self.secs = self.secs.max(stored.secs);
    }
}

/// One SIM as the router sees it.
#[derive(Debug, Clone, Default)]
pub(crate) struct SimLive {
    day: Counts,
    month: Counts,
    last_end_ms: Option<u64>,
    pub(crate) health: SimHealth,
    loaded: bool,
}

/// What the store says of a SIM.
#[derive(Debug, Clone, Default)]
pub(crate) struct Loaded {
    day: Counts,
    month: Counts,
    rest: Option<(u64, String)>,
}

impl SimLive {
    /// Starts new windows when the day or month turned (`at` is shifted by the day start).
    fn roll(&mut self, at: u64) {
        self.day.roll(Window::Day.bucket(at));
        self.month.roll(Window::Month.bucket(at));
    }
}

/// A SIM to view.
#[derive(Debug)]
pub(crate) struct Sim<'a> {
    /// Its routing id.
    pub(crate) id: &'a str,
    /// Its key in the book.
    pub(crate) key: &'a str,
    /// IMSI.
    pub(crate) imsi: Option<&'a str>,
    /// Operator, as screening names them.
    pub(crate) operator: Option<String>,
    /// Can take a call now.
    pub(crate) available: bool,
    /// Leased by this node.
    pub(crate) leased: bool,
    /// Quarantined by its gateway, and why.
    pub(crate) quarantined: Option<String>,
}

/// Every SIM the router has seen.
#[derive(Debug, Default)]
pub(crate) struct SimBook {
    sims: HashMap<String, SimLive>,
}

/// The key of the SIM in a modem.
pub(crate) fn sim_key(modem: &str, status: &ModemStatus) -> String {
    key_of(
        modem,
        status.session.identity.imsi.as_ref().map(|i| i.as_str()),
    )
}

/// The key of a SIM with this IMSI in modem `modem` (the modem's while the IMSI is not
/// known).
pub(crate) fn key_of(modem: &str, imsi: Option<&str>) -> String {
    match imsi {
        Some(imsi) => imsi.to_string(),
        None => format!("modem:{modem}"),
    }
}

impl SimBook {
    /// The SIM, created empty when new (`true`: it is new and should be loaded).
    pub(crate) fn touch(&mut self, key: &str) -> bool {
        if self.sims.contains_key(key) {
            return false;
        }
        self.sims.insert(key.to_string(), SimLive::default());
        !key.starts_with("modem:")
    }

    /// Keys of SIMs whose counters live in the store.
    pub(crate) fn stored_keys(&self) -> Vec<String> {
        self.sims
            .keys()
            .filter(|k| !k.starts_with("modem:"))
            .cloned()
            .collect()
    }

    /// Takes in what the store says ([`Counts::merge`]), and a rest it knows of.
    pub(crate) fn merge(&mut self, key: &str, l: Loaded, now_ms: u64) {
        let s = self.sims.entry(key.to_string()).or_default();
        s.day.merge(l.day, !s.loaded);
        s.month.merge(l.month, !s.loaded);
        s.loaded = true;
        if let Some((until, why)) = l.rest {
            if until > now_ms && s.health.rested(now_ms).is_none() {
                s.health.adopt_rest(until, why);
            }
        }
    }

    /// Rests the SIM until `until_ms` (an operator's action).
    pub(crate) fn rest(&mut self, key: &str, until_ms: u64, why: String) {
        self.sims
            .entry(key.to_string())
            .or_default()
            .health
            .adopt_rest(until_ms, why);
    }

    /// Counts a finished call on the SIM; returns a protection change to act on.
    pub(crate) fn on_call(
        &mut self,
        key: &str,
        cfg: &RoutingConfig,
        at_ms: u64,
        talk_s: u64,
        outcome: Option<Outcome>,
    ) -> Option<Change> {
        let s = self.sims.entry(key.to_string()).or_default();
        s.roll(at_ms.saturating_sub(cfg.day_offset_ms()));
        for c in [&mut s.day, &mut s.month] {
            c.calls += 1;
            c.secs += talk_s;
        }
        s.last_end_ms = Some(s.last_end_ms.map_or(at_ms, |l| l.max(at_ms)));
        outcome.and_then(|o| s.health.record(&cfg.protection, o, at_ms))
    }

    /// Moves expired rests to probing; returns the SIMs that changed.
    pub(crate) fn tick(&mut self, now_ms: u64) -> Vec<(String, Change)> {
        self.sims
            .iter_mut()
            .filter_map(|(k, s)| s.health.tick(now_ms).map(|c| (k.clone(), c)))
            .collect()
    }

    /// Whether the SIM is resting now.
    pub(crate) fn is_rested(&self, key: &str, now_ms: u64) -> bool {
        self.sims
            .get(key)
            .is_some_and(|s| s.health.rested(now_ms).is_some())
    }

    /// What the policy sees of this node's modem `id`.
    pub(crate) fn view(
        &mut self,
        id: &str,
        status: &ModemStatus,
        leased: bool,
        quarantined: Option<String>,
        cfg: &RoutingConfig,
        now_ms: u64,
    ) -> SimView {
        let imsi = status.session.identity.imsi.as_ref().map(|i| i.to_string());
        let operator = cfg.operator_of(
            status.session.sim_plmn.as_deref(),
            status.session.operator.name.as_deref(),
        );
        let sim = Sim {
            id,
            key: &sim_key(id, status),
            imsi: imsi.as_deref(),
            operator,
            available: status.is_available(),
            leased,
            quarantined,
        };
        self.view_of(sim, cfg, now_ms)
    }

    /// What the policy sees of a SIM (of this node or a peer's).
    pub(crate) fn view_of(&mut self, sim: Sim<'_>, cfg: &RoutingConfig, now_ms: u64) -> SimView {
        let Sim {
            id,
            key,
            imsi,
            operator,
            available,
            leased,
            quarantined,
        } = sim;
        let s = self.sims.entry(key.to_string()).or_default();
        s.roll(now_ms.saturating_sub(cfg.day_offset_ms()));
        SimView {
            id: id.to_string(),
            available,
            leased,
            limits: cfg.limits.for_sim(id, imsi, operator.as_deref()),
            operator,
            calls_today: s.day.calls,
            minutes_today: minutes(s.day.secs),
            calls_month: s.month.calls,
            minutes_month: minutes(s.month.secs),
            weight: cfg.weight.get(id).copied().unwrap_or(1),
            last_end_ms: s.last_end_ms,
            rested: s.health.rested(now_ms).cloned(),
            quarantined,
        }
    }
}

/// Whole minutes started (a 61 s call is 2 minutes, as operators bill).
fn minutes(secs: u64) -> u32 {
    u32::try_from(secs.div_ceil(60)).unwrap_or(u32::MAX)
}

/// Reads a SIM's counters and rest from the store (`at` shifted by the day start).
pub(crate) async fn load(
    stores: &Stores,
    imsi: &str,
    at: u64,
    now_ms: u64,
) -> Result<Loaded, e173gw_core::ports::StoreError> {
    let c = &stores.counters;
    let get = |what: &str, w: Window| {
        let key = format!("sim:{imsi}:{what}");
        async move { c.get(&key, w, at).await }
    };
    let n = |v: i64| u32::try_from(v.max(0)).unwrap_or(u32::MAX);
    let s = |v: i64| u64::try_from(v.max(0)).unwrap_or(0);
    let rest = stores
        .cache
        .get(REST_NS, imsi, now_ms)
        .await?
        .and_then(|v| parse_rest(&v));
    Ok(Loaded {
        day: Counts {
            bucket: Window::Day.bucket(at),
            calls: n(get("calls", Window::Day).await?),
            secs: s(get("seconds", Window::Day).await?),
        },
        month: Counts {
            bucket: Window::Month.bucket(at),
            calls: n(get("calls", Window::Month).await?),
            secs: s(get("seconds", Window::Month).await?),
        },
        rest,
    })
}

/// Shares a SIM's rest with other nodes and later runs.
pub(crate) async fn store_rest(
    stores: &Stores,
    imsi: &str,
    until_ms: u64,
    reason: &str,
    now_ms: u64,
) -> Result<(), e173gw_core::ports::StoreError> {
    let ttl = std::time::Duration::from_millis(until_ms.saturating_sub(now_ms).max(1));
    stores
        .cache
        .set(REST_NS, imsi, &format!("{until_ms}|{reason}"), now_ms, ttl)
        .await
}

fn parse_rest(v: &str) -> Option<(u64, String)> {
    let (until, why) = v.split_once('|')?;
    Some((until.parse().ok()?, why.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_round_up_and_rests_parse() {
        assert_eq!([0, 1, 60, 61, 3600].map(minutes), [0, 1, 1, 2, 60]);
        assert_eq!(
            parse_rest("123|3 unanswered calls in a row"),
            Some((123, "3 unanswered calls in a row".into()))
        );
        assert_eq!(parse_rest("x|y"), None);
        assert_eq!(parse_rest("nothing"), None);
    }

    #[test]
    fn counts_roll_over_at_the_day_start_and_merges_keep_the_larger() {
        const DAY: u64 = 86_400_000;
        let day1 = 20_000 * DAY; // midnight UTC
        let cfg = RoutingConfig {
            day_starts_utc: "03:00".into(),
            ..RoutingConfig::default()
        };
        let mut book = SimBook::default();
        assert!(book.touch("724"));
        assert!(!book.touch("724"));
        assert!(!book.touch("modem:m0"), "no IMSI: nothing to load");
        // 02:00 and 04:00 are in different limit days when days start at 03:00.
        book.on_call("724", &cfg, day1 + 2 * 3_600_000, 30, None);
        book.on_call("724", &cfg, day1 + 4 * 3_600_000, 61, None);
        let s = &book.sims["724"];
        assert_eq!((s.day.calls, s.day.secs), (1, 61));
        // The store knows more (another node's calls): the larger count wins.
        let at = day1 + 4 * 3_600_000 - 3 * 3_600_000;
        let l = Loaded {
            day: Counts {
                bucket: Window::Day.bucket(at),
                calls: 5,
                secs: 10,
            },
            month: Counts {
                bucket: Window::Month.bucket(at),
                calls: 1,
                secs: 0,
            },
            rest: Some((day1 + DAY, "5 unanswered calls in a row".into())),
        };
        book.merge("724", l, day1 + 5 * 3_600_000);
        let s = &book.sims["724"];
        assert_eq!((s.day.calls, s.day.secs, s.month.calls), (5, 61, 2));
        assert!(s.health.rested(day1 + 6 * 3_600_000).is_some());
    }
}
