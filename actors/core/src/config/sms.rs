//! `[sms]` and `[ussd]`: SMS sending and delivery of received SMS, USSD balance checks.

use serde::{Deserialize, Serialize};

use super::Problem;
use crate::sms::balance::BalanceTemplate;

/// `[sms]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsConfig {
    /// Least time between two SMS parts on one modem, ms (operators block SIMs that send
    /// faster; peers advise 1 per 10 s).
    pub pace_ms: u64,
    /// Tries per message before it fails.
    pub max_attempts: u32,
    /// Ask for status reports unless a request says otherwise.
    pub status_report: bool,
    /// SMS per SIM per day (`None`: no limit).
    pub per_day: Option<u32>,
    /// SMS per SIM per month.
    pub per_month: Option<u32>,
    /// Received SMS go to this SIP URI as `MESSAGE` (RFC 3428); empty: not sent.
    pub deliver_uri: String,
    /// Received SMS go to this URL as JSON (`POST`); empty: not sent.
    pub webhook_url: String,
    /// The webhook body is signed with HMAC-SHA256 under this secret
    /// (`X-E173gw-Signature: sha256=<hex>`); set it here or in `E173GW_SMS__WEBHOOK_SECRET`.
    pub webhook_secret: String,
    /// Longest wait between delivery retries, s.
    pub retry_max_s: u64,
    /// A long text whose parts stop coming is kept with what arrived after this, s.
    pub reassembly_wait_s: u64,
}

impl Default for SmsConfig {
    fn default() -> Self {
        Self {
            pace_ms: 10_000,
            max_attempts: 3,
            status_report: false,
            per_day: None,
            per_month: None,
            deliver_uri: String::new(),
            webhook_url: String::new(),
            webhook_secret: String::new(),
            retry_max_s: 300,
            reassembly_wait_s: 600,
        }
    }
}

/// One operator's balance check.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BalanceRule {
    /// The SIM's home network (MCC+MNC, e.g. `72402`), or `*` for any.
    pub plmn: String,
    /// The USSD code, e.g. `*222#`.
    pub code: String,
    /// A regular expression with a `balance` group (and optionally `expiry`).
    pub pattern: String,
    /// Recharge code with `{voucher}`, e.g. `*222*{voucher}#`.
    #[serde(default)]
    pub recharge: String,
    /// A regular expression a successful recharge reply matches.
    #[serde(default)]
    pub recharge_ok: String,
}

/// `[ussd]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct UssdConfig {
    /// Longest wait for a reply, s.
    pub timeout_s: u64,
    /// Check every SIM's balance this often, s (0: only on demand).
    pub balance_every_s: u64,
    /// A balance under this many cents is low: metric, alert, and maybe a rest.
    pub low_balance_cents: Option<i64>,
    /// Rest a SIM with a low balance in routing until a check finds it topped up.
    pub rest_when_low: bool,
    /// Balance checks per operator (`[[ussd.balance]]`).
    pub balance: Vec<BalanceRule>,
}

impl Default for UssdConfig {
    fn default() -> Self {
        Self {
            timeout_s: 20,
            balance_every_s: 0,
            low_balance_cents: None,
            rest_when_low: false,
            balance: Vec::new(),
        }
    }
}

impl UssdConfig {
    /// The balance rule for a SIM's home network: an exact PLMN, else `*`.
    pub fn rule_for(&self, plmn: Option<&str>) -> Option<&BalanceRule> {
        self.balance
            .iter()
            .find(|r| plmn.is_some_and(|p| p == r.plmn))
            .or_else(|| self.balance.iter().find(|r| r.plmn == "*"))
    }
}

impl SmsConfig {
    /// Checks the section.
    pub fn validate(&self) -> Vec<Problem> {
        let mut p = Vec::new();
        if self.max_attempts == 0 || self.max_attempts > 20 {
            p.push(Problem::new("sms.max_attempts", "must be 1..=20"));
        }
        if self.pace_ms > 3_600_000 {
            p.push(Problem::new("sms.pace_ms", "must be at most 3600000"));
        }
        let uri = self.deliver_uri.trim();
        if !uri.is_empty() && crate::sip::headers::uri_target(uri).is_none() {
            p.push(Problem::new(
                "sms.deliver_uri",
                "must be a SIP URI with an IP address and port, e.g. sip:sms@127.0.0.1:5070",
            ));
        }
        let url = self.webhook_url.trim();
        if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
            p.push(Problem::new(
                "sms.webhook_url",
                "must be an http:// or https:// URL",
            ));
        }
        if self.retry_max_s == 0 {
            p.push(Problem::new("sms.retry_max_s", "must be at least 1"));
        }
        p
    }
}

impl UssdConfig {
    /// Checks the section.
    pub fn validate(&self) -> Vec<Problem> {
        let mut p = Vec::new();
        if !(1..=120).contains(&self.timeout_s) {
            p.push(Problem::new("ussd.timeout_s", "must be 1..=120"));
        }
        if self.balance_every_s != 0 && self.balance_every_s < 60 {
            p.push(Problem::new(
                "ussd.balance_every_s",
                "must be 0 (off) or at least 60",
            ));
        }
        for (i, r) in self.balance.iter().enumerate() {
            if let Err(e) = BalanceTemplate::new(&r.code, &r.pattern) {
                p.push(Problem::new(format!("ussd.balance[{i}]"), e.to_string()));
            }
            if !r.recharge.is_empty() && !r.recharge.contains("{voucher}") {
                p.push(Problem::new(
                    format!("ussd.balance[{i}].recharge"),
                    "must contain {voucher}",
                ));
            }
            if !r.recharge_ok.is_empty() && regex::Regex::new(&r.recharge_ok).is_err() {
                p.push(Problem::new(
                    format!("ussd.balance[{i}].recharge_ok"),
                    "is not a valid regular expression",
                ));
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_name_the_key() {
        let s = SmsConfig {
            max_attempts: 0,
            deliver_uri: "sms@nowhere".into(),
            webhook_url: "ftp://x".into(),
            ..SmsConfig::default()
        };
        let keys: Vec<String> = s.validate().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            ["sms.max_attempts", "sms.deliver_uri", "sms.webhook_url"]
        );
        let u = UssdConfig {
            balance_every_s: 5,
            balance: vec![BalanceRule {
                plmn: "*".into(),
                code: "*222#".into(),
                pattern: "no group".into(),
                recharge: "*222#".into(),
                recharge_ok: "(".into(),
            }],
            ..UssdConfig::default()
        };
        let keys: Vec<String> = u.validate().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "ussd.balance_every_s",
                "ussd.balance[0]",
                "ussd.balance[0].recharge",
                "ussd.balance[0].recharge_ok"
            ]
        );
        assert!(SmsConfig::default().validate().is_empty());
        assert!(UssdConfig::default().validate().is_empty());
    }

    #[test]
    fn balance_rule_by_plmn_then_any() {
        let rule = |plmn: &str| BalanceRule {
            plmn: plmn.into(),
            code: format!("*{plmn}#"),
            pattern: "(?P<balance>\\d+)".into(),
            recharge: String::new(),
            recharge_ok: String::new(),
        };
        let u = UssdConfig {
            balance: vec![rule("*"), rule("72402")],
            ..UssdConfig::default()
        };
        assert_eq!(
            u.rule_for(Some("72402")).map(|r| r.plmn.as_str()),
            Some("72402")
        );
        assert_eq!(
            u.rule_for(Some("72405")).map(|r| r.plmn.as_str()),
            Some("*")
        );
        assert_eq!(u.rule_for(None).map(|r| r.plmn.as_str()), Some("*"));
    }
}
