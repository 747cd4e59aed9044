//! Operator by prefix: a longest-prefix table per country (libphonenumber's carrier
//! format, files named in config), an alias map from legacy names to today's operators,
//! per-area splits (Oi Móvel's lines went to TIM, Claro and Vivo by area code in 2022),
//! and, because portability makes a prefix only a first guess, a per-number cache of
//! operators learned (from a portability lookup over HTTP, or told by the owner). The
//! result is the `operator` annotation the router's operator affinity uses.

mod table;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use table::{BadLine, PrefixTable};

use super::guard::{GuardConfig, TtlCache};
use super::pipeline::{Cx, Found, Run};
use super::{Act, Answer, Lookup};
use crate::config::lookup::HttpLookupConfig;
use crate::config::Problem;

/// One split: numbers of `from` under `prefix` now belong to `to`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Split {
    /// The operator name in the table (before aliases).
    pub from: String,
    /// E.164 prefix (`+5511`), the area it applies to.
    pub prefix: String,
    /// Today's operator there.
    pub to: String,
}

/// `kind = "operator"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OperatorConfig {
    /// Prefix tables (`<prefix>|<Operator>` lines), relative to the config file.
    pub files: Vec<PathBuf>,
    /// Legacy names to today's operator (chains resolve).
    pub aliases: BTreeMap<String, String>,
    /// Area splits, applied before aliases.
    pub split: Vec<Split>,
    /// Ask this provider which operator serves a mobile number today (portability).
    pub portability: Option<HttpLookupConfig>,
    /// How long a call may wait for the portability answer, ms.
    pub portability_budget_ms: u64,
    /// Cache and breaker of the portability provider.
    pub portability_guard: GuardConfig,
    /// How long an operator learned for a number is kept, s.
    pub learned_ttl_s: u64,
    /// Calls may only go to these operators (empty: any).
    pub allowed_operators: Vec<String>,
    /// No prefix matched and nothing was learned.
    pub on_unknown: Act,
    /// The operator is not in `allowed_operators`.
    pub on_other: Act,
}

impl Default for OperatorConfig {
    fn default() -> Self {
        Self {
            files: Vec::new(),
            aliases: default_aliases(),
            split: Vec::new(),
            portability: None,
            portability_budget_ms: 300,
            portability_guard: GuardConfig::default(),
            learned_ttl_s: 30 * 86_400,
            allowed_operators: Vec::new(),
            on_unknown: Act::Continue,
            on_other: Act::reject(403, "operator not served"),
        }
    }
}

