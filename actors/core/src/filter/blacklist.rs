//! The blacklist: exact numbers, prefixes (longest match wins) and patterns, for callee
//! and caller, global or per trunk, with an allowlist that overrides (emergency or VIP
//! numbers), optional expiry and a reason per entry.
//!
//! Entries come from TOML files and inline config (`[[entry]]` tables) and from the
//! store's blacklist (exact and prefix entries, all trunks), which the filter actor
//! keeps in memory as an [`Index`] of its own and refreshes on change. A pattern that
//! starts with `+` is matched against the E.164 form of the number; one without against
//! the digits as received.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use regex::{Regex, RegexSet};
use serde::{Deserialize, Serialize};

use super::numbers::digits;
use super::pipeline::{Cx, Found};
use super::Act;
use crate::config::Problem;
use crate::ports::{BlacklistEntry, MatchKind, Party, PartyScope};

/// `kind = "blacklist"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlacklistConfig {
    /// TOML files of `[[entry]]` tables (relative to the config file).
    pub files: Vec<PathBuf>,
    /// Entries written here.
    pub entry: Vec<EntryConfig>,
    /// Also apply the store's blacklist (managed through the API).
    pub use_store: bool,
    /// An allowlist entry matched the callee: screening ends and the call is allowed
    /// (no later stage runs) when true.
    pub allow_ends_screening: bool,
    /// A blocking entry matched (a reject without a reason gives the entry's reason).
    pub on_match: Act,
}

impl Default for BlacklistConfig {
    fn default() -> Self {
        Self {
            files: Vec::new(),
            entry: Vec::new(),
            use_store: true,
            allow_ends_screening: true,
            on_match: Act::Reject {
                code: 403,
                reason: None,
            },
        }
    }
}

/// One entry: exactly one of `number`, `prefix`, `pattern`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EntryConfig {
    /// The whole number.
    #[serde(default)]
    pub number: Option<String>,
    /// A prefix.
    #[serde(default)]
    pub prefix: Option<String>,
    /// A regular expression over the whole number (anchored).
    #[serde(default)]
    pub pattern: Option<String>,
    /// `callee` (default), `caller` or `both`.
    #[serde(default = "callee")]
    pub party: PartyScope,
    /// Only calls from this trunk (default: every trunk).
    #[serde(default)]
    pub trunk: Option<String>,
    /// An allowlist entry: it overrides every blocking entry.
    #[serde(default)]
    pub allow: bool,
    /// Why (shown in traces and records).
    #[serde(default)]
    pub reason: String,
    /// When it stops applying (`2027-01-01` or `2027-01-01T00:00:00Z`).
    #[serde(default)]
    pub expires: Option<toml::value::Datetime>,
}

fn callee() -> PartyScope {
    PartyScope::Callee
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryFile {
    #[serde(default)]
    entry: Vec<EntryConfig>,
}

/// How an entry matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum How {
    Pattern,
    Prefix,
    Exact,
}

/// An entry, ready to match.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    text: String,
    how: How,
    party: PartyScope,
    trunk: Option<String>,
    allow: bool,
    reason: String,
    expires_ms: Option<u64>,
    source: String,
}

impl Rule {
    fn applies(&self, party: Party, trunk: Option<&str>, now_ms: u64) -> bool {
        self.party.covers(party)
            && self.expires_ms.is_none_or(|e| e > now_ms)
            && self.trunk.as_deref().is_none_or(|t| Some(t) == trunk)
    }

    fn describe(&self) -> String {
        let how = match self.how {
            How::Exact => "number",
            How::Prefix => "prefix",
            How::Pattern => "pattern",
        };
        let mut s = format!("{how} {} from {}", self.text, self.source);
        if !self.reason.is_empty() {
            s.push_str(": ");
            s.push_str(&self.reason);
        }
        s
    }
}

/// Entries indexed for matching: hash maps for numbers and prefixes, a regex set for
/// patterns.
#[derive(Debug, Clone, Default)]
pub struct Index {
    exact: HashMap<String, Vec<Rule>>,
    prefix: HashMap<String, Vec<Rule>>,
    prefix_lens: Vec<usize>,
    patterns: Vec<Rule>,
    set: Option<RegexSet>,
    len: usize,
}

/// The best entry for a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// An allowlist entry.
    pub allow: bool,
    /// The entry, for the trace.
    pub entry: String,
    /// Its reason.
    pub reason: String,
}

