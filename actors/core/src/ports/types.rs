//! The data the ports carry.

use serde::{Deserialize, Serialize};

use crate::at::cause::EndKind;
use crate::record::{CallRecord, RecordTarget};

/// Which side of a call a number was on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// The calling number.
    Caller,
    /// The called number.
    Callee,
}

/// Which side(s) a blacklist entry applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyScope {
    /// Calling numbers only.
    Caller,
    /// Called numbers only.
    Callee,
    /// Either.
    Both,
}

impl PartyScope {
    /// Whether the entry applies to `p`.
    pub fn covers(self, p: Party) -> bool {
        matches!(
            (self, p),
            (Self::Both, _) | (Self::Caller, Party::Caller) | (Self::Callee, Party::Callee)
        )
    }

    /// Stable name for storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Caller => "caller",
            Self::Callee => "callee",
            Self::Both => "both",
        }
    }

    /// From [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "caller" => Self::Caller,
            "callee" => Self::Callee,
            "both" => Self::Both,
            _ => return None,
        })
    }
}

impl From<Party> for PartyScope {
    /// The scope of entries that name exactly this side.
    fn from(p: Party) -> Self {
        match p {
            Party::Caller => Self::Caller,
            Party::Callee => Self::Callee,
        }
    }
}

/// How a blacklist pattern matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// The whole number.
    Exact,
    /// The number starts with the pattern.
    Prefix,
}

impl MatchKind {
    /// Stable name for storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::Prefix => "prefix",
        }
    }

    /// From [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "exact" => Self::Exact,
            "prefix" => Self::Prefix,
            _ => return None,
        })
    }
}

/// A blacklist entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlacklistEntry {
    /// Digits (with an optional leading `+`).
    pub pattern: String,
    /// Exact or prefix.
    pub kind: MatchKind,
    /// Which side it blocks.
    pub party: PartyScope,
    /// Why (shown in verdict traces and the API).
    pub reason: String,
    /// When it was added.
    pub created_ms: u64,
    /// When it stops applying (`None`: never).
    pub expires_ms: Option<u64>,
}

impl BlacklistEntry {
    /// Whether it blocks `number` as `party` at `now_ms`.
    pub fn matches(&self, number: &str, party: Party, now_ms: u64) -> bool {
        self.party.covers(party)
            && self.expires_ms.is_none_or(|e| e > now_ms)
            && match self.kind {
                MatchKind::Exact => number == self.pattern,
                MatchKind::Prefix => number.starts_with(&self.pattern),
            }
    }
}

/// Chooses the blocking entry among candidates: exact first, then the longest prefix.
pub fn best_blacklist_match<'a>(
    entries: impl IntoIterator<Item = &'a BlacklistEntry>,
    number: &str,
    party: Party,
    now_ms: u64,
) -> Option<&'a BlacklistEntry> {
    entries
        .into_iter()
        .filter(|e| e.matches(number, party, now_ms))
        .max_by_key(|e| (e.kind == MatchKind::Exact, e.pattern.len()))
}

/// Search filters for call records; every set field must match.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RecordQuery {
    /// Caller or callee equals this number.
    pub number: Option<String>,
    /// Calling number.
    pub caller: Option<String>,
    /// Called number.
    pub callee: Option<String>,
    /// Trunk name.
    pub trunk: Option<String>,
    /// Modem id.
    pub modem: Option<String>,
    /// Final SIP status.
    pub sip_status: Option<u16>,
    /// Received at or after (Unix ms).
    pub from_ms: Option<u64>,
    /// Received before (Unix ms).
    pub to_ms: Option<u64>,
    /// Answered (`true`) or not (`false`).
    pub answered: Option<bool>,
    /// At most this many (capped at 1000; 0 means 100).
    pub limit: u32,
    /// Skip this many first (newest first; for paging).
    pub offset: u32,
}

impl RecordQuery {
    /// The limit to apply.
    pub fn effective_limit(&self) -> u32 {
        match self.limit {
            0 => 100,
            n => n.min(1000),
        }
    }
}

/// The last call of a number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastOutcome {
    /// When it was received.
    pub at_ms: u64,
    /// Final SIP status.
    pub sip_status: u16,
    /// GSM end class, for modem calls.
    pub gsm_end: Option<EndKind>,
    /// Talk time.
    pub talk_ms: u64,
}

