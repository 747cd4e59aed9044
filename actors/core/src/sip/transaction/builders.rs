//! Requests the transaction layer and its user build from an INVITE: CANCEL (§9.1), the
//! ACK for a non-2xx final (§17.1.1.3), and branches.

use super::BRANCH_COOKIE;
use crate::sip::headers::{self, via_entries};
use crate::sip::{build, Header, Headers, Method, Request, Response};

/// A branch: `prefix` (which gets the `z9hG4bK` cookie in front when it lacks it)
/// followed by `n` as 16 hexadecimal digits. The caller passes a node-specific prefix such as
/// `z9hG4bK-e173gw-<node>-`, which the inbound checks use for loop detection, and a
/// counter or random number.
pub fn new_branch(prefix: &str, n: u64) -> String {
    if prefix.starts_with(BRANCH_COOKIE) {
        format!("{prefix}{n:016x}")
    } else {
        format!("{BRANCH_COOKIE}{prefix}{n:016x}")
    }
}

/// The CANCEL for `invite` (RFC 3261 §9.1): same Request-URI, Call-ID, From, To (no tag
/// added), CSeq number with method CANCEL, the INVITE's top Via only, its Route headers
/// and Max-Forwards (70 when it had none). Send it with
/// [`super::TransactionLayer::send_request`] to where the INVITE went.
pub fn cancel_for(invite: &Request) -> Request {
    derived(invite, Method::Cancel, None)
}

/// The ACK for a non-2xx final response to `invite` (RFC 3261 §17.1.1.3): as a CANCEL,
/// but method ACK and the response's To (with its tag).
pub(super) fn ack_for_error(invite: &Request, resp: &Response) -> Request {
    derived(invite, Method::Ack, Some(&resp.headers))
}

/// A request derived from `invite` with its top Via, From, Call-ID, CSeq number, Routes
/// and Max-Forwards; To from `to_from` when given, else the INVITE's.
fn derived(invite: &Request, method: Method, to_from: Option<&Headers>) -> Request {
    let mut h = Headers::default();
    let mut max_forwards = None;
    let mut routes = Vec::new();
    for x in invite.headers.iter() {
        match x {
            Header::Via(v) if !h.iter().any(|y| matches!(y, Header::Via(_))) => {
                if let Some(top) = via_entries(v.value()).next() {
                    h.push(build::header("Via", top));
                }
            }
            Header::From(_) | Header::CallId(_) => h.push(x.clone()),
            Header::To(_) if to_from.is_none() => h.push(x.clone()),
            Header::Route(_) => routes.push(x.clone()),
            Header::MaxForwards(_) => max_forwards = Some(x.clone()),
            _ => {}
        }
    }
    if let Some(to) = to_from.and_then(headers::to) {
        h.push(build::header("To", to));
    }
    let seq = headers::cseq(&invite.headers).map_or(1, |c| c.seq);
    h.push(build::header("CSeq", format!("{seq} {method}")));
    for r in routes {
        h.push(r);
    }
    h.push(max_forwards.unwrap_or_else(|| build::header("Max-Forwards", "70")));
    h.push(build::header("Content-Length", "0"));
    Request {
        method,
        uri: invite.uri.clone(),
        version: invite.version,
        headers: h,
        body: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite() -> Request {
        let text = "INVITE sip:+5511987650000@gw.example SIP/2.0\r\n\
                    Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-e173gw-n1-7, SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKup\r\n\
                    Via: SIP/2.0/UDP 10.0.0.10;branch=z9hG4bKup2\r\n\
                    Route: <sip:proxy1;lr>\r\nRoute: <sip:proxy2;lr>\r\nMax-Forwards: 69\r\n\
                    From: \"Agent\" <sip:agent@ai.example>;tag=abc\r\nTo: <sip:+5511987650000@gw.example>\r\n\
                    Call-ID: call-1@ai\r\nCSeq: 314 INVITE\r\nContact: <sip:agent@10.0.0.5>\r\n\
                    Content-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n";
        Request::try_from(text).expect("parses")
    }

    #[test]
    fn branches_carry_the_cookie() {
        let cases = [
            (
                "z9hG4bK-e173gw-n1-",
                255,
                "z9hG4bK-e173gw-n1-00000000000000ff",
            ),
            ("-e173gw-n1-", 16, "z9hG4bK-e173gw-n1-0000000000000010"),
            ("", u64::MAX, "z9hG4bKffffffffffffffff"),
        ];
        for (prefix, n, want) in cases {
            assert_eq!(new_branch(prefix, n), want);
        }
    }

    #[test]
    fn cancel_copies_what_section_9_1_asks() {
        let inv = invite();
        let c = cancel_for(&inv);
        assert_eq!(c.method, Method::Cancel);
        assert_eq!(c.uri, inv.uri);
        assert_eq!(
            headers::all_vias(&c.headers),
            vec!["SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-e173gw-n1-7"]
        );
        assert_eq!(
            headers::cseq(&c.headers).map(|c| (c.seq, c.method)),
            Some((314, "CANCEL".to_string()))
        );
        assert_eq!(headers::to(&c.headers), headers::to(&inv.headers));
        assert_eq!(headers::to_tag(&c.headers), None);
        assert_eq!(headers::from(&c.headers), headers::from(&inv.headers));
        assert_eq!(headers::call_id(&c.headers), Some("call-1@ai"));
        assert_eq!(headers::max_forwards(&c.headers), Some(69));
        assert!(c.body.is_empty());
        let text = String::from_utf8(c.to_bytes()).expect("utf8");
        assert!(
            text.contains("Route: <sip:proxy1;lr>\r\nRoute: <sip:proxy2;lr>\r\n"),
            "{text}"
        );
        assert!(!text.contains("Contact"), "{text}");
        assert!(text.contains("Content-Length: 0\r\n"), "{text}");
        // Reparses.
        assert_eq!(
            Request::try_from(text.as_str()).expect("reparses").method,
            Method::Cancel
        );
    }

    #[test]
    fn ack_for_an_error_takes_the_response_to() {
        let inv = invite();
        let resp = build::response(&inv, 486, Some("gw-tag"));
        let ack = ack_for_error(&inv, &resp);
        assert_eq!(ack.method, Method::Ack);
        assert_eq!(ack.uri, inv.uri);
        assert_eq!(headers::to_tag(&ack.headers), Some("gw-tag"));
        assert_eq!(
            headers::cseq(&ack.headers).map(|c| (c.seq, c.method)),
            Some((314, "ACK".to_string()))
        );
        assert_eq!(headers::all_vias(&ack.headers).len(), 1);
        assert_eq!(
            headers::top_via(&ack.headers)
                .and_then(|v| v.branch)
                .as_deref(),
            Some("z9hG4bK-e173gw-n1-7")
        );
        let text = String::from_utf8(ack.to_bytes()).expect("utf8");
        assert!(text.contains("Route: <sip:proxy1;lr>\r\n"), "{text}");
        // An INVITE without Max-Forwards gets 70.
        let mut bare = inv.clone();
        bare.headers
            .retain(|h| !matches!(h, Header::MaxForwards(_)));
        assert_eq!(headers::max_forwards(&cancel_for(&bare).headers), Some(70));
    }
}
