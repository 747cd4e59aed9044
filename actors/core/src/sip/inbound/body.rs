//! The body checks of RFC 3261 §8.2.3: a type and an encoding the gateway reads. A
//! multipart body with an SDP part (RFC 5621) is reduced to that part.

use crate::sip::{build, headers, multipart, Header, Request};

/// A refusal: status, reason and the header that says what would be accepted.
pub(super) type Refusal = (u16, &'static str, Header);

fn unsupported_type() -> Refusal {
    (
        415,
        "Unsupported Media Type",
        build::header("Accept", "application/sdp"),
    )
}

/// Accepts the body of `r` (not empty): SDP, or a multipart body with an SDP part, which
/// then becomes the body; identity encoding only. A `MESSAGE` (RFC 3428) carries
/// `text/plain` instead.
pub(super) fn accept(r: &mut Request) -> Result<(), Refusal> {
    if r.method == crate::sip::Method::Message {
        return if headers::content_type(&r.headers).as_deref() == Some("text/plain") {
            Ok(())
        } else {
            Err((
                415,
                "Unsupported Media Type",
                build::header("Accept", "text/plain"),
            ))
        };
    }
    let content_type = r.headers.iter().find_map(|h| match h {
        Header::ContentType(v) => Some(v.value().to_string()),
        _ => None,
    });
    let kind = headers::content_type(&r.headers);
    let boundary = match kind.as_deref() {
        Some("application/sdp") => None,
        Some(k) if k.starts_with("multipart/") => Some(
            content_type
                .as_deref()
                .and_then(multipart::boundary)
                .ok_or_else(unsupported_type)?,
        ),
        _ => return Err(unsupported_type()),
    };
    let encoding = r.headers.iter().find_map(|h| match h {
        Header::ContentEncoding(e) => Some(e.value().trim().to_ascii_lowercase()),
        _ => None,
    });
    if encoding.is_some_and(|e| !e.is_empty() && e != "identity") {
        return Err((
            415,
            "Unsupported Media Type",
            build::header("Accept-Encoding", "identity"),
        ));
    }
    if let Some(b) = boundary {
        let sdp = multipart::find_part(&r.body, &b, "application/sdp")
            .ok_or_else(unsupported_type)?
            .to_vec();
        build::set_body(&mut r.headers, &mut r.body, "application/sdp", sdp);
    }
    Ok(())
}
