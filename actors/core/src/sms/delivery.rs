//! Handing received SMS on: the JSON a webhook gets and its signature, the SIP `MESSAGE`
//! (RFC 3428) a SIP target gets and how its answer is read, the retry schedule, and which
//! modem sends an SMS. Pure; the SMS actor does the IO.

use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;

use super::message::SmsRecord;

/// Delay before delivery try `attempt` (1-based): 1 s, 2 s, 4 s ... up to `max_ms`.
pub fn retry_delay_ms(attempt: u32, max_ms: u64) -> u64 {
    1_000u64
        .saturating_mul(1u64 << attempt.saturating_sub(1).min(30))
        .min(max_ms)
}

/// The webhook body for a received SMS (or an outbound one whose state changed).
#[derive(Debug, Serialize)]
pub struct WebhookEvent<'a> {
    /// `sms.received` or `sms.status`.
    pub event: &'a str,
    /// The message.
    pub sms: &'a SmsRecord,
}

/// `sha256=<hex>` of HMAC-SHA256 over the body, for `X-E173gw-Signature`.
pub fn signature(secret: &str, body: &[u8]) -> Option<String> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    Some(format!(
        "sha256={}",
        tag.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

/// Where a SIP `MESSAGE` goes and comes from.
#[derive(Debug, Clone)]
pub struct MessageRequest<'a> {
    /// Request-URI and To.
    pub target: &'a str,
    /// The sender's number (the SMS's).
    pub from_number: &'a str,
    /// This side's `ip:port` for Via and From.
    pub local: std::net::SocketAddr,
    /// Unique per request.
    pub call_id: &'a str,
    /// Via branch (without the magic cookie).
    pub branch: &'a str,
    /// From tag.
    pub tag: &'a str,
    /// The modem that received it.
    pub modem: &'a str,
    /// The text.
    pub text: &'a str,
}

fn header_safe(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() && !matches!(c, '<' | '>' | '"' | ';' | '\\'))
        .collect()
}

/// The request's bytes.
pub fn message_request(m: &MessageRequest<'_>) -> Vec<u8> {
    let from_user = header_safe(m.from_number).replace([' ', '@', ':'], "");
    let from_user = if from_user.is_empty() {
        "unknown".to_string()
    } else {
        from_user
    };
    let body = m.text.as_bytes();
    let head = format!(
        "MESSAGE {target} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK{branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{from_user}@{host}>;tag={tag}\r\n\
         To: <{target}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 MESSAGE\r\n\
         X-E173gw-Modem: {modem}\r\n\
         Content-Type: text/plain;charset=UTF-8\r\n\
         Content-Length: {len}\r\n\r\n",
        target = header_safe(m.target),
        local = m.local,
        host = m.local.ip(),
        branch = m.branch,
        tag = m.tag,
        call_id = m.call_id,
        modem = header_safe(m.modem),
        len = body.len(),
    );
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

/// The status of a response to the `MESSAGE` with this Call-ID, if `msg` is one.
pub fn response_status(msg: &[u8], call_id: &str) -> Option<u16> {
    let text = std::str::from_utf8(msg).ok()?;
    let head = text.split("\r\n\r\n").next()?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()?
        .strip_prefix("SIP/2.0 ")?
        .get(..3)?
        .parse::<u16>()
        .ok()?;
    let ours = lines.any(|l| {
        l.split_once(':').is_some_and(|(n, v)| {
            let n = n.trim();
            (n.eq_ignore_ascii_case("Call-ID") || n == "i") && v.trim() == call_id
        })
    });
    (ours && (100..700).contains(&status)).then_some(status)
}

/// What the SMS actor knows of a modem when it picks one to send from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsCandidate {
    /// Modem id.
    pub modem: String,
    /// Its SIM.
    pub imsi: Option<String>,
    /// Open, SIM ready, registered.
    pub ready: bool,
    /// SMS sent from its SIM today and this month.
    pub today: u32,
    /// This month.
    pub month: u32,
    /// Parts waiting in its queue.
    pub queued: usize,
}

/// Why no modem can send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PickError {
    /// The modem or SIM asked for is not known here.
    #[error("no modem or SIM {0:?} here")]
    Unknown(String),
    /// None is ready (or the one asked for is not).
    #[error("no modem can send now")]
    NoneReady,
    /// Every ready SIM reached its daily or monthly SMS limit.
    #[error("every SIM reached its SMS limit")]
    Limits,
}

