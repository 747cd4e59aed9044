//! From bytes off the wire to a request or response the rest of the gateway can trust, or
//! to the error response RFC 3261 asks for (400, 405, 415, 416, 420, 482, 483, 501, 513).
//! Nothing here panics on any input; what cannot be answered is dropped with a reason.

use super::framing::{frame_datagram, FrameError, Limits};
mod body;

use super::normalize;
use super::raw::{header_end, RawHead};
use super::startline::{self, StartError, StartLine};
use super::{build, headers, Header, Method, Request, Response};

/// What the receiver accepts.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Methods the gateway implements (answered 405 with `Allow` otherwise, when known).
    pub allow: Vec<Method>,
    /// Option tags the gateway supports (`Require` with others gets 420).
    pub supported: Vec<String>,
    /// Prefix of the branches this node puts in its Vias; seeing one in a request means
    /// the request looped back (482).
    pub loop_branch_prefix: String,
    /// Size limits.
    pub limits: Limits,
    /// `Server` value of the error responses (`None`: no `Server` header).
    pub product: Option<String>,
}

/// A message that passed every check.
#[derive(Debug, Clone)]
pub enum Inbound {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

/// A message that did not pass: answer it with `response` when there is one, then drop it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Status answered (`None`: dropped silently).
    pub status: Option<u16>,
    /// Why, for logs and counters.
    pub reason: String,
    /// The serialised response to send back to the source.
    pub response: Option<Vec<u8>>,
}

impl Rejected {
    fn drop(reason: impl Into<String>) -> Self {
        Self {
            status: None,
            reason: reason.into(),
            response: None,
        }
    }
}

/// Single-value headers that must not appear twice.
const SINGLE: &[&str] = &[
    "Call-ID",
    "CSeq",
    "From",
    "To",
    "Max-Forwards",
    "Content-Length",
    "Content-Type",
];

/// Frames one datagram and checks it.
pub fn from_datagram(buf: &[u8], policy: &Policy, to_tag: &str) -> Result<Inbound, Rejected> {
    match frame_datagram(buf, &policy.limits) {
        Ok(msg) => from_message(msg, policy, to_tag),
        Err(e) => {
            let (code, reason) = match &e {
                FrameError::TooLarge(_) | FrameError::HeadersTooLarge(_) => {
                    (513, "Message Too Large")
                }
                _ => (400, "Bad Request"),
            };
            let head_len =
                header_end(buf).map_or(buf.len().min(policy.limits.max_headers), |(_, h)| h);
            Err(reject_raw(
                &RawHead::scan(&buf[..head_len]),
                code,
                &format!("{reason} ({e})"),
                to_tag,
                policy,
            ))
        }
    }
}

/// A 4xx/5xx built from raw header lines, or a silent drop when it cannot be addressed
/// (responses, ACKs, no Via...).
fn reject_raw(head: &RawHead, code: u16, reason: &str, to_tag: &str, policy: &Policy) -> Rejected {
    let Some(method) = head.request_method() else {
        return Rejected::drop(format!("response: {reason}"));
    };
    if method.eq_ignore_ascii_case("ACK") {
        return Rejected::drop(format!("ACK: {reason}"));
    }
    match build::raw_response(head, code, reason, to_tag, policy.product.as_deref()) {
        Some(bytes) => Rejected {
            status: Some(code),
            reason: reason.to_string(),
            response: Some(bytes),
        },
        None => Rejected::drop(format!("unaddressable: {reason}")),
    }
}

/// The raw head of a message, for answering what the parser rejects.
fn raw_head(msg: &[u8]) -> RawHead {
    let head_len = header_end(msg).map_or(msg.len(), |(_, h)| h);
    RawHead::scan(&msg[..head_len])
}

/// What the Request-Line said, beside the parsed request (whose method and URI only
/// hold what the parser's model can).
#[derive(Debug, Clone)]
struct Line {
    /// The method as written.
    method: String,
    /// Whether the method is one the parser knows (spelt exactly).
    known: bool,
    /// The Request-URI scheme, lower-case.
    scheme: String,
}

/// The parser's method for a method token: only exact spellings count (method names
/// are case-sensitive, RFC 3261 §7.1).
fn known_method(m: &str) -> Option<Method> {
    m.parse::<Method>().ok().filter(|k| k.to_string() == m)
}

