//! Serialising the messages the layer sends, once each, into one buffer.
//!
//! The output is byte for byte what the message types' own `to_bytes` writes (the tests
//! below check it), without an intermediate string per header, plus the product header
//! (`Server` on responses, `User-Agent` on requests) when one is configured and the message
//! has none.

use std::fmt::Write as _;

use crate::sip::{Header, Headers, Request, Response, StatusCode, Version};

/// Room for a typical message head; the buffer grows when it is not enough.
const HEAD_CAPACITY: usize = 640;

/// Each header as `Name: value\r\n`, the product header when given, then the empty line.
fn write_headers(out: &mut String, headers: &Headers, product: Option<(&str, &str)>) {
    for h in headers.iter() {
        // Writing into a String cannot fail.
        let _ = write!(out, "{h}\r\n");
    }
    if let Some((name, value)) = product {
        let _ = write!(out, "{name}: {value}\r\n");
    }
    out.push_str("\r\n");
}

fn finish(head: String, body: &[u8]) -> Vec<u8> {
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A response on the wire, with `Server: product` unless it has a `Server` header.
pub(super) fn response(r: &Response, product: Option<&str>) -> Vec<u8> {
    let mut out = String::with_capacity(HEAD_CAPACITY + r.body.len());
    let _ = write!(
        out,
        "{} {} {}\r\n",
        r.version,
        r.status_code.code(),
        r.status_code.text()
    );
    let server = product
        .filter(|_| !r.headers.iter().any(|h| matches!(h, Header::Server(_))))
        .map(|p| ("Server", p));
    write_headers(&mut out, &r.headers, server);
    finish(out, &r.body)
}

/// A request on the wire, with `User-Agent: product` unless it has a `User-Agent` header.
pub(super) fn request(r: &Request, product: Option<&str>) -> Vec<u8> {
    let mut out = String::with_capacity(HEAD_CAPACITY + r.body.len());
    let _ = write!(out, "{} {} {}\r\n", r.method, r.uri, r.version);
    let agent = product
        .filter(|_| !r.headers.iter().any(|h| matches!(h, Header::UserAgent(_))))
        .map(|p| ("User-Agent", p));
    write_headers(&mut out, &r.headers, agent);
    finish(out, &r.body)
}

/// `100 Trying` to `req`, as `response(&build::response(req, 100, None), product)` would
/// serialise, without building the response first.
pub(super) fn trying(req: &Request, product: Option<&str>) -> Vec<u8> {
    let mut out = String::with_capacity(HEAD_CAPACITY);
    let _ = write!(out, "{} 100 {}\r\n", Version::V2, StatusCode::Trying.text());
    for h in req.headers.iter() {
        if matches!(
            h,
            Header::Via(_) | Header::From(_) | Header::To(_) | Header::CallId(_) | Header::CSeq(_)
        ) {
            let _ = write!(out, "{h}\r\n");
        }
    }
    out.push_str("Content-Length: 0\r\n");
    if let Some(p) = product {
        let _ = write!(out, "Server: {p}\r\n");
    }
    out.push_str("\r\n");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::build;

    const REQUESTS: &[&str] = &[
        "INVITE sip:+5511987650000@gw.example;user=phone SIP/2.0\r\n\
         Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport=5060;received=192.0.2.1, SIP/2.0/TCP b;branch=z9hG4bK0\r\n\
         v: SIP/2.0/UDP c;branch=z9hG4bKc\r\nMax-Forwards: 70\r\nRecord-Route: <sip:p;lr>\r\nRoute: <sip:q;lr>\r\n\
         f: \"Agent\" <sip:agent@ai.example>;tag=abc\r\nt: <sip:+5511987650000@gw.example>\r\ni: call-1@ai\r\n\
         CSeq: 314 INVITE\r\nm: <sip:agent@10.0.0.5>\r\nAllow: INVITE, ACK, BYE\r\nSupported: timer\r\n\
         Session-Expires: 1800;refresher=uac\r\nX-Custom: yes\r\nUser-Agent: test\r\nContent-Type: application/sdp\r\n\
         Content-Length: 10\r\n\r\nv=0\r\no=- \r\n",
        "OPTIONS sip:gw SIP/2.0\r\nVia: SIP/2.0/UDP [2001:db8::1]:5070;branch=z9hG4bK2\r\nFrom: <sip:a@b>;tag=1\r\n\
         To: <sip:gw>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
    ];

    #[test]
    fn requests_and_responses_serialise_as_the_message_types_do() {
        for text in REQUESTS {
            let req = Request::try_from(*text).expect("parses");
            assert_eq!(request(&req, None), req.to_bytes());
            for code in [100, 180, 200, 486, 603, 799] {
                let r = build::response(&req, code, Some("gt"));
                assert_eq!(response(&r, None), r.to_bytes(), "{code}");
            }
            let mut with_body = build::response(&req, 200, Some("gt"));
            build::set_body(
                &mut with_body.headers,
                &mut with_body.body,
                "application/sdp",
                b"v=0\r\n".to_vec(),
            );
            assert_eq!(response(&with_body, None), with_body.to_bytes());
            let t = build::response(&req, 100, None);
            assert_eq!(trying(&req, None), t.to_bytes());
            assert_eq!(trying(&req, Some("gw/1")), response(&t, Some("gw/1")));
        }
        let parsed = Response::try_from(
            "SIP/2.0 403 Caller Origination Number is Invalid\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n\
             From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
        )
        .expect("parses");
        assert_eq!(response(&parsed, None), parsed.to_bytes());
    }

    #[test]
    fn the_product_header_is_added_once() {
        let text = |b: Vec<u8>| String::from_utf8(b).expect("utf8");
        let with_ua = Request::try_from(REQUESTS[0]).expect("parses");
        let bare = Request::try_from(REQUESTS[1]).expect("parses");
        let out = text(request(&bare, Some("gw/1")));
        assert!(
            out.ends_with("Content-Length: 0\r\nUser-Agent: gw/1\r\n\r\n"),
            "{out}"
        );
        let out = text(request(&with_ua, Some("gw/1")));
        assert!(
            out.contains("User-Agent: test\r\n") && !out.contains("gw/1"),
            "{out}"
        );
        let r = build::response(&bare, 486, Some("t"));
        let out = text(response(&r, Some("gw/1")));
        assert_eq!(out.matches("Server: gw/1\r\n").count(), 1, "{out}");
        let mut own = r.clone();
        own.headers.push(build::header("Server", "mine"));
        let out = text(response(&own, Some("gw/1")));
        assert!(
            out.contains("Server: mine\r\n") && !out.contains("gw/1"),
            "{out}"
        );
        assert!(!text(response(&r, None)).contains("Server"));
    }
}
