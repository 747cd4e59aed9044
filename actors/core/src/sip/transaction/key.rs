//! Matching keys (RFC 3261 §17.1.3 and §17.2.3).

use super::BRANCH_COOKIE;
use crate::sip::headers::{self, Via};
use crate::sip::{Header, Headers, Method, Request};

/// The default sent-by port of UDP and TCP.
const DEFAULT_PORT: u16 = 5060;

/// Which server transaction a request belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum ServerKey {
    /// RFC 3261: branch (with the cookie), sent-by, method (ACK counts as INVITE).
    Branch {
        /// The branch, compared exactly.
        branch: Box<str>,
        /// Sent-by host, lower-case.
        host: Box<str>,
        /// Sent-by port (5060 when absent).
        port: u16,
        /// INVITE for INVITE and ACK; the request's method otherwise.
        method: Method,
    },
    /// RFC 2543 (no cookie): Request-URI, To tag, From tag, Call-ID, CSeq number, top
    /// Via and method. An ACK for the final response to an initial INVITE carries the
    /// response's To tag: it is looked up again with an empty To tag (see
    /// [`ServerKey::without_to_tag`]).
    Legacy {
        /// Request-URI as written.
        uri: Box<str>,
        /// To tag (empty when absent).
        to_tag: Box<str>,
        /// From tag (empty when absent).
        from_tag: Box<str>,
        /// Call-ID.
        call_id: Box<str>,
        /// CSeq number.
        cseq: u32,
        /// The whole top Via entry.
        via: Box<str>,
        /// INVITE for INVITE and ACK; the request's method otherwise.
        method: Method,
    },
}

impl ServerKey {
    /// The key of `req` for a transaction of `method` (INVITE to find the transaction an
    /// ACK or a CANCEL refers to). `None` without Call-ID.
    pub(super) fn new(req: &Request, via: &Via, cseq: u32, method: Method) -> Option<Self> {
        match &via.branch {
            Some(b) if b.starts_with(BRANCH_COOKIE) => Some(Self::Branch {
                branch: b.as_str().into(),
                host: via.host.to_ascii_lowercase().into(),
                port: via.port.unwrap_or(DEFAULT_PORT),
                method,
            }),
            _ => Some(Self::Legacy {
                uri: req.uri.to_string().into(),
                to_tag: headers::to_tag(&req.headers).unwrap_or_default().into(),
                from_tag: headers::from_tag(&req.headers).unwrap_or_default().into(),
                call_id: headers::call_id(&req.headers)?.into(),
                cseq,
                via: top_via_entry(&req.headers)?.into(),
                method,
            }),
        }
    }

    /// The same key for another method.
    pub(super) fn with_method(&self, m: Method) -> Self {
        let mut k = self.clone();
        match &mut k {
            Self::Branch { method, .. } | Self::Legacy { method, .. } => *method = m,
        }
        k
    }

    /// For an RFC 2543 key with a To tag, the same key without it (how an ACK finds the
    /// initial INVITE it acknowledges); `None` otherwise.
    pub(super) fn without_to_tag(&self) -> Option<Self> {
        match self {
            Self::Legacy { to_tag, .. } if !to_tag.is_empty() => {
                let mut k = self.clone();
                if let Self::Legacy { to_tag, .. } = &mut k {
                    *to_tag = "".into();
                }
                Some(k)
            }
            _ => None,
        }
    }

    /// Whether this is an RFC 2543 key.
    #[cfg(test)]
    pub(super) fn is_legacy(&self) -> bool {
        matches!(self, Self::Legacy { .. })
    }
}

/// The first Via entry as written.
fn top_via_entry(h: &Headers) -> Option<&str> {
    h.iter()
        .find_map(|x| match x {
            Header::Via(v) => Some(v.value()),
            _ => None,
        })
        .and_then(|v| headers::via_entries(v).next())
}