/// The names in libphonenumber's Brazil table that are not today's operators.
pub fn default_aliases() -> BTreeMap<String, String> {
    [
        ("Claro BR", "Claro"),
        ("Telemig Celular", "Vivo"),
        ("Brasil Telecom GSM", "Oi"),
        ("TIM Celular", "TIM"),
        ("Vivo S.A.", "Vivo"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect()
}

/// `55 DD 9 xxxxxxxx` (13 digits) without its ninth digit: `55 DD xxxxxxxx`.
fn without_ninth_digit(digits: &str) -> Option<String> {
    let b = digits.as_bytes();
    (digits.len() == 13 && digits.starts_with("55") && b.get(4) == Some(&b'9'))
        .then(|| format!("{}{}", &digits[..4], &digits[5..]))
}

/// Follows aliases from `name`; `None` on a cycle.
fn resolve<'a>(aliases: &'a BTreeMap<String, String>, name: &'a str) -> Option<&'a str> {
    let mut cur = name;
    for _ in 0..=aliases.len() {
        match aliases.get(cur) {
            Some(next) if next != cur => cur = next,
            _ => return Some(cur),
        }
    }
    None
}

impl OperatorConfig {
    /// Checks aliases, splits and acts.
    pub fn validate(&self, key: &str, p: &mut Vec<Problem>) {
        for name in self.aliases.keys() {
            if resolve(&self.aliases, name).is_none() {
                p.push(Problem::new(
                    format!("{key}.aliases.{name}"),
                    "the aliases loop back to this name",
                ));
            }
        }
        for (i, s) in self.split.iter().enumerate() {
            let ok = s.prefix.starts_with('+')
                && s.prefix.len() > 1
                && s.prefix[1..].bytes().all(|b| b.is_ascii_digit());
            if !ok {
                p.push(Problem::new(
                    format!("{key}.split[{i}].prefix"),
                    "must be + and digits, e.g. \"+5511\"",
                ));
            }
        }
        if let Some(pr) = &self.portability {
            pr.validate(&format!("{key}.portability"), p);
            self.portability_guard
                .validate(&format!("{key}.portability_guard"), p);
        }
        self.on_unknown.validate(&format!("{key}.on_unknown"), p);
        self.on_other.validate(&format!("{key}.on_other"), p);
    }
}

/// Operators learned per number (from portability answers and call outcomes).
#[derive(Debug, Clone)]
pub struct Learned {
    cache: TtlCache<String>,
}

impl Default for Learned {
    fn default() -> Self {
        Self {
            cache: TtlCache::new(500_000),
        }
    }
}

impl Learned {
    /// At most `max` numbers.
    pub fn new(max: usize) -> Self {
        Self {
            cache: TtlCache::new(max),
        }
    }

    /// Remembers that `e164` is served by `operator` for `ttl_ms` from `now_ms`.
    pub fn learn(&mut self, e164: &str, operator: &str, now_ms: u64, ttl_ms: u64) {
        self.cache.put(e164, operator.to_string(), now_ms, ttl_ms);
    }

    /// What was learned for `e164`, if still valid at `now_ms`.
    pub fn get(&self, e164: &str, now_ms: u64) -> Option<String> {
        self.cache.get(e164, now_ms)
    }

    /// Numbers remembered.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }
}

/// The stage, built.
#[derive(Debug, Clone)]
pub struct OperatorStage {
    cfg: OperatorConfig,
    table: PrefixTable,
}

impl OperatorStage {
    /// Reads the tables; problems name the file and line.
    pub fn build(cfg: OperatorConfig, base: &Path, key: &str) -> Result<Self, Vec<Problem>> {
        let mut p = Vec::new();
        let mut table = PrefixTable::default();
        for (i, f) in cfg.files.iter().enumerate() {
            let path = base.join(f);
            let fk = format!("{key}.files[{i}]");
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    if let Err(bad) = table.add_text(&text) {
                        for b in bad.iter().take(5) {
                            p.push(Problem::new(
                                fk.clone(),
                                format!("{} line {}: {}", path.display(), b.line, b.why),
                            ));
                        }
                    }
                }
                Err(e) => p.push(Problem::new(fk, format!("{}: {e}", path.display()))),
            }
        }
        if p.is_empty() {
            Ok(Self { cfg, table })
        } else {
            Err(p)
        }
    }

    /// Its settings.
    pub fn config(&self) -> &OperatorConfig {
        &self.cfg
    }

    /// Prefixes loaded.
    pub fn prefixes(&self) -> usize {
        self.table.len()
    }

    /// Today's name for a name from the table or a provider.
    fn today(&self, name: &str) -> String {
        resolve(&self.cfg.aliases, name).unwrap_or(name).to_string()
    }

    /// The prefix table's guess for `e164`: (prefix, today's operator). Brazilian mobiles
    /// gained a ninth digit (2012-2016) that older tables do not have: when nothing
    /// matches `+55 DD 9xxxxxxxx`, it is looked up again without that 9 (the prefix then
    /// shows the form that matched).
    pub fn by_prefix(&self, e164: &str) -> Option<(String, String)> {
        let digits = e164.strip_prefix('+').unwrap_or(e164);
        let (prefix, name) = match self.table.lookup(digits) {
            Some((p, n)) => (p.to_string(), n),
            None => {
                let eight = without_ninth_digit(digits)?;
                let (p, n) = self.table.lookup(&eight)?;
                (format!("{p} (without the ninth digit)"), n)
            }
        };
        Some((prefix, self.current(name, e164)))
    }

    /// Today's operator for a table name at `e164`: aliases, then an area split of the
    /// name or of what it became, then aliases again.
    fn current(&self, name: &str, e164: &str) -> String {
        let aliased = self.today(name);
        let split = self
            .cfg
            .split
            .iter()
            .find(|s| (s.from == name || s.from == aliased) && e164.starts_with(&s.prefix));
        match split {
            Some(s) => self.today(&s.to),
            None => aliased,
        }
    }

    fn decide(&self, cx: &mut Cx<'_>, op: Option<String>, how: String) -> Found {
        match op {
            None => Found::new("unknown", &self.cfg.on_unknown, how),
            Some(op) => {
                cx.ann.operator = Some(op.clone());
                let detail = format!("{how} -> {op}");
                if !self.cfg.allowed_operators.is_empty()
                    && !self.cfg.allowed_operators.contains(&op)
                {
                    Found::new("other", &self.cfg.on_other, detail)
                } else {
                    Found::new("known", &Act::Continue, detail)
                }
            }
        }
    }

    pub(crate) fn run(&self, cx: &mut Cx<'_>) -> Run {
        let Some(e164) = cx.callee.map(|p| p.e164.clone()) else {
            return Run::Found(Found::new(
                "unknown",
                &self.cfg.on_unknown,
                "not a phone number",
            ));
        };
        let guess = self.by_prefix(&e164);
        if let Some(l) = cx.mem.operators.get(&e164, cx.req.now_ms) {
            if guess.as_ref().is_some_and(|(_, g)| *g != l) {
                cx.ann.tag("ported");
            }
            return Run::Found(self.decide(cx, Some(l), "learned".into()));
        }
        let mobile = cx.callee.is_some_and(|p| {
            matches!(
                p.kind,
                phonenumber::Type::Mobile | phonenumber::Type::FixedLineOrMobile
            )
        });
        if self.cfg.portability.is_some() && mobile {
            return Run::Need(Lookup::Portability {
                e164,
                budget_ms: self.cfg.portability_budget_ms,
            });
        }
        Run::Found(self.by_table(cx, guess, ""))
    }

    fn by_table(&self, cx: &mut Cx<'_>, guess: Option<(String, String)>, note: &str) -> Found {
        match guess {
            Some((prefix, op)) => self.decide(cx, Some(op), format!("prefix {prefix}{note}")),
            None => self.decide(cx, None, format!("no prefix{note}")),
        }
    }

    pub(crate) fn resume(&self, cx: &mut Cx<'_>, a: Answer) -> Found {
        let Some(e164) = cx.callee.map(|p| p.e164.clone()) else {
            return Found::new("unknown", &self.cfg.on_unknown, "not a phone number");
        };
        let guess = self.by_prefix(&e164);
        match a {
            Answer::Portability {
                result: Ok(Some(name)),
                cached,
            } => {
                let op = self.today(&name);
                let ttl = self.cfg.learned_ttl_s.saturating_mul(1000);
                cx.mem.operators.learn(&e164, &op, cx.req.now_ms, ttl);
                if guess.as_ref().is_some_and(|(_, g)| *g != op) {
                    cx.ann.tag("ported");
                }
                let how = if cached {
                    "portability (cached)"
                } else {
                    "portability"
                };
                self.decide(cx, Some(op), how.into())
            }
            Answer::Portability {
                result: Ok(None), ..
            } => self.by_table(cx, guess, "; portability: not known"),
            Answer::Portability { result: Err(e), .. } => {
                self.by_table(cx, guess, &format!("; portability: {e}"))
            }
            _ => self.by_table(cx, guess, ""),
        }
    }
}

#[cfg(test)]
mod tests;
