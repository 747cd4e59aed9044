//! Who calls whom, read once from the INVITE when it is admitted: the callee must be a
//! number a modem can dial, or the call is refused before it takes any resource.

use std::fmt;

use crate::domain::DialNumber;
use crate::sip::{headers, Header, Request};

/// The calling party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A number (from P-Asserted-Identity, else From).
    Number(DialNumber),
    /// Anything else: a name, `anonymous`, a withheld identity.
    Other(String),
}

impl Caller {
    /// As written in records and headers.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Number(n) => n.as_str(),
            Self::Other(s) => s,
        }
    }
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Caller and callee of an admitted call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parties {
    /// Who calls.
    pub caller: Caller,
    /// The number to dial.
    pub callee: DialNumber,
}

/// The INVITE names no number a modem can dial.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("callee {callee:?} is not a dialable number")]
pub struct Undialable {
    /// The callee as the INVITE gives it (user part), for the record.
    pub callee: String,
    /// The caller, for the record.
    pub caller: Caller,
}

/// RFC 3966 visual separators, allowed in telephone numbers and dropped before dialling.
fn strip_visual(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '-' | '.' | '(' | ')' | ' '))
        .collect()
}

/// A user part as a dialable number: visual separators dropped, parameters (`;npdi`,
/// `;phone-context=`) cut off.
fn as_number(user: &str) -> Option<DialNumber> {
    let number = user.split(';').next().unwrap_or(user);
    DialNumber::parse(&strip_visual(number)).ok()
}

/// The called user: the Request-URI's user part (unescaped), else the To URI's.
pub fn callee_user(req: &Request) -> String {
    let ruri = match &req.uri.auth {
        Some(a) => headers::unescape(&a.user),
        None => headers::uri_user(&req.uri.to_string()),
    };
    ruri.or_else(|| {
        headers::to(&req.headers).and_then(|t| headers::uri_user(headers::name_addr_uri(t)))
    })
    .unwrap_or_default()
}

/// The calling party: P-Asserted-Identity, else From.
pub fn caller_of(req: &Request) -> Caller {
    let pai = req.headers.iter().find_map(|h| match h {
        Header::PAssertedIdentity(p) => Some(p.value().to_string()),
        _ => None,
    });
    let user = pai
        .as_deref()
        .or_else(|| headers::from(&req.headers))
        .and_then(|v| headers::uri_user(headers::name_addr_uri(v)))
        .filter(|u| !u.is_empty());
    match user {
        Some(u) => as_number(&u).map_or(Caller::Other(u), Caller::Number),
        None => Caller::Other("anonymous".into()),
    }
}

impl Parties {
    /// Reads both parties of an INVITE.
    pub fn from_invite(req: &Request) -> Result<Self, Undialable> {
        let caller = caller_of(req);
        let user = callee_user(req);
        match as_number(&user) {
            Some(callee) => Ok(Self { caller, callee }),
            None => Err(Undialable {
                callee: user,
                caller,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite(ruri: &str, extra: &str) -> Request {
        let text = format!(
            "INVITE {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n\
             From: \"A\" <sip:5511988887777@t>;tag=f\r\nTo: <sip:100@gw>\r\nCall-ID: c1\r\n\
             CSeq: 1 INVITE\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        Request::try_from(text.as_str()).expect("parses")
    }

    #[test]
    fn callees_table() {
        let cases: &[(&str, Option<&str>)] = &[
            ("sip:5511912345678@gw", Some("5511912345678")),
            ("sip:+5511912345678@gw;user=phone", Some("+5511912345678")),
            ("sip:+55-11-91234-5678@gw", Some("+5511912345678")),
            ("sip:*100%23@gw", Some("*100#")),
            ("sip:5511912345678;npdi@gw", Some("5511912345678")),
            ("tel:+55.11.91234.5678", Some("+5511912345678")),
            ("sip:alice@gw", None),
            ("sip:gw.example.net", Some("100")),
            ("sip:%00@gw", None),
            ("sip:123456789012345678901234567890123@gw", None),
        ];
        for (ruri, want) in cases {
            let got = Parties::from_invite(&invite(ruri, ""));
            match want {
                Some(n) => assert_eq!(got.as_ref().map(|p| p.callee.as_str()), Ok(*n), "{ruri}"),
                None => assert!(got.is_err(), "{ruri}: {got:?}"),
            }
        }
    }

    #[test]
    fn the_caller_prefers_the_asserted_identity() {
        let p = Parties::from_invite(&invite(
            "sip:100@gw",
            "P-Asserted-Identity: <sip:+5511911112222@carrier>\r\n",
        ))
        .expect("dialable");
        assert_eq!(
            p.caller,
            Caller::Number(DialNumber::parse("+5511911112222").expect("number"))
        );
        let p = Parties::from_invite(&invite("sip:100@gw", "")).expect("dialable");
        assert_eq!(p.caller.as_str(), "5511988887777");
        let named = Request::try_from(
            "INVITE sip:100@gw SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:bob@t>;tag=f\r\n\
             To: <sip:100@gw>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
        )
        .expect("parses");
        let p = Parties::from_invite(&named).expect("dialable");
        assert_eq!(p.caller, Caller::Other("bob".into()));
    }

    #[test]
    fn an_undialable_callee_keeps_what_the_invite_said() {
        let e = Parties::from_invite(&invite("sip:alice@gw", "")).expect_err("undialable");
        assert_eq!(e.callee, "alice");
        assert_eq!(e.caller.as_str(), "5511988887777");
    }
}
