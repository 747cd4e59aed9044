//! The pipeline: rules built from config, and one call's screening through them.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::blacklist::{self, BlacklistStage};
use super::history::HistoryStage;
use super::numbers::{self, Parsed};
use super::operator::OperatorStage;
use super::phone::PhoneStage;
use super::velocity::Velocity;
use super::whatsapp::WhatsAppStage;
use super::{Act, Annotations, Answer, Decision, Lookup, Request, StageTrace, Verdict};
use crate::config::filter::{FilterConfig, StageConfig};
use crate::config::Problem;
use crate::ports::Party;

/// What a stage found and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub finding: &'static str,
    pub act: Act,
    pub detail: String,
    /// Ends the screening with an allow (an allowlisted number).
    pub ends: bool,
}

impl Found {
    pub(crate) fn new(finding: &'static str, act: &Act, detail: impl Into<String>) -> Self {
        Self {
            finding,
            act: act.clone(),
            detail: detail.into(),
            ends: false,
        }
    }

    pub(crate) fn pass(detail: impl Into<String>) -> Self {
        Self::new("pass", &Act::Continue, detail)
    }
}

/// A stage ran to a finding, or needs data first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Run {
    Found(Found),
    Need(Lookup),
}

/// State the filter keeps between calls (the owner holds it; stages read and update it).
#[derive(Debug, Default)]
pub struct Memory {
    /// The store's blacklist, refreshed by the owner.
    pub stored_blacklist: blacklist::Index,
    /// Recent calls per caller and per trunk (velocity, scans).
    pub velocity: Velocity,
    /// Operators learned per number from call outcomes and lookups.
    pub operators: super::operator::Learned,
}

/// What a stage sees of the call.
#[derive(Debug)]
pub(crate) struct Cx<'a> {
    pub req: &'a Request,
    pub callee: Option<&'a Parsed>,
    pub caller: Option<&'a Parsed>,
    pub ann: &'a mut Annotations,
    pub mem: &'a mut Memory,
}

impl Cx<'_> {
    /// The forms of a party's number to match lists against: E.164 when it parses, and
    /// the digits as received.
    pub(crate) fn forms(&self, party: Party) -> Vec<String> {
        let (parsed, raw) = match party {
            Party::Callee => (self.callee, &self.req.callee),
            Party::Caller => (self.caller, &self.req.caller),
        };
        let mut v = Vec::with_capacity(2);
        if let Some(p) = parsed {
            v.push(p.e164.clone());
        }
        if let Some(d) = numbers::digits(raw) {
            if !v.contains(&d) {
                v.push(d);
            }
        }
        v
    }
}

/// One stage.
#[derive(Debug)]
pub enum Stage {
    /// Blacklist and allowlist.
    Blacklist(BlacklistStage),
    /// Phone number validation.
    Phone(PhoneStage),
    /// WhatsApp presence.
    WhatsApp(WhatsAppStage),
    /// Call history rules.
    History(HistoryStage),
    /// Operator by prefix (and portability).
    Operator(OperatorStage),
}

impl Stage {
    /// Its kind, as in config.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Blacklist(_) => "blacklist",
            Self::Phone(_) => "phone",
            Self::WhatsApp(_) => "whatsapp",
            Self::History(_) => "history",
            Self::Operator(_) => "operator",
        }
    }

    fn run(&self, cx: &mut Cx<'_>) -> Run {
        match self {
            Self::Blacklist(s) => Run::Found(s.run(cx)),
            Self::Phone(s) => Run::Found(s.run(cx)),
            Self::WhatsApp(s) => s.run(cx),
            Self::History(s) => s.run(cx),
            Self::Operator(s) => s.run(cx),
        }
    }

    fn resume(&self, cx: &mut Cx<'_>, answer: Answer) -> Found {
        match self {
            Self::WhatsApp(s) => s.resume(cx, answer),
            Self::History(s) => s.resume(cx, answer),
            Self::Operator(s) => s.resume(cx, answer),
            Self::Blacklist(_) | Self::Phone(_) => Found::pass("no lookup expected"),
        }
    }
}

