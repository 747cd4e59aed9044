//! Multipart bodies (RFC 2046 §5.1, RFC 5621): the part of one content type, so that an
//! INVITE whose SDP travels beside other parts can still be answered.

use super::grammar::generic_params;

/// The `boundary` parameter of a `multipart/*` Content-Type value (normalised form).
pub fn boundary(content_type: &str) -> Option<String> {
    let (kind, _) = content_type.split_once('/')?;
    if !kind.trim().eq_ignore_ascii_case("multipart") {
        return None;
    }
    let params = content_type.find(';').map_or("", |i| &content_type[i..]);
    generic_params(params)?
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("boundary"))
        .and_then(|(_, v)| v)
        .map(|v| {
            v.strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(&v)
                .to_string()
        })
        .filter(|b| !b.is_empty() && b.len() <= 70)
}

/// Index of the line end at `i` (CRLF or LF) and the index after it.
fn line_end(body: &[u8], from: usize) -> (usize, usize) {
    match body[from..].iter().position(|b| *b == b'\n') {
        Some(p) => {
            let lf = from + p;
            let end = if lf > from && body[lf - 1] == b'\r' {
                lf - 1
            } else {
                lf
            };
            (end, lf + 1)
        }
        None => (body.len(), body.len()),
    }
}

/// Splits a multipart body into its parts (each with its own headers), `None` when no
/// delimiter line is found.
fn parts<'a>(body: &'a [u8], boundary: &str) -> Option<Vec<&'a [u8]>> {
    let delim = format!("--{boundary}");
    let delim = delim.as_bytes();
    // Start of every delimiter line, and where the part after it begins.
    let mut marks: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < body.len() {
        let (end, next) = line_end(body, i);
        if body[i..end].starts_with(delim) {
            marks.push((i, next));
            if body[i + delim.len()..end].starts_with(b"--") {
                break;
            }
        }
        i = next;
    }
    if marks.len() < 2 {
        return None;
    }
    let mut out = Vec::new();
    for w in marks.windows(2) {
        let (start, stop) = (w[0].1, w[1].0);
        // The line end before the next delimiter belongs to the delimiter.
        let mut stop = stop.max(start);
        if stop > start && body[stop - 1] == b'\n' {
            stop -= 1;
            if stop > start && body[stop - 1] == b'\r' {
                stop -= 1;
            }
        }
        out.push(&body[start..stop]);
    }
    Some(out)
}

/// The content of the first part whose Content-Type is `want` (lower-case `type/subtype`).
pub fn find_part<'a>(body: &'a [u8], boundary: &str, want: &str) -> Option<&'a [u8]> {
    for part in parts(body, boundary)? {
        let (headers, content) = split_part(part);
        let text = String::from_utf8_lossy(headers);
        let ct = text.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            let n = n.trim();
            (n.eq_ignore_ascii_case("content-type") || n.eq_ignore_ascii_case("c"))
                .then(|| v.split(';').next().unwrap_or(v).trim().to_ascii_lowercase())
        });
        // A part without Content-Type is text/plain (RFC 2046 §5.1).
        if ct.as_deref() == Some(want) {
            return Some(content);
        }
    }
    None
}

/// Part headers and content (split at the first empty line; no headers when the part
/// starts with one).
fn split_part(part: &[u8]) -> (&[u8], &[u8]) {
    let mut i = 0;
    while i < part.len() {
        let (end, next) = line_end(part, i);
        if end == i {
            return (&part[..i], &part[next..]);
        }
        i = next;
    }
    (part, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDP: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

    #[test]
    fn boundaries() {
        let cases = [
            ("multipart/mixed;boundary=abc", Some("abc")),
            ("Multipart/Alternative;boundary=\"a b:c\"", Some("a b:c")),
            ("multipart/mixed", None),
            ("application/sdp;boundary=x", None),
            ("multipart/mixed;boundary=\"\"", None),
        ];
        for (ct, want) in cases {
            assert_eq!(boundary(ct).as_deref(), want, "{ct}");
        }
    }

    #[test]
    fn finds_the_part() {
        let body = format!(
            "preamble\r\n--b1\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b1\r\ncontent-type : Application/SDP\r\n\r\n{SDP}\r\n--b1\r\n\r\nno headers\r\n--b1--\r\nepilogue"
        );
        let cases: &[(&str, &str, Option<&[u8]>)] = &[
            ("b1", "application/sdp", Some(SDP.as_bytes())),
            ("b1", "text/plain", Some(b"hello")),
            ("b1", "image/png", None),
            ("zz", "application/sdp", None),
        ];
        for (b, want, got) in cases {
            assert_eq!(find_part(body.as_bytes(), b, want), *got, "{b} {want}");
        }
        let lf = "--x\nc: application/sdp\n\nv=0\n--x--\n";
        assert_eq!(
            find_part(lf.as_bytes(), "x", "application/sdp"),
            Some(&b"v=0"[..])
        );
        assert_eq!(find_part(b"--x\r\n", "x", "application/sdp"), None);
        assert_eq!(find_part(b"", "x", "application/sdp"), None);
    }
}