impl Index {
    /// How many entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The store's entries (all trunks, no allowlist).
    pub fn from_store(entries: &[BlacklistEntry]) -> Self {
        let rules = entries.iter().filter_map(|e| {
            Some(Rule {
                text: digits(&e.pattern)?,
                how: match e.kind {
                    MatchKind::Exact => How::Exact,
                    MatchKind::Prefix => How::Prefix,
                },
                party: e.party,
                trunk: None,
                allow: false,
                reason: e.reason.clone(),
                expires_ms: e.expires_ms,
                source: "store".into(),
            })
        });
        Self::build(rules.collect())
    }

    fn build(rules: Vec<Rule>) -> Self {
        let mut ix = Self {
            len: rules.len(),
            ..Self::default()
        };
        for r in rules {
            match r.how {
                How::Exact => ix.exact.entry(r.text.clone()).or_default().push(r),
                How::Prefix => {
                    if !ix.prefix_lens.contains(&r.text.len()) {
                        ix.prefix_lens.push(r.text.len());
                    }
                    ix.prefix.entry(r.text.clone()).or_default().push(r);
                }
                How::Pattern => ix.patterns.push(r),
            }
        }
        ix.prefix_lens.sort_unstable_by(|a, b| b.cmp(a));
        if !ix.patterns.is_empty() {
            ix.set = RegexSet::new(ix.patterns.iter().map(|r| anchored(&r.text))).ok();
        }
        ix
    }

    /// The entry that decides for `forms` (the number's E.164 and as-received forms):
    /// any allowlist entry first, then exact, the longest prefix, a pattern.
    pub fn find<'a>(
        &'a self,
        forms: &[&str],
        party: Party,
        trunk: Option<&str>,
        now_ms: u64,
    ) -> Option<Hit> {
        let mut best: Option<(bool, How, usize, &Rule)> = None;
        let mut consider = |r: &'a Rule| {
            if !r.applies(party, trunk, now_ms) {
                return;
            }
            let key = (r.allow, r.how, r.text.len());
            if best.is_none_or(|(a, h, l, _)| key > (a, h, l)) {
                best = Some((key.0, key.1, key.2, r));
            }
        };
        for f in forms {
            if let Some(rs) = self.exact.get(*f) {
                rs.iter().for_each(&mut consider);
            }
            for &len in &self.prefix_lens {
                if let Some(rs) = f.get(..len).and_then(|p| self.prefix.get(p)) {
                    rs.iter().for_each(&mut consider);
                }
            }
            if let Some(set) = &self.set {
                for i in set.matches(f).iter() {
                    if let Some(r) = self.patterns.get(i) {
                        consider(r);
                    }
                }
            }
        }
        best.map(|(allow, _, _, r)| Hit {
            allow,
            entry: r.describe(),
            reason: r.reason.clone(),
        })
    }
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn anchored(p: &str) -> String {
    format!("^(?:{p})$")
}

fn expiry_ms(d: &toml::value::Datetime) -> Option<u64> {
    let date = d.date?;
    let days = crate::ports::days_from_civil(
        i64::from(date.year),
        u32::from(date.month),
        u32::from(date.day),
    );
    let secs_of_day = d.time.map_or(0, |t| {
        i64::from(t.hour) * 3600 + i64::from(t.minute) * 60 + i64::from(t.second.unwrap_or(0))
    });
    let offset_min = match d.offset {
        Some(toml::value::Offset::Custom { minutes }) => i64::from(minutes),
        _ => 0,
    };
    let secs = days * 86_400 + secs_of_day - offset_min * 60;
    u64::try_from(secs).ok().map(|s| s * 1000)
}

/// Checks entries and turns them into rules; `key` names each for problems.
fn rules_of(entries: &[EntryConfig], key: &str, source: &str, p: &mut Vec<Problem>) -> Vec<Rule> {
    let mut out = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let k = format!("{key}[{i}]");
        let (text, how) = match (&e.number, &e.prefix, &e.pattern) {
            (Some(n), None, None) => (n, How::Exact),
            (None, Some(n), None) => (n, How::Prefix),
            (None, None, Some(n)) => (n, How::Pattern),
            _ => {
                p.push(Problem::new(
                    k,
                    "needs exactly one of `number`, `prefix`, `pattern`",
                ));
                continue;
            }
        };
        let text = if how == How::Pattern {
            if let Err(err) = Regex::new(&anchored(text)) {
                p.push(Problem::new(
                    format!("{k}.pattern"),
                    format!(
                        "not a regular expression: {}",
                        err.to_string().lines().last().unwrap_or("")
                    ),
                ));
                continue;
            }
            text.clone()
        } else {
            match digits(text) {
                Some(d) => d,
                None => {
                    let field = if how == How::Exact {
                        "number"
                    } else {
                        "prefix"
                    };
                    p.push(Problem::new(
                        format!("{k}.{field}"),
                        format!("{text:?} is not digits (with an optional leading +)"),
                    ));
                    continue;
                }
            }
        };
        let expires_ms = match &e.expires {
            None => None,
            Some(d) => match expiry_ms(d) {
                Some(ms) => Some(ms),
                None => {
                    p.push(Problem::new(
                        format!("{k}.expires"),
                        "must be a date or a date-time",
                    ));
                    continue;
                }
            },
        };
        out.push(Rule {
            text,
            how,
            party: e.party,
            trunk: e.trunk.clone(),
            allow: e.allow,
            reason: e.reason.clone(),
            expires_ms,
            source: format!("{source}#{}", i + 1),
        });
    }
    out
}