/// Checks one framed message. The start line and the header section are checked and
/// normalised here (folding, LWS, compact names); the parser then reads the plain form.
pub fn from_message(msg: &[u8], policy: &Policy, to_tag: &str) -> Result<Inbound, Rejected> {
    let bad = |reason: String| reject_raw(&raw_head(msg), 400, &reason, to_tag, policy);
    let Some((body_start, head_len)) = header_end(msg) else {
        return Err(bad("Bad Request (no end of headers)".into()));
    };
    let head = normalize::head(&msg[..head_len]).map_err(|e| bad(format!("Bad Request ({e})")));
    let start_text = match &head {
        Ok(h) => h.start.clone(),
        Err(_) => raw_head(msg).start,
    };
    let start = startline::parse(&start_text);
    // A malformed start line is reported before a malformed header, a version after.
    let start = match start {
        Err(StartError::Malformed(_)) => {
            return Err(bad(format!("Bad Request ({})", short(&start_text))))
        }
        Ok(s) => Ok(s),
        Err(e) => Err(e),
    };
    let head = head?;
    let start = match start {
        Ok(s) => s,
        Err(e) => {
            return Err(reject_raw(
                &raw_head(msg),
                505,
                &format!("Version Not Supported ({e})"),
                to_tag,
                policy,
            ))
        }
    };
    let (wire_start, line) = match &start {
        StartLine::Response { code, reason } => (format!("SIP/2.0 {code} {reason}"), None),
        StartLine::Request { method, uri } => {
            let known = known_method(method);
            let placeholder = known.map_or_else(|| "OPTIONS".to_string(), |m| m.to_string());
            (
                format!("{placeholder} sip:request-uri.invalid SIP/2.0"),
                Some((
                    Line {
                        method: method.to_string(),
                        known: known.is_some(),
                        scheme: uri.scheme(),
                    },
                    uri.to_uri(),
                )),
            )
        }
    };
    let mut head = head;
    let body = &msg[body_start..];
    if !head.headers.iter().any(|(n, _)| n == "Content-Length") {
        // Without Content-Length a datagram's body is the rest of it (RFC 3261 §18.3).
        head.headers
            .push(("Content-Length".into(), body.len().to_string()));
    }
    let mut wire = head.write(&wire_start);
    wire.extend_from_slice(body);
    let message = match super::SipMessage::try_from(wire.as_slice()) {
        Ok(m) => m,
        Err(e) => return Err(bad(format!("Bad Request ({})", short(&e.to_string())))),
    };
    match (message, line) {
        (super::SipMessage::Response(r), _) => check_response(r),
        (super::SipMessage::Request(mut r), Some((line, uri))) => {
            r.uri = uri;
            check_request(r, line, msg, policy, to_tag)
        }
        (super::SipMessage::Request(_), None) => Err(Rejected::drop("start line mismatch")),
    }
}

/// How many headers of the kind `name` the parsed message has.
fn count(h: &super::Headers, name: &str) -> usize {
    h.iter()
        .filter(|x| match name {
            "Via" => matches!(x, Header::Via(_)),
            "From" => matches!(x, Header::From(_)),
            "To" => matches!(x, Header::To(_)),
            "Call-ID" => matches!(x, Header::CallId(_)),
            "CSeq" => matches!(x, Header::CSeq(_)),
            "Max-Forwards" => matches!(x, Header::MaxForwards(_)),
            "Content-Length" => matches!(x, Header::ContentLength(_)),
            "Content-Type" => matches!(x, Header::ContentType(_)),
            _ => false,
        })
        .count()
}

fn short(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(80).collect()
}

fn check_response(r: Response) -> Result<Inbound, Rejected> {
    if headers::top_via(&r.headers).is_none() {
        return Err(Rejected::drop("response without a usable Via"));
    }
    if headers::cseq(&r.headers).is_none() || headers::call_id(&r.headers).is_none() {
        return Err(Rejected::drop("response without CSeq or Call-ID"));
    }
    Ok(Inbound::Response(r))
}

