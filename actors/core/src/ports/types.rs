//! The data the ports carry.

use serde::{Deserialize, Serialize};

use crate::at::cause::EndKind;

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
    /// At most this many (capped at 1000; 0 means 100).
    pub limit: u32,
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
mod tests {
    use super::*;

    #[test]
    fn a_party_is_the_scope_of_its_own_side_only() {
        for (p, name, other) in [
            (Party::Caller, "caller", Party::Callee),
            (Party::Callee, "callee", Party::Caller),
        ] {
            let scope = PartyScope::from(p);
            assert_eq!(scope.as_str(), name);
            assert_eq!(PartyScope::parse(name), Some(scope));
            assert!(scope.covers(p) && !scope.covers(other), "{name}");
        }
    }

    #[test]
    fn calendar_round_trip_and_windows() {
        for days in [-719_468_i64, -1, 0, 1, 10_957, 19_000, 20_409, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{days}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        // 2026-11-22T18:00:00Z
        let t = 1_795_370_400_000;
        assert_eq!(Window::Day.bucket(t), "d20261122");
        assert_eq!(Window::Month.bucket(t), "m202611");
        assert_eq!(
            Window::Day.end_ms(t),
            days_from_civil(2026, 11, 23) as u64 * DAY_MS
        );
        assert_eq!(
            Window::Month.end_ms(t),
            days_from_civil(2026, 12, 1) as u64 * DAY_MS
        );
        let dec = days_from_civil(2026, 12, 31) as u64 * DAY_MS + 5;
        assert_eq!(
            Window::Month.end_ms(dec),
            days_from_civil(2027, 1, 1) as u64 * DAY_MS
        );
    }

    #[test]
    fn blacklist_matching() {
        let e = |pattern: &str, kind, party, expires_ms| BlacklistEntry {
            pattern: pattern.into(),
            kind,
            party,
            reason: pattern.into(),
            created_ms: 0,
            expires_ms,
        };
        let entries = vec![
            e("55119", MatchKind::Prefix, PartyScope::Both, None),
            e("551199", MatchKind::Prefix, PartyScope::Callee, None),
            e(
                "5511999990000",
                MatchKind::Exact,
                PartyScope::Callee,
                Some(100),
            ),
            e("5511999990000", MatchKind::Prefix, PartyScope::Caller, None),
        ];
        let best = |n: &str, p, now| {
            best_blacklist_match(&entries, n, p, now).map(|e| (e.pattern.as_str(), e.kind))
        };
        assert_eq!(
            best("5511999990000", Party::Callee, 50),
            Some(("5511999990000", MatchKind::Exact))
        );
        assert_eq!(
            best("5511999990000", Party::Callee, 100),
            Some(("551199", MatchKind::Prefix)),
            "expired"
        );
        assert_eq!(
            best("5511999990000", Party::Caller, 0),
            Some(("5511999990000", MatchKind::Prefix))
        );
        assert_eq!(
            best("5511912345678", Party::Caller, 0),
            Some(("55119", MatchKind::Prefix))
        );
        assert_eq!(best("5521", Party::Caller, 0), None);
    }
}
