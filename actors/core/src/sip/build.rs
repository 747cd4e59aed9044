//! Building responses and requests.

use rsipstack::sip::headers::make_header;

use super::raw::RawHead;
use super::{headers, Header, Headers, Request, Response, StatusCode, Version};

/// A header from a name and value (compact and unknown names allowed).
pub fn header(name: &str, value: impl Into<String>) -> Header {
    make_header(name, value.into())
}

/// Appends `;tag=<tag>` to a `To` value that has no tag.
fn with_tag(to: &str, tag: Option<&str>) -> String {
    match tag {
        Some(t) if headers::header_param(to, "tag").is_none() => format!("{to};tag={t}"),
        _ => to.to_string(),
    }
}

/// A response to `req`: every `Via`, `From`, `To` (with `to_tag` added when it has none
/// and the response is not 100), `Call-ID` and `CSeq` copied; empty body. (The transaction
/// layer adds the configured `Server` when it sends it.)
pub fn response(req: &Request, code: u16, to_tag: Option<&str>) -> Response {
    let mut h = Headers::default();
    for x in req.headers.iter() {
        match x {
            Header::Via(_) | Header::From(_) | Header::CallId(_) | Header::CSeq(_) => {
                h.push(x.clone())
            }
            Header::To(to) => {
                let tag = if code == 100 { None } else { to_tag };
                h.push(header("To", with_tag(to.value(), tag)));
            }
            // Record-Route is copied into 2xx/18x responses to dialog-creating requests.
            Header::RecordRoute(_) if (101..300).contains(&code) => h.push(x.clone()),
            _ => {}
        }
    }
    h.push(header("Content-Length", "0"));
    Response {
        status_code: StatusCode::from(code),
        version: Version::V2,
        headers: h,
        body: Vec::new(),
        wire_reason: None,
    }
}

/// Sets the body and its `Content-Type`, fixing `Content-Length`.
pub fn set_body(headers: &mut Headers, body_slot: &mut Vec<u8>, content_type: &str, body: Vec<u8>) {
    headers
        .0
        .retain(|h| !matches!(h, Header::ContentLength(_) | Header::ContentType(_)));
    headers.push(header("Content-Type", content_type));
    headers.push(header("Content-Length", body.len().to_string()));
    *body_slot = body;
}

/// Serialises a response to a message the parser could not read, from the raw header
/// lines, with `Server: product` when given: `None` when it lacks what a response needs
/// (Via, From, To, Call-ID, CSeq).
pub fn raw_response(
    head: &RawHead,
    code: u16,
    reason: &str,
    to_tag: &str,
    product: Option<&str>,
) -> Option<Vec<u8>> {
    let vias: Vec<&str> = head.values("Via").collect();
    let from = head.first("From")?;
    let to = head.first("To")?;
    let call_id = head.first("Call-ID")?;
    let cseq = head.first("CSeq")?;
    if vias.is_empty() || vias.iter().any(|v| v.contains(['\r', '\n'])) {
        return None;
    }
    let reason: String = reason.chars().filter(|c| !c.is_control()).collect();
    let mut out = format!("SIP/2.0 {code} {reason}\r\n");
    for v in vias {
        out.push_str(&format!("Via: {v}\r\n"));
    }
    out.push_str(&format!(
        "From: {from}\r\nTo: {}\r\nCall-ID: {call_id}\r\nCSeq: {cseq}\r\n",
        with_tag(to, Some(to_tag))
    ));
    if let Some(p) = product {
        out.push_str(&format!("Server: {p}\r\n"));
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    Some(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite() -> Request {
        let text = "INVITE sip:100@gw SIP/2.0\r\nVia: SIP/2.0/UDP a:5060;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP b;branch=z9hG4bK0\r\n\
                    From: <sip:a@b>;tag=f\r\nTo: <sip:100@gw>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nRecord-Route: <sip:p;lr>\r\n\
                    Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
        Request::try_from(text).expect("parses")
    }

    #[test]
    fn responses_copy_the_right_headers() {
        let req = invite();
        let r = response(&req, 180, Some("t1"));
        assert_eq!(r.status_code.code(), 180);
        assert_eq!(headers::to_tag(&r.headers), Some("t1"));
        assert_eq!(headers::all_vias(&r.headers).len(), 2);
        assert_eq!(
            headers::record_route(&r.headers),
            vec!["<sip:p;lr>".to_string()]
        );
        let trying = response(&req, 100, Some("t1"));
        assert_eq!(headers::to_tag(&trying.headers), None);
        assert!(headers::record_route(&response(&req, 486, Some("t1")).headers).is_empty());
        let text = String::from_utf8(r.to_bytes()).expect("utf8");
        assert!(text.starts_with("SIP/2.0 180 Ringing\r\n"), "{text}");
        assert!(text.contains("Content-Length: 0\r\n"));
    }

    #[test]
    fn raw_responses_need_the_addressing_headers() {
        let head = RawHead::scan(b"INVITE sip:x SIP/2.0\r\nv: SIP/2.0/UDP a;branch=z9hG4bK1\r\nf: <sip:a@b>;tag=1\r\nt: <sip:x>\r\ni: c\r\nCSeq: 1 INVITE");
        let out = String::from_utf8(
            raw_response(&head, 400, "Bad\r\nRequest", "zz", Some("gw")).expect("addressable"),
        )
        .expect("utf8");
        assert!(
            out.starts_with("SIP/2.0 400 BadRequest\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n"),
            "{out}"
        );
        assert!(out.contains("To: <sip:x>;tag=zz\r\n"));
        assert!(out.contains("Server: gw\r\n"));
        let no_via =
            RawHead::scan(b"INVITE sip:x SIP/2.0\r\nf: a\r\nt: b\r\ni: c\r\nCSeq: 1 INVITE");
        assert_eq!(raw_response(&no_via, 400, "Bad", "zz", None), None);
    }
}
