//! `MESSAGE` from a trunk (RFC 3428): a text to send as SMS to the Request-URI's number.
//! The SMS centre queues it; the answer is 202 Accepted once it is stored (the SMS goes
//! out at its modem's pace), 4xx for what cannot be an SMS, 503 when no modem can take it.

use actix::prelude::*;
use tracing::info;

use e173gw_core::sip::transaction::TxId;
use e173gw_core::sip::{headers, Request};

use super::actor::SipIngress;
use crate::sms::{SendSms, SmsError};

/// What a `MESSAGE` asks for, or the status that refuses it.
pub(super) fn sms_of(req: &Request) -> Result<(String, String), (u16, &'static str)> {
    let uri = req.uri.to_string();
    let to = headers::uri_user(&uri).ok_or((404, "no number in the Request-URI"))?;
    let digits = to.strip_prefix('+').unwrap_or(&to);
    if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err((484, "the Request-URI's user is not a number"));
    }
    let ctype = headers::content_type(&req.headers).unwrap_or_default();
    let mime = ctype
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime != "text/plain" {
        return Err((415, "only text/plain"));
    }
    let text = std::str::from_utf8(&req.body).map_err(|_| (400, "the body is not UTF-8"))?;
    // A line end closing the body is framing, not text worth an SMS character.
    let text = text.trim_end_matches(['\r', '\n']);
    if text.is_empty() {
        return Err((400, "empty body"));
    }
    Ok((to, text.to_string()))
}

impl SipIngress {
    pub(super) fn on_message(
        &mut self,
        tx: TxId,
        req: Request,
        trunk: usize,
        ctx: &mut Context<Self>,
    ) {
        if !self.authenticate(tx, &req, trunk, ctx) {
            return;
        }
        let Some(sms) = self.sms.clone() else {
            self.reply(tx, &req, 405, vec![], ctx);
            return;
        };
        let (to, text) = match sms_of(&req) {
            Ok(x) => x,
            Err((code, why)) => {
                info!(code, why, "MESSAGE refused.");
                let extra = if code == 415 {
                    vec![e173gw_core::sip::build::header("Accept", "text/plain")]
                } else {
                    vec![]
                };
                self.reply(tx, &req, code, extra, ctx);
                return;
            }
        };
        let origin = format!("sip:{}", self.trunks.describe(trunk).map_or("?", |d| d.0));
        let ask = sms.send(SendSms {
            to,
            text,
            via: None,
            status_report: None,
            origin,
        });
        ctx.spawn(ask.into_actor(self).map(move |res, act, ctx| {
            let code = match res {
                Ok(Ok(rec)) => {
                    info!(sms = %rec.id, to = %rec.number, "MESSAGE queued as SMS.");
                    202
                }
                Ok(Err(SmsError::Invalid(_))) => 488,
                Ok(Err(SmsError::NoModem(_) | SmsError::Storage(_))) | Err(_) => 503,
            };
            act.reply(tx, &req, code, vec![], ctx);
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(uri: &str, ctype: Option<&str>, body: &[u8]) -> Request {
        let mut text = format!("MESSAGE {uri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <{uri}>\r\nCall-ID: m1\r\nCSeq: 1 MESSAGE\r\n");
        if let Some(c) = ctype {
            text.push_str(&format!("Content-Type: {c}\r\n"));
        }
        text.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(body);
        Request::try_from(bytes.as_slice()).expect("parses")
    }

    #[test]
    fn what_a_message_asks_for() {
        let ok = req(
            "sip:+5511987651234@gw",
            Some("text/plain;charset=UTF-8"),
            "Olá".as_bytes(),
        );
        assert_eq!(sms_of(&ok), Ok(("+5511987651234".into(), "Olá".into())));
        let crlf = req("sip:5511@gw", Some("text/plain"), b"two\r\nlines\r\n");
        assert_eq!(sms_of(&crlf), Ok(("5511".into(), "two\r\nlines".into())));
        let cases: [(&str, Option<&str>, &[u8], u16); 5] = [
            ("sip:gw.example", Some("text/plain"), b"x", 404),
            ("sip:alice@gw", Some("text/plain"), b"x", 484),
            ("sip:5511@gw", Some("text/html"), b"x", 415),
            ("sip:5511@gw", None, b"x", 415),
            ("sip:5511@gw", Some("text/plain"), b"\xff\xfe", 400),
        ];
        for (uri, ct, body, code) in cases {
            assert_eq!(
                sms_of(&req(uri, ct, body)).map_err(|e| e.0),
                Err(code),
                "{uri} {ct:?}"
            );
        }
        assert_eq!(
            sms_of(&req("sip:5511@gw", Some("text/plain"), b"")).map_err(|e| e.0),
            Err(400)
        );
    }
}