/// The blacklist stage, built.
#[derive(Debug, Clone)]
pub struct BlacklistStage {
    cfg: BlacklistConfig,
    index: Index,
}

impl BlacklistStage {
    /// Reads the files and checks every entry; problems name the file or key.
    pub fn build(cfg: BlacklistConfig, base: &Path, key: &str) -> Result<Self, Vec<Problem>> {
        let mut p = Vec::new();
        cfg.on_match.validate(&format!("{key}.on_match"), &mut p);
        let mut rules = rules_of(&cfg.entry, &format!("{key}.entry"), "config", &mut p);
        for (i, f) in cfg.files.iter().enumerate() {
            let path = base.join(f);
            let fk = format!("{key}.files[{i}]");
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) => {
                    p.push(Problem::new(fk, format!("{}: {e}", path.display())));
                    continue;
                }
            };
            match toml::from_str::<EntryFile>(&text) {
                Ok(file) => {
                    let name = f.display().to_string();
                    rules.extend(rules_of(
                        &file.entry,
                        &format!("{fk} ({name}) entry"),
                        &name,
                        &mut p,
                    ));
                }
                Err(e) => p.push(Problem::new(
                    fk,
                    format!("{}: {}", path.display(), e.message().trim()),
                )),
            }
        }
        let index = Index::build(rules);
        if !index.patterns.is_empty() && index.set.is_none() {
            p.push(Problem::new(
                format!("{key}.entry"),
                format!(
                    "the {} patterns together are too large to match at once; use prefixes",
                    index.patterns.len()
                ),
            ));
        }
        if p.is_empty() {
            Ok(Self { cfg, index })
        } else {
            Err(p)
        }
    }

    /// Whether the store's blacklist applies too.
    pub fn uses_store(&self) -> bool {
        self.cfg.use_store
    }

    /// Entries from files and config.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether it has no entries of its own.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    fn hit(&self, cx: &Cx<'_>, party: Party, forms: &[&str]) -> Option<Hit> {
        let trunk = cx.req.trunk.as_deref();
        let own = self.index.find(forms, party, trunk, cx.req.now_ms);
        let stored = if self.cfg.use_store {
            cx.mem
                .stored_blacklist
                .find(forms, party, trunk, cx.req.now_ms)
        } else {
            None
        };
        match (own, stored) {
            (Some(a), Some(b)) if b.allow && !a.allow => Some(b),
            (Some(a), _) => Some(a),
            (None, b) => b,
        }
    }

    pub(crate) fn run(&self, cx: &mut Cx<'_>) -> Found {
        let callee = cx.forms(Party::Callee);
        let caller = cx.forms(Party::Caller);
        let hit_callee = self.hit(cx, Party::Callee, &refs(&callee));
        let hit_caller = self.hit(cx, Party::Caller, &refs(&caller));
        // An allowlisted callee or caller wins over any blocking entry.
        let allow = [&hit_callee, &hit_caller]
            .into_iter()
            .flatten()
            .find(|h| h.allow);
        if let Some(h) = allow {
            cx.ann.tag("allowlisted");
            let mut f = Found::new("allowed", &Act::Continue, h.entry.clone());
            f.ends = self.cfg.allow_ends_screening;
            return f;
        }
        match hit_callee.or(hit_caller) {
            Some(h) => {
                let act = match &self.cfg.on_match {
                    Act::Reject { code, reason: None } => {
                        let why = if h.reason.is_empty() {
                            "blacklisted"
                        } else {
                            &h.reason
                        };
                        Act::reject(*code, why)
                    }
                    a => a.clone(),
                };
                Found::new("match", &act, h.entry)
            }
            None => Found::pass(String::new()),
        }
    }
}
