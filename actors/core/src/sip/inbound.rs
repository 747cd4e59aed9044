//! From bytes off the wire to a request or response the rest of the gateway can trust, or
//! to the error response RFC 3261 asks for (400, 405, 415, 416, 420, 482, 483, 501, 513).
//! Nothing here panics on any input; what cannot be answered is dropped with a reason.

use super::framing::{frame_datagram, FrameError, Limits};
use super::raw::{header_end, is_token, RawHead};
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

/// The method token of a request line, `None` for a status line.
fn method_token(msg: &[u8]) -> Option<&str> {
    let line_end = msg
        .iter()
        .position(|b| *b == b'\r' || *b == b'\n')
        .unwrap_or(msg.len());
    let first = std::str::from_utf8(&msg[..line_end])
        .ok()?
        .split(' ')
        .next()?;
    (!first.starts_with("SIP/")).then_some(first)
}

/// The raw head of a message, for answering what the parser rejects.
fn raw_head(msg: &[u8]) -> RawHead {
    let head_len = header_end(msg).map_or(msg.len(), |(_, h)| h);
    RawHead::scan(&msg[..head_len])
}

/// Checks one framed message. The happy path parses once; the tolerant raw scan runs only
/// to answer a message the parser rejects.
pub fn from_message(msg: &[u8], policy: &Policy, to_tag: &str) -> Result<Inbound, Rejected> {
    // An unknown but well-formed method: parse with a placeholder so the 501 can copy the
    // headers, as RFC 3261 §8.2.1 asks.
    let mut unknown_method = None;
    let parsed = match method_token(msg) {
        Some(m) if !is_token(m) => {
            return Err(reject_raw(
                &raw_head(msg),
                400,
                "Bad Request (malformed method)",
                to_tag,
                policy,
            ));
        }
        Some(m) if m.parse::<Method>().is_err() => {
            unknown_method = Some(m.to_string());
            let mut replaced = b"OPTIONS".to_vec();
            replaced.extend_from_slice(&msg[m.len()..]);
            super::SipMessage::try_from(replaced.as_slice())
        }
        _ => super::SipMessage::try_from(msg),
    };
    let message = match parsed {
        Ok(m) => m,
        Err(e) => {
            let reason = format!("Bad Request ({})", short(&e.to_string()));
            return Err(reject_raw(&raw_head(msg), 400, &reason, to_tag, policy));
        }
    };
    match message {
        super::SipMessage::Response(r) => check_response(r),
        super::SipMessage::Request(r) => check_request(r, unknown_method, msg, policy, to_tag),
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

fn check_request(
    r: Request,
    unknown_method: Option<String>,
    msg: &[u8],
    policy: &Policy,
    to_tag: &str,
) -> Result<Inbound, Rejected> {
    let is_ack = r.method == Method::Ack && unknown_method.is_none();
    let reject = |code: u16, reason: &str, extra: Vec<Header>| -> Rejected {
        if is_ack {
            return Rejected::drop(format!("ACK: {reason}"));
        }
        let mut resp = build::response(&r, code, Some(to_tag));
        for h in extra {
            resp.headers.push(h);
        }
        if let Some(p) = &policy.product {
            resp.headers.push(build::header("Server", p.as_str()));
        }
        let reason = reason.to_string();
        Rejected {
            status: Some(code),
            reason,
            response: Some(resp.to_bytes()),
        }
    };
    // Mandatory and single-value headers (§8.1.1, §20).
    for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
        if count(&r.headers, name) == 0 {
            return Err(reject(400, &format!("Missing {name} header"), vec![]));
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
            return Err(reject(400, &format!("Duplicate {name} header"), vec![]));
        }
    }
    let Some(cseq) = headers::cseq(&r.headers) else {
        return Err(reject(400, "Malformed CSeq", vec![]));
    };
    let method_text = unknown_method
        .clone()
        .unwrap_or_else(|| r.method.to_string());
    if !cseq.method.eq_ignore_ascii_case(&method_text) {
        return Err(reject(
            400,
            "CSeq method does not match the request",
            vec![],
        ));
    }
    let mf = r.headers.iter().find_map(|h| match h {
        Header::MaxForwards(v) => Some(v.value()),
        _ => None,
    });
    if mf.is_some_and(|v| v.trim().parse::<u32>().is_err()) {
        return Err(reject(400, "Malformed Max-Forwards", vec![]));
    }
    if let Some(m) = unknown_method {
        return Err(reject(
            501,
            &format!("Method {m} not implemented"),
            vec![allow(policy)],
        ));
    }
    if headers::max_forwards(&r.headers) == Some(0)
        && !matches!(r.method, Method::Options | Method::Ack | Method::Cancel)
    {
        return Err(reject(483, "Too Many Hops", vec![]));
    }
    if !policy.loop_branch_prefix.is_empty()
        && r.method != Method::Cancel
        && r.method != Method::Ack
        && headers::all_vias(&r.headers).iter().any(|v| {
            headers::parse_via(v)
                .and_then(|v| v.branch)
                .is_some_and(|b| b.starts_with(&policy.loop_branch_prefix))
        })
    {
        return Err(reject(482, "Loop Detected", vec![]));
    }
    if !policy.allow.contains(&r.method) {
        return Err(reject(405, "Method Not Allowed", vec![allow(policy)]));
    }
    let uri = r.uri.to_string();
    let scheme = uri
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !matches!(scheme.as_str(), "sip" | "sips" | "tel") {
        return Err(reject(416, "Unsupported URI Scheme", vec![]));
    }
    if !matches!(r.method, Method::Ack | Method::Cancel) {
        let unsupported: Vec<String> = headers::require(&r.headers)
            .into_iter()
            .filter(|t| !policy.supported.contains(t))
            .collect();
        if !unsupported.is_empty() {
            return Err(reject(
                420,
                "Bad Extension",
                vec![build::header("Unsupported", unsupported.join(", "))],
            ));
        }
    }
    if !r.body.is_empty() {
        let ct = headers::content_type(&r.headers);
        if !matches!(ct.as_deref(), Some("application/sdp")) {
            return Err(reject(
                415,
                "Unsupported Media Type",
                vec![build::header("Accept", "application/sdp")],
            ));
        }
        let enc = r.headers.iter().find_map(|h| match h {
            Header::ContentEncoding(e) => Some(e.value().trim().to_ascii_lowercase()),
            _ => None,
        });
        if enc.is_some_and(|e| e != "identity") {
            return Err(reject(
                415,
                "Unsupported Media Type",
                vec![build::header("Accept-Encoding", "identity")],
            ));
        }
    }
    Ok(Inbound::Request(r))
}

fn allow(policy: &Policy) -> Header {
    let list: Vec<String> = policy.allow.iter().map(ToString::to_string).collect();
    build::header("Allow", list.join(", "))
}

#[cfg(test)]
mod tests;