/// The RFC 3261 §8.2 checks, in this order: malformed or missing headers (400), no hops
/// left (483), a loop (482), an unsupported Request-URI scheme (416), an unknown (501)
/// or not allowed (405) method, an unsupported `Require` (420), an unsupported body
/// (415), and for an INVITE an `Accept` without SDP (406). The first failing check wins.
fn check_request(
    mut r: Request,
    line: Line,
    msg: &[u8],
    policy: &Policy,
    to_tag: &str,
) -> Result<Inbound, Rejected> {
    let is_ack = r.method == Method::Ack && line.known;
    let reject = |r: &Request, code: u16, reason: &str, extra: Vec<Header>| -> Rejected {
        if is_ack {
            return Rejected::drop(format!("ACK: {reason}"));
        }
        let mut resp = build::response(r, code, Some(to_tag));
        for h in extra {
            resp.headers.push(h);
        }
        if let Some(p) = &policy.product {
            resp.headers.push(build::header("Server", p.as_str()));
        }
        Rejected {
            status: Some(code),
            reason: reason.to_string(),
            response: Some(resp.to_bytes()),
        }
    };
    // Mandatory and single-value headers (§8.1.1, §20).
    for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
        if count(&r.headers, name) == 0 {
            return Err(reject(&r, 400, &format!("Missing {name} header"), vec![]));
        }
    }
    if headers::top_via(&r.headers).is_none() {
        return Err(reject_raw(
            &raw_head(msg),
            400,
            "Bad Request (malformed Via)",
            to_tag,
            policy,
        ));
    }
    for name in SINGLE {
        if count(&r.headers, name) > 1 {
            return Err(reject(&r, 400, &format!("Duplicate {name} header"), vec![]));
        }
    }
    let Some(cseq) = headers::cseq(&r.headers) else {
        return Err(reject(&r, 400, "Malformed CSeq", vec![]));
    };
    if cseq.method != line.method {
        return Err(reject(
            &r,
            400,
            "CSeq method does not match the request",
            vec![],
        ));
    }
    let no_hops = headers::max_forwards(&r.headers) == Some(0)
        && !(line.known && matches!(r.method, Method::Options | Method::Ack | Method::Cancel));
    if no_hops {
        return Err(reject(&r, 483, "Too Many Hops", vec![]));
    }
    let exempt = line.known && matches!(r.method, Method::Cancel | Method::Ack);
    let looped = !policy.loop_branch_prefix.is_empty()
        && !exempt
        && headers::all_vias(&r.headers).iter().any(|v| {
            headers::parse_via(v)
                .and_then(|v| v.branch)
                .is_some_and(|b| b.starts_with(&policy.loop_branch_prefix))
        });
    if looped {
        return Err(reject(&r, 482, "Loop Detected", vec![]));
    }
    if !matches!(line.scheme.as_str(), "sip" | "sips" | "tel") {
        return Err(reject(&r, 416, "Unsupported URI Scheme", vec![]));
    }
    if !line.known {
        return Err(reject(
            &r,
            501,
            &format!("Method {} not implemented", short(&line.method)),
            vec![allow(policy)],
        ));
    }
    if !policy.allow.contains(&r.method) {
        return Err(reject(&r, 405, "Method Not Allowed", vec![allow(policy)]));
    }
    if !matches!(r.method, Method::Ack | Method::Cancel) {
        let unsupported: Vec<String> = headers::require(&r.headers)
            .into_iter()
            .filter(|t| !policy.supported.iter().any(|s| s.eq_ignore_ascii_case(t)))
            .collect();
        if !unsupported.is_empty() {
            return Err(reject(
                &r,
                420,
                "Bad Extension",
                vec![build::header("Unsupported", unsupported.join(", "))],
            ));
        }
    }
    if !r.body.is_empty() {
        if let Err((code, reason, extra)) = body::accept(&mut r) {
            return Err(reject(&r, code, reason, vec![extra]));
        }
    }
    if r.method == Method::Invite && !headers::accepts_sdp(&r.headers) {
        return Err(reject(
            &r,
            406,
            "Not Acceptable",
            vec![build::header("Accept", "application/sdp")],
        ));
    }
    Ok(Inbound::Request(r))
}

fn allow(policy: &Policy) -> Header {
    let list: Vec<String> = policy.allow.iter().map(ToString::to_string).collect();
    build::header("Allow", list.join(", "))
}

#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod torture;
