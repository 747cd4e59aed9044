//! Reading a SIM's balance from an operator's USSD reply: a template per operator names
//! the code to dial and a pattern with a `balance` group (and optionally `expiry`).
//! Amounts are read in the operator's writing (`12,50`, `1.234,56`, `12.50`) into cents.

use regex::Regex;

/// Why a template is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The pattern does not compile.
    #[error("pattern: {0}")]
    Pattern(String),
    /// The pattern has no `balance` group.
    #[error("pattern needs a (?P<balance>...) group")]
    NoBalance,
    /// The code is not a USSD code.
    #[error("code {0:?}: must look like *100# (digits, * and #)")]
    Code(String),
}

/// An operator's balance check.
#[derive(Debug, Clone)]
pub struct BalanceTemplate {
    /// The USSD code, e.g. `*100#`.
    pub code: String,
    pattern: Regex,
}

/// What a reply said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    /// The balance in cents (negative when the reply says so).
    pub cents: i64,
    /// The expiry, as written.
    pub expiry: Option<String>,
}

impl BalanceTemplate {
    /// A template; the pattern must have a `balance` group.
    pub fn new(code: &str, pattern: &str) -> Result<Self, TemplateError> {
        let ok_code = code.len() >= 2
            && code.len() <= 30
            && code.ends_with('#')
            && code
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#');
        if !ok_code {
            return Err(TemplateError::Code(code.to_string()));
        }
        let pattern = Regex::new(pattern).map_err(|e| TemplateError::Pattern(e.to_string()))?;
        if !pattern.capture_names().any(|n| n == Some("balance")) {
            return Err(TemplateError::NoBalance);
        }
        Ok(Self {
            code: code.to_string(),
            pattern,
        })
    }

    /// The balance in `reply`, if the pattern finds it.
    pub fn read(&self, reply: &str) -> Option<Balance> {
        let c = self.pattern.captures(reply)?;
        Some(Balance {
            cents: cents(c.name("balance")?.as_str())?,
            expiry: c.name("expiry").map(|m| m.as_str().to_string()),
        })
    }
}

/// An amount as an operator writes it, in cents: the last `,` or `.` followed by one or
/// two digits is the decimal mark, other marks group thousands.
pub fn cents(s: &str) -> Option<i64> {
    let s = s.trim();
    let negative = s.starts_with('-');
    let body: String = s
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == ',' || *c == '.')
        .collect();
    // A sentence's full stop after the amount is not a decimal mark.
    let body = body.trim_matches([',', '.']);
    if !body.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    let (whole, frac) = match body.rfind([',', '.']) {
        Some(i) if (1..=2).contains(&(body.len() - i - 1)) => (&body[..i], &body[i + 1..]),
        _ => (body, ""),
    };
    let whole: String = whole.chars().filter(char::is_ascii_digit).collect();
    let units: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let frac: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    let v = units.checked_mul(100)?.checked_add(frac)?;
    Some(if negative { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        for (s, want) in [
            ("12,50", Some(1250)),
            ("12.50", Some(1250)),
            ("1.234,56", Some(123_456)),
            ("1,234.56", Some(123_456)),
            ("R$ 3", Some(300)),
            ("0,5", Some(50)),
            ("-2,00", Some(-200)),
            ("1.000", Some(100_000)),
            ("12,50.", Some(1250)),
            ("", None),
            ("abc", None),
        ] {
            assert_eq!(cents(s), want, "{s:?}");
        }
    }

    #[test]
    fn templates_read_operator_replies() {
        let vivo = BalanceTemplate::new(
            "*8000#",
            r"Saldo:? R\$ ?(?P<balance>-?[\d.,]+).*?(?:validade|ate|até) (?P<expiry>\d{2}/\d{2}(?:/\d{2,4})?)",
        )
        .expect("template");
        assert_eq!(
            vivo.read("Vivo: Saldo R$ 12,50. Recarga valida ate 31/12/2026."),
            Some(Balance {
                cents: 1250,
                expiry: Some("31/12/2026".into())
            })
        );
        assert_eq!(vivo.read("Servico indisponivel"), None);
        let plain = BalanceTemplate::new("*100#", r"(?P<balance>[\d.,]+) ?rub").expect("t");
        assert_eq!(
            plain.read("Balance: 105.20 rub"),
            Some(Balance {
                cents: 10_520,
                expiry: None
            })
        );
        assert!(matches!(
            BalanceTemplate::new("*100#", r"(\d+)"),
            Err(TemplateError::NoBalance)
        ));
        assert!(matches!(
            BalanceTemplate::new("*100#", r"(?P<balance>"),
            Err(TemplateError::Pattern(_))
        ));
        for bad in ["100", "*1a0#", "#", ""] {
            assert!(
                matches!(
                    BalanceTemplate::new(bad, r"(?P<balance>\d+)"),
                    Err(TemplateError::Code(_))
                ),
                "{bad}"
            );
        }
    }
}