/// Picks the modem an SMS goes out on: the one asked for (by modem id or IMSI), else the
/// ready SIM under its limits with the fewest SMS today, then the shortest queue.
pub fn pick(
    c: &[SmsCandidate],
    want: Option<&str>,
    per_day: Option<u32>,
    per_month: Option<u32>,
) -> Result<String, PickError> {
    let under = |x: &SmsCandidate| {
        per_day.is_none_or(|l| x.today < l) && per_month.is_none_or(|l| x.month < l)
    };
    if let Some(w) = want {
        let x = c
            .iter()
            .find(|x| x.modem == w || x.imsi.as_deref() == Some(w))
            .ok_or_else(|| PickError::Unknown(w.to_string()))?;
        if !x.ready {
            return Err(PickError::NoneReady);
        }
        return if under(x) {
            Ok(x.modem.clone())
        } else {
            Err(PickError::Limits)
        };
    }
    let ready: Vec<&SmsCandidate> = c.iter().filter(|x| x.ready).collect();
    if ready.is_empty() {
        return Err(PickError::NoneReady);
    }
    ready
        .into_iter()
        .filter(|x| under(x))
        .min_by_key(|x| (x.today, x.queued, x.modem.clone()))
        .map(|x| x.modem.clone())
        .ok_or(PickError::Limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(modem: &str, ready: bool, today: u32, queued: usize) -> SmsCandidate {
        SmsCandidate {
            modem: modem.into(),
            imsi: Some(format!("72402000000000{}", &modem[modem.len() - 1..])),
            ready,
            today,
            month: today * 10,
            queued,
        }
    }

    #[test]
    fn picks_by_request_then_fewest_sent() {
        let c = vec![
            cand("m1", true, 5, 0),
            cand("m2", true, 2, 3),
            cand("m3", false, 0, 0),
            cand("m4", true, 2, 1),
        ];
        type Case<'a> = (
            Option<&'a str>,
            Option<u32>,
            Option<u32>,
            Result<&'a str, PickError>,
        );
        let cases: Vec<Case<'_>> = vec![
            (None, None, None, Ok("m4")),
            (Some("m1"), None, None, Ok("m1")),
            (Some("724020000000002"), None, None, Ok("m2")),
            (Some("m3"), None, None, Err(PickError::NoneReady)),
            (Some("m9"), None, None, Err(PickError::Unknown("m9".into()))),
            (Some("m1"), Some(5), None, Err(PickError::Limits)),
            (None, Some(2), None, Err(PickError::Limits)),
            (None, Some(3), Some(20), Err(PickError::Limits)),
            (None, Some(3), Some(21), Ok("m4")),
        ];
        for (want, day, month, expect) in cases {
            assert_eq!(
                pick(&c, want, day, month),
                expect.map(String::from),
                "{want:?} {day:?} {month:?}"
            );
        }
        assert_eq!(
            pick(&[cand("m1", false, 0, 0)], None, None, None),
            Err(PickError::NoneReady)
        );
    }

    #[test]
    fn retries_back_off_to_a_ceiling() {
        let d: Vec<u64> = (1..=8).map(|a| retry_delay_ms(a, 60_000)).collect();
        assert_eq!(
            d,
            [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]
        );
        assert_eq!(retry_delay_ms(200, 300_000), 300_000);
    }

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?").as_deref(),
            Some("sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
    }

    #[test]
    fn message_request_and_its_answer() {
        let m = MessageRequest {
            target: "sip:sms@127.0.0.1:5070",
            from_number: "+5511987650001",
            local: "127.0.0.1:40000".parse().expect("addr"),
            call_id: "sms-1@e173gw",
            branch: "abc",
            tag: "t1",
            modem: "modem0",
            text: "Olá\r\nmundo",
        };
        let req = String::from_utf8(message_request(&m)).expect("utf8");
        assert!(req.starts_with("MESSAGE sip:sms@127.0.0.1:5070 SIP/2.0\r\n"));
        assert!(req.contains("From: <sip:+5511987650001@127.0.0.1>;tag=t1\r\n"));
        assert!(req.contains("Content-Length: 11\r\n\r\nOlá\r\nmundo"));
        // A sender with header syntax in it cannot break out of From.
        let evil = MessageRequest {
            from_number: "x>;tag=1\r\nVia: evil",
            ..m.clone()
        };
        let req = String::from_utf8(message_request(&evil)).expect("utf8");
        assert_eq!(req.matches("Via:").count(), 1);
        let ok = b"SIP/2.0 202 Accepted\r\nCall-ID: sms-1@e173gw\r\nCSeq: 1 MESSAGE\r\n\r\n";
        assert_eq!(response_status(ok, "sms-1@e173gw"), Some(202));
        assert_eq!(
            response_status(
                b"SIP/2.0 404 Not Found\r\ni: sms-1@e173gw\r\n\r\n",
                "sms-1@e173gw"
            ),
            Some(404)
        );
        assert_eq!(response_status(ok, "other"), None);
        assert_eq!(
            response_status(b"MESSAGE sip:x SIP/2.0\r\n\r\n", "sms-1@e173gw"),
            None
        );
        assert_eq!(response_status(b"\xff\xfe", "x"), None);
    }
}
