//! The control command parser: one line in, a [`ControlCmd`] or a usage message out.

use e173gw_core::config::sim::check_balance;
use e173gw_core::domain::{Iccid, Imsi, ModemId};

use crate::sim::modem::ModemOp;

/// A parsed control command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ControlCmd {
    /// `status [m]`
    Status(Option<String>),
    /// An operation on one modem.
    Modem(String, ModemOp),
}

/// Commands that take a modem name.
const VERBS: [&str; 15] = [
    "unplug",
    "replug",
    "freeze",
    "thaw",
    "garbage",
    "sim-remove",
    "sim-insert",
    "signal",
    "reboot",
    "hangup",
    "sms",
    "sms-fail",
    "balance",
    "ring",
    "status",
];

/// The first `n` words of `line` and the rest after them (leading blanks removed).
fn leading_words(line: &str, n: usize) -> (Vec<&str>, &str) {
    let mut words = Vec::with_capacity(n);
    let mut rest = line.trim_start();
    while words.len() < n && !rest.is_empty() {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        words.push(&rest[..end]);
        rest = rest[end..].trim_start();
    }
    (words, rest)
}

/// Whether `from` can send an SMS: digits with an optional `+` (1 to 20), or a name of 1
/// to 11 ASCII letters and digits with a letter in it.
fn valid_sender(from: &str) -> bool {
    let digits = from.strip_prefix('+').unwrap_or(from);
    let numeric = (1..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    let name = (1..=11).contains(&from.len())
        && from.bytes().all(|b| b.is_ascii_alphanumeric())
        && from.bytes().any(|b| b.is_ascii_alphabetic());
    numeric || name
}

/// `sms <m> <from> [ucs2] <text...>`: the text is the rest of the line.
fn parse_sms(line: &str) -> Result<ControlCmd, String> {
    const USAGE: &str = "usage: sms <modem> <from> [ucs2] <text...>";
    let (w, rest) = leading_words(line, 3);
    let [_, m, from] = w.as_slice() else {
        return Err(USAGE.into());
    };
    if !valid_sender(from) {
        return Err(format!(
            "sender {from:?}: digits with an optional '+', or a name of up to 11 letters and digits"
        ));
    }
    let (ucs2, text) = match leading_words(rest, 1) {
        (w, t) if w.first() == Some(&"ucs2") && !t.is_empty() => (true, t),
        _ => (false, rest),
    };
    let text = text.trim_end();
    if text.is_empty() {
        return Err(USAGE.into());
    }
    Ok(ControlCmd::Modem(
        (*m).to_string(),
        ModemOp::Sms {
            from: (*from).to_string(),
            text: text.to_string(),
            ucs2,
        },
    ))
}

/// Parses one control line.
pub(crate) fn parse_control(line: &str) -> Result<ControlCmd, String> {
    if leading_words(line, 1).0 == ["sms"] {
        return parse_sms(line);
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some((&verb, args)) = words.split_first() else {
        return Err("empty command".into());
    };
    if verb == "status" {
        return match args {
            [] => Ok(ControlCmd::Status(None)),
            [m] => Ok(ControlCmd::Status(Some((*m).to_string()))),
            _ => Err("usage: status [modem]".into()),
        };
    }
    if !VERBS.contains(&verb) {
        return Err(format!(
            "unknown command {verb:?}; one of {}",
            VERBS.join(", ")
        ));
    }
    let usage = |u: &str| Err(format!("usage: {u}"));
    let Some((&m, rest)) = args.split_first() else {
        return usage(&format!("{verb} <modem> ..."));
    };
    let op = match (verb, rest) {
        ("unplug", []) => ModemOp::Unplug,
        ("replug", []) => ModemOp::Replug(None),
        ("replug", ["as", n]) => {
            ModemId::parse(n).map_err(|e| e.to_string())?;
            ModemOp::Replug(Some((*n).to_string()))
        }
        ("replug", _) => return usage("replug <modem> [as <new-name>]"),
        ("freeze", []) => ModemOp::Freeze,
        ("thaw", []) => ModemOp::Thaw,
        ("garbage", []) => ModemOp::Garbage(64),
        ("garbage", [n]) => match n.parse::<usize>() {
            Ok(n) if (1..=65_536).contains(&n) => ModemOp::Garbage(n),
            _ => return usage("garbage <modem> [1..=65536]"),
        },
        ("sim-remove", []) => ModemOp::SimRemove,
        ("sim-insert", kv) => {
            let (mut imsi, mut iccid) = (None, None);
            for w in kv {
                match w.split_once('=') {
                    Some(("imsi", v)) => {
                        imsi = Some(Imsi::parse(v).map_err(|e| e.to_string())?.to_string())
                    }
                    Some(("iccid", v)) => {
                        iccid = Some(Iccid::parse(v).map_err(|e| e.to_string())?.to_string())
                    }
                    _ => return usage("sim-insert <modem> [imsi=<imsi>] [iccid=<iccid>]"),
                }
            }
            ModemOp::SimInsert(imsi, iccid)
        }
        ("signal", [r]) => match r.parse::<u8>() {
            Ok(r) if r <= 31 || r == 99 => ModemOp::Signal(r),
            _ => return usage("signal <modem> <0..=31|99>"),
        },
        ("reboot", []) => ModemOp::Reboot,
        ("hangup", []) => ModemOp::Hangup,
        ("sms-fail", ["on"]) => ModemOp::SmsFail(true),
        ("sms-fail", ["off"]) => ModemOp::SmsFail(false),
        ("sms-fail", _) => return usage("sms-fail <modem> on|off"),
        ("balance", [b]) => {
            check_balance(b)?;
            ModemOp::Balance((*b).to_string())
        }
        ("balance", _) => return usage("balance <modem> <amount>"),
        ("ring", [n, opts @ ..]) if opts.len() <= 1 => {
            let digits = n.strip_prefix('+').unwrap_or(n);
            let valid = (1..=20).contains(&digits.len())
                && digits
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#');
            let after = match opts {
                [] => Some(0),
                [o] => o
                    .strip_prefix("after=")
                    .and_then(|v| v.parse::<u64>().ok())
                    .filter(|v| *v <= 3_600_000),
                _ => None,
            };
            match (valid, after) {
                (true, Some(a)) => ModemOp::Ring((*n).to_string(), a),
                _ => return usage("ring <modem> <caller-number> [after=<0..=3600000 ms>]"),
            }
        }
        ("ring", _) => return usage("ring <modem> <caller-number> [after=<ms>]"),
        (
            "unplug" | "freeze" | "thaw" | "garbage" | "sim-remove" | "signal" | "reboot"
            | "hangup",
            _,
        ) => {
            return Err(format!("wrong arguments for {verb:?}"));
        }
        _ => return Err(format!("unknown command {verb:?}")),
    };
    Ok(ControlCmd::Modem(m.to_string(), op))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands() {
        let ok = [
            ("status", ControlCmd::Status(None)),
            ("status modem1", ControlCmd::Status(Some("modem1".into()))),
            (
                "unplug modem0",
                ControlCmd::Modem("modem0".into(), ModemOp::Unplug),
            ),
            (
                "replug modem0 as e173-a",
                ControlCmd::Modem("modem0".into(), ModemOp::Replug(Some("e173-a".into()))),
            ),
            (
                "garbage m 10",
                ControlCmd::Modem("m".into(), ModemOp::Garbage(10)),
            ),
            (
                "garbage m",
                ControlCmd::Modem("m".into(), ModemOp::Garbage(64)),
            ),
            (
                "sim-insert m imsi=724021234567890",
                ControlCmd::Modem(
                    "m".into(),
                    ModemOp::SimInsert(Some("724021234567890".into()), None),
                ),
            ),
            (
                "signal m 99",
                ControlCmd::Modem("m".into(), ModemOp::Signal(99)),
            ),
            (
                "  hangup   m \n",
                ControlCmd::Modem("m".into(), ModemOp::Hangup),
            ),
            (
                "sms m +5511912345678 Saldo  baixo: R$ 0,50\n",
                ControlCmd::Modem(
                    "m".into(),
                    ModemOp::Sms {
                        from: "+5511912345678".into(),
                        text: "Saldo  baixo: R$ 0,50".into(),
                        ucs2: false,
                    },
                ),
            ),
            (
                " sms  m  Vivo  ucs2  Olá ",
                ControlCmd::Modem(
                    "m".into(),
                    ModemOp::Sms {
                        from: "Vivo".into(),
                        text: "Olá".into(),
                        ucs2: true,
                    },
                ),
            ),
            (
                "sms m 123 ucs2",
                ControlCmd::Modem(
                    "m".into(),
                    ModemOp::Sms {
                        from: "123".into(),
                        text: "ucs2".into(),
                        ucs2: false,
                    },
                ),
            ),
            (
                "sms-fail m on",
                ControlCmd::Modem("m".into(), ModemOp::SmsFail(true)),
            ),
            (
                "balance m 0,50",
                ControlCmd::Modem("m".into(), ModemOp::Balance("0,50".into())),
            ),
            (
                "ring m +5511912345678",
                ControlCmd::Modem("m".into(), ModemOp::Ring("+5511912345678".into(), 0)),
            ),
            (
                "ring m 100 after=2500",
                ControlCmd::Modem("m".into(), ModemOp::Ring("100".into(), 2500)),
            ),
        ];
        for (line, want) in ok {
            assert_eq!(parse_control(line), Ok(want), "{line}");
        }
        for bad in [
            "",
            "explode m",
            "unplug",
            "unplug a b",
            "signal m 40",
            "signal m",
            "garbage m 0",
            "replug m to x",
            "replug m as bad/name",
            "sim-insert m imsi=12",
            "sim-insert m pin=1",
            "status a b",
            "sms",
            "sms m",
            "sms m 123",
            "sms m 123   ",
            "sms m 12-3 hi",
            "sms m Operadora123 hi",
            "sms-fail m",
            "sms-fail m yes",
            "balance m",
            "balance m R$1",
            "ring m",
            "ring m abc",
            "ring m 1 after=x",
            "ring m 1 after=1 x",
            "ring m 1 later=5",
        ] {
            assert!(parse_control(bad).is_err(), "{bad:?} should fail");
        }
        for bad in ["explode", "explode m"] {
            assert!(
                parse_control(bad).is_err_and(|e| e.starts_with("unknown command")),
                "{bad}"
            );
        }
    }
}