/// Which client transaction a response belongs to: top Via branch and CSeq method.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct ClientKey {
    /// The branch this layer's user put in the request.
    pub(super) branch: Box<str>,
    /// The request's method.
    pub(super) method: Method,
}

/// How an ACK for a 2xx finds its Accepted INVITE server transaction (it carries a new
/// branch): Call-ID, From tag, CSeq number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct AckKey {
    call_id: Box<str>,
    from_tag: Box<str>,
    cseq: u32,
}

impl AckKey {
    /// The key of a request or response; `None` without Call-ID or CSeq.
    pub(super) fn of(h: &Headers) -> Option<Self> {
        Some(Self {
            call_id: headers::call_id(h)?.into(),
            from_tag: headers::from_tag(h).unwrap_or_default().into(),
            cseq: headers::cseq(h)?.seq,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(text: &str) -> Request {
        Request::try_from(text).expect("parses")
    }

    fn key_of(text: &str, m: Method) -> Option<ServerKey> {
        let r = req(text);
        let via = headers::top_via(&r.headers)?;
        let cseq = headers::cseq(&r.headers)?.seq;
        ServerKey::new(&r, &via, cseq, m)
    }

    const INVITE: &str = "INVITE sip:100@gw SIP/2.0\r\nVia: SIP/2.0/UDP A.example:5060;branch=z9hG4bKx\r\n\
                          From: <sip:a@b>;tag=f\r\nTo: <sip:100@gw>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn branch_keys_compare_sent_by_and_method() {
        let base = key_of(INVITE, Method::Invite).expect("key");
        let cases = [
            (
                INVITE.replace("A.example:5060", "a.example"),
                Method::Invite,
                true,
            ),
            (
                INVITE.replace("A.example:5060", "a.example:5062"),
                Method::Invite,
                false,
            ),
            (
                INVITE.replace("z9hG4bKx", "z9hG4bKy"),
                Method::Invite,
                false,
            ),
            (INVITE.to_string(), Method::Cancel, false),
        ];
        for (text, m, same) in cases {
            assert_eq!(key_of(&text, m).expect("key") == base, same, "{text} {m}");
        }
        assert!(!base.is_legacy());
        assert_eq!(base.without_to_tag(), None);
        assert_eq!(
            base.with_method(Method::Cancel),
            key_of(INVITE, Method::Cancel).expect("key")
        );
    }

    #[test]
    fn legacy_keys() {
        let old = INVITE.replace(";branch=z9hG4bKx", ";branch=1234");
        let base = key_of(&old, Method::Invite).expect("key");
        assert!(base.is_legacy());
        assert_eq!(base.without_to_tag(), None);
        let with_tag = key_of(
            &old.replace("To: <sip:100@gw>", "To: <sip:100@gw>;tag=t"),
            Method::Invite,
        )
        .expect("key");
        assert_ne!(with_tag, base);
        assert_eq!(with_tag.without_to_tag(), Some(base.clone()));
        assert_eq!(
            key_of(&old.replace(";branch=1234", ""), Method::Invite).map(|k| k.is_legacy()),
            Some(true)
        );
        let other_cseq = old.replace("CSeq: 1 INVITE", "CSeq: 2 INVITE");
        assert_ne!(key_of(&other_cseq, Method::Invite), Some(base.clone()));
        let other_uri = old.replace("INVITE sip:100@gw", "INVITE sip:101@gw");
        assert_ne!(key_of(&other_uri, Method::Invite), Some(base));
    }

    #[test]
    fn ack_keys() {
        let r = req(INVITE);
        let ack = req(&INVITE
            .replace("INVITE sip", "ACK sip")
            .replace("1 INVITE", "1 ACK")
            .replace("z9hG4bKx", "z9hG4bKother"));
        assert_eq!(AckKey::of(&r.headers), AckKey::of(&ack.headers));
        assert!(AckKey::of(&r.headers).is_some());
    }
}