/// What the history says about a number over a window.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NumberHistory {
    /// Calls.
    pub attempts: u64,
    /// Calls answered.
    pub answered: u64,
    /// Calls answered with less talk than the short-call threshold.
    pub short_calls: u64,
    /// Distinct numbers on the other side.
    pub distinct_peers: u64,
    /// Calls that went out on a modem and failed on the callee's side (busy, no answer,
    /// rejected, unassigned, invalid number, unreachable) since the last answered one
    /// (all of the window's when none was). Gateway faults and screened calls neither
    /// count nor break the run.
    #[serde(default)]
    pub consecutive_failures: u64,
    /// The most recent call.
    pub last: Option<LastOutcome>,
}

/// A sticky route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StickyRoute {
    /// Called number.
    pub number: String,
    /// Where it goes (modem id).
    pub target: String,
    /// When it expires.
    pub expires_ms: u64,
}

/// A calendar window in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    /// The UTC day.
    Day,
    /// The UTC month.
    Month,
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) to days since 1970-01-01.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

const DAY_MS: u64 = 86_400_000;

impl Window {
    /// The bucket name of the window containing `at_ms`: `d20261122` or `m202611`.
    pub fn bucket(self, at_ms: u64) -> String {
        let (y, m, d) = civil_from_days((at_ms / DAY_MS) as i64);
        match self {
            Self::Day => format!("d{y:04}{m:02}{d:02}"),
            Self::Month => format!("m{y:04}{m:02}"),
        }
    }

    /// When the window containing `at_ms` ends (Unix ms), for expiry.
    pub fn end_ms(self, at_ms: u64) -> u64 {
        let days = (at_ms / DAY_MS) as i64;
        let next = match self {
            Self::Day => days + 1,
            Self::Month => {
                let (y, m, _) = civil_from_days(days);
                let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                days_from_civil(ny, nm, 1)
            }
        };
        (next.max(0) as u64) * DAY_MS
    }
}

/// A modem as seen by the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ModemSeen {
    /// IMEI.
    pub imei: String,
    /// Gateway id of the modem.
    pub modem_id: String,
    /// Model.
    pub model: Option<String>,
    /// Firmware.
    pub firmware: Option<String>,
    /// SIM IMSI, when a SIM is in.
    pub imsi: Option<String>,
    /// SIM ICCID.
    pub iccid: Option<String>,
    /// Network operator name.
    pub operator: Option<String>,
    /// SIM's own number.
    pub own_number: Option<String>,
}

/// Usage to add to lifetime counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Calls placed.
    pub calls: u64,
    /// Calls answered.
    pub answered: u64,
    /// Seconds of talk.
    pub talk_seconds: u64,
}

impl Usage {
    /// What one call adds, and the modem (IMEI) and SIM (IMSI) it adds to: `None` for a
    /// call that reached no modem or whose modem's IMEI was not known.
    pub fn of_call(r: &CallRecord) -> Option<(&str, Option<&str>, Usage)> {
        let RecordTarget::Modem {
            imei: Some(imei),
            imsi,
            ..
        } = &r.target
        else {
            return None;
        };
        let answered = r.answered_ms.is_some();
        let usage = Usage {
            calls: 1,
            answered: u64::from(answered),
            talk_seconds: if answered { r.talk_ms / 1000 } else { 0 },
        };
        Some((imei.as_str(), imsi.as_deref(), usage))
    }

    /// The usage of `records`, summed per modem and SIM, in order of first appearance.
    pub fn of_calls<'a>(
        records: impl IntoIterator<Item = &'a CallRecord>,
    ) -> Vec<(String, Option<String>, Usage)> {
        let mut out: Vec<(String, Option<String>, Usage)> = Vec::new();
        for (imei, imsi, u) in records.into_iter().filter_map(Usage::of_call) {
            match out
                .iter_mut()
                .find(|(e, s, _)| e == imei && s.as_deref() == imsi)
            {
                Some((_, _, sum)) => {
                    sum.calls += u.calls;
                    sum.answered += u.answered;
                    sum.talk_seconds += u.talk_seconds;
                }
                None => out.push((imei.to_owned(), imsi.map(str::to_owned), u)),
            }
        }
        out
    }
}

/// A modem in the inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModemEntry {
    /// What was seen last.
    pub seen: ModemSeen,
    /// First seen.
    pub first_seen_ms: u64,
    /// Last seen.
    pub last_seen_ms: u64,
    /// Lifetime usage.
    pub usage: Usage,
}

/// A SIM in the inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimEntry {
    /// IMSI.
    pub imsi: String,
    /// ICCID.
    pub iccid: Option<String>,
    /// Operator.
    pub operator: Option<String>,
    /// Own number.
    pub own_number: Option<String>,
    /// The modem it was last seen in.
    pub last_imei: String,
    /// First seen.
    pub first_seen_ms: u64,
    /// Last seen.
    pub last_seen_ms: u64,
    /// Lifetime usage.
    pub usage: Usage,
}

#[cfg(test)]
mod tests;