/// The rules in force: stages in order, and how numbers are read.
#[derive(Debug)]
pub struct Rules {
    /// Stages, in order.
    pub stages: Vec<Stage>,
    default_region: Option<phonenumber::country::Id>,
    trunk_regions: Vec<(String, phonenumber::country::Id)>,
    /// Bumped on every reload.
    pub version: u64,
}

impl Rules {
    /// No stages: every call is allowed.
    pub fn empty() -> Self {
        Self {
            stages: Vec::new(),
            default_region: None,
            trunk_regions: Vec::new(),
            version: 0,
        }
    }

    /// Checks the `[filter]` section ([`FilterConfig::validate`]) and builds it.
    pub fn check_and_build(
        cfg: &FilterConfig,
        base: &Path,
        version: u64,
    ) -> Result<Self, Vec<Problem>> {
        match cfg.validate() {
            p if p.is_empty() => Self::build(cfg, base, version),
            p => Err(p),
        }
    }

    /// Builds the rules from a validated `[filter]` section, reading the files it names
    /// (relative to `base`). Every problem names its key.
    pub fn build(cfg: &FilterConfig, base: &Path, version: u64) -> Result<Self, Vec<Problem>> {
        let mut p = Vec::new();
        let mut stages = Vec::new();
        if cfg.enabled {
            for (i, s) in cfg.stage.iter().enumerate() {
                let key = format!("filter.stage[{i}]");
                let built = match s {
                    StageConfig::Blacklist(c) => {
                        BlacklistStage::build(c.clone(), base, &key).map(Stage::Blacklist)
                    }
                    StageConfig::Phone(c) => Ok(Stage::Phone(PhoneStage::new(c.clone()))),
                    StageConfig::Whatsapp(c) => Ok(Stage::WhatsApp(WhatsAppStage::new(c.clone()))),
                    StageConfig::History(c) => Ok(Stage::History(HistoryStage::new(c.clone()))),
                    StageConfig::Operator(c) => {
                        OperatorStage::build(c.clone(), base, &key).map(Stage::Operator)
                    }
                };
                match built {
                    Ok(s) => stages.push(s),
                    Err(mut e) => p.append(&mut e),
                }
            }
        }
        if !p.is_empty() {
            return Err(p);
        }
        let region = |r: &str| numbers::region(r);
        Ok(Self {
            stages,
            default_region: region(&cfg.default_region),
            trunk_regions: cfg
                .trunk_regions
                .iter()
                .filter_map(|(t, r)| Some((t.clone(), region(r)?)))
                .collect(),
            version,
        })
    }

    fn region_for(&self, trunk: Option<&str>) -> Option<phonenumber::country::Id> {
        trunk
            .and_then(|t| self.trunk_regions.iter().find(|(n, _)| n == t))
            .map(|(_, r)| *r)
            .or(self.default_region)
    }

    /// Whether a blacklist stage applies the store's blacklist (the owner keeps a copy).
    pub fn uses_store_blacklist(&self) -> bool {
        self.stages
            .iter()
            .any(|s| matches!(s, Stage::Blacklist(b) if b.uses_store()))
    }

    /// Where the stage of `kind` is, if configured.
    pub fn stage(&self, kind: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.kind() == kind)
    }
}

/// What the owner must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Fetch this and [`Screening::supply`] the answer.
    Lookup(Lookup),
    /// The screening is over.
    Done(Verdict),
}

/// One call's screening. See the module docs.
#[derive(Debug)]
pub struct Screening {
    rules: Arc<Rules>,
    req: Request,
    callee: Option<Parsed>,
    caller: Option<Parsed>,
    ann: Annotations,
    trace: Vec<StageTrace>,
    next: usize,
    /// The stage waiting for a lookup: when it started, and what it asked.
    waiting: Option<(Instant, Lookup)>,
    decision: Option<Decision>,
}

impl Screening {
    /// Starts screening `req` with `rules` (the rules stay the same for the whole call,
    /// even when new ones are loaded meanwhile).
    pub fn new(rules: Arc<Rules>, req: Request) -> Self {
        let region = rules.region_for(req.trunk.as_deref());
        let callee = numbers::parse(&req.callee, region);
        let caller = numbers::parse(&req.caller, region);
        Self {
            rules,
            req,
            callee,
            caller,
            ann: Annotations::default(),
            trace: Vec::new(),
            next: 0,
            waiting: None,
            decision: None,
        }
    }

    /// The request.
    pub fn request(&self) -> &Request {
        &self.req
    }

    /// Runs stages until one needs a lookup or the screening is over. `clock` gives the
    /// time (read around each stage for its latency).
    pub fn advance(&mut self, mem: &mut Memory, clock: &mut dyn FnMut() -> Instant) -> Step {
        if let Some((_, l)) = &self.waiting {
            // The owner must supply the answer first; asking again repeats the lookup
            // (the stage does not run twice).
            return Step::Lookup(l.clone());
        }
        let rules = self.rules.clone();
        while self.decision.is_none() {
            let Some(stage) = rules.stages.get(self.next) else {
                self.decision = Some(Decision::Allow);
                break;
            };
            let t0 = clock();
            let mut cx = self.cx(mem);
            match stage.run(&mut cx) {
                Run::Found(f) => {
                    let us = micros(t0, clock());
                    self.record(stage.kind(), f, us);
                }
                Run::Need(l) => {
                    self.waiting = Some((t0, l.clone()));
                    return Step::Lookup(l);
                }
            }
        }
        Step::Done(self.verdict())
    }

    /// The answer to the last [`Step::Lookup`]; call [`Self::advance`] again after.
    pub fn supply(&mut self, answer: Answer, mem: &mut Memory, clock: &mut dyn FnMut() -> Instant) {
        let Some((t0, _)) = self.waiting.take() else {
            return;
        };
        let rules = self.rules.clone();
        let Some(stage) = rules.stages.get(self.next) else {
            return;
        };
        let mut cx = self.cx(mem);
        let f = stage.resume(&mut cx, answer);
        let us = micros(t0, clock());
        self.record(stage.kind(), f, us);
    }

    fn cx<'a>(&'a mut self, mem: &'a mut Memory) -> Cx<'a> {
        Cx {
            req: &self.req,
            callee: self.callee.as_ref(),
            caller: self.caller.as_ref(),
            ann: &mut self.ann,
            mem,
        }
    }

    fn record(&mut self, kind: &str, f: Found, micros: u64) {
        self.trace.push(StageTrace {
            stage: kind.to_string(),
            finding: f.finding.to_string(),
            act: f.act.label(),
            detail: f.detail,
            micros,
        });
        self.next += 1;
        match f.act {
            Act::Continue if f.ends => self.decision = Some(Decision::Allow),
            Act::Continue => {}
            Act::Reject { code, reason } => {
                self.decision = Some(Decision::Reject {
                    status: code,
                    reason: reason.unwrap_or_else(|| f.finding.replace('_', " ")),
                });
            }
            Act::Divert { reason, delivery } => {
                self.decision = Some(Decision::Divert {
                    reason: reason.unwrap_or_else(|| f.finding.replace('_', " ")),
                    delivery,
                });
            }
        }
    }

    fn verdict(&self) -> Verdict {
        Verdict {
            decision: self.decision.clone().unwrap_or(Decision::Allow),
            annotations: self.ann.clone(),
            trace: self.trace.clone(),
            rules_version: self.rules.version,
        }
    }
}

fn micros(t0: Instant, t1: Instant) -> u64 {
    u64::try_from(t1.saturating_duration_since(t0).as_micros()).unwrap_or(u64::MAX)
}
