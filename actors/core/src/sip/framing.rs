//! Message boundaries: one message per UDP datagram, or a TCP byte stream cut by
//! Content-Length. Size limits are enforced before anything is parsed.

use super::raw::header_end;

/// Size limits for inbound messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest datagram or stream message, headers and body together.
    pub max_message: usize,
    /// Largest header part.
    pub max_headers: usize,
    /// Largest body.
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message: 65_535,
            max_headers: 16 * 1024,
            max_body: 32 * 1024,
        }
    }
}

/// Why bytes could not be framed into a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The message is larger than allowed.
    #[error("message of {0} bytes is over the limit")]
    TooLarge(usize),
    /// The headers are larger than allowed (or never end).
    #[error("headers over {0} bytes")]
    HeadersTooLarge(usize),
    /// No empty line ends the headers.
    #[error("no end of headers")]
    NoHeaderEnd,
    /// Content-Length is not a number, or appears twice with different values.
    #[error("bad Content-Length: {0}")]
    BadContentLength(String),
    /// The body is shorter than Content-Length says.
    #[error("body of {got} bytes is shorter than Content-Length {declared}")]
    Truncated {
        /// Content-Length.
        declared: usize,
        /// Bytes present.
        got: usize,
    },
    /// A stream message without Content-Length (mandatory on TCP).
    #[error("Content-Length is required on a stream transport")]
    MissingContentLength,
}

/// Content-Length from the raw head (`Content-Length` or `l`), without allocating:
/// `Ok(None)` when absent.
fn content_length(head: &[u8]) -> Result<Option<usize>, FrameError> {
    let mut found: Option<usize> = None;
    for line in head.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let name = line[..colon].trim_ascii();
        if !(name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l")) {
            continue;
        }
        let v = String::from_utf8_lossy(line[colon + 1..].trim_ascii()).into_owned();
        // 1*DIGIT: no sign, no spaces inside.
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FrameError::BadContentLength(v));
        }
        let n: usize = v
            .parse()
            .map_err(|_| FrameError::BadContentLength(v.to_string()))?;
        if found.is_some_and(|f| f != n) {
            return Err(FrameError::BadContentLength("two different values".into()));
        }
        found = Some(n);
    }
    Ok(found)
}

/// One message from one datagram: returns the message bytes with any extra bytes after
/// the Content-Length body cut off. Without Content-Length the body is the rest of the
/// datagram (RFC 3261 §18.3).
pub fn frame_datagram<'a>(buf: &'a [u8], limits: &Limits) -> Result<&'a [u8], FrameError> {
    if buf.len() > limits.max_message {
        return Err(FrameError::TooLarge(buf.len()));
    }
    let (body_start, head_len) = header_end(buf).ok_or(if buf.len() > limits.max_headers {
        FrameError::HeadersTooLarge(limits.max_headers)
    } else {
        FrameError::NoHeaderEnd
    })?;
    if head_len > limits.max_headers {
        return Err(FrameError::HeadersTooLarge(limits.max_headers));
    }
    let available = buf.len() - body_start;
    match content_length(&buf[..head_len])? {
        Some(n) if n > limits.max_body => Err(FrameError::TooLarge(body_start + n)),
        Some(n) if n > available => Err(FrameError::Truncated {
            declared: n,
            got: available,
        }),
        Some(n) => Ok(&buf[..body_start + n]),
        None if available > limits.max_body => Err(FrameError::TooLarge(buf.len())),
        None => Ok(buf),
    }
}

/// Cuts a TCP byte stream into messages. Keep-alive CRLFs between messages are skipped.
/// After an error the stream cannot be resynchronised: close the connection.
#[derive(Debug, Default)]
pub struct StreamFramer {
    buf: Vec<u8>,
    limits: Limits,
}

impl StreamFramer {
    /// A framer with these limits.
    pub fn new(limits: Limits) -> Self {
        Self {
            buf: Vec::new(),
            limits,
        }
    }

    /// Appends bytes read from the connection.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The next whole message, `Ok(None)` when more bytes are needed.
    pub fn next_message(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        let skip = self
            .buf
            .iter()
            .take_while(|b| **b == b'\r' || **b == b'\n')
            .count();
        if skip > 0 {
            self.buf.drain(..skip);
        }
        if self.buf.is_empty() {
            return Ok(None);
        }
        let Some((body_start, head_len)) = header_end(&self.buf) else {
            if self.buf.len() > self.limits.max_headers {
                return Err(FrameError::HeadersTooLarge(self.limits.max_headers));
            }
            return Ok(None);
        };
        if head_len > self.limits.max_headers {
            return Err(FrameError::HeadersTooLarge(self.limits.max_headers));
        }
        let n = content_length(&self.buf[..head_len])?.ok_or(FrameError::MissingContentLength)?;
        if n > self.limits.max_body || body_start + n > self.limits.max_message {
            return Err(FrameError::TooLarge(body_start + n));
        }
        if self.buf.len() < body_start + n {
            return Ok(None);
        }
        let rest = self.buf.split_off(body_start + n);
        Ok(Some(std::mem::replace(&mut self.buf, rest)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "OPTIONS sip:gw SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n";

    #[test]
    fn datagram_cases() {
        let l = Limits::default();
        let ok = format!("{HEAD}Content-Length: 4\r\n\r\nbodyEXTRA");
        assert_eq!(
            frame_datagram(ok.as_bytes(), &l).unwrap(),
            format!("{HEAD}Content-Length: 4\r\n\r\nbody").as_bytes()
        );
        let compact = format!("{HEAD}l: 2\r\n\r\nab");
        assert!(frame_datagram(compact.as_bytes(), &l).is_ok());
        let no_cl = format!("{HEAD}\r\nv=0");
        assert_eq!(
            frame_datagram(no_cl.as_bytes(), &l).unwrap().len(),
            no_cl.len()
        );
        let short = format!("{HEAD}Content-Length: 10\r\n\r\nab");
        assert_eq!(
            frame_datagram(short.as_bytes(), &l),
            Err(FrameError::Truncated {
                declared: 10,
                got: 2
            })
        );
        let bad = format!("{HEAD}Content-Length: x\r\n\r\n");
        assert!(matches!(
            frame_datagram(bad.as_bytes(), &l),
            Err(FrameError::BadContentLength(_))
        ));
        for odd in ["+2", "-1", "1 2", "", "99999999999999999999999"] {
            let m = format!("{HEAD}Content-Length: {odd}\r\n\r\nab");
            assert!(
                matches!(
                    frame_datagram(m.as_bytes(), &l),
                    Err(FrameError::BadContentLength(_))
                ),
                "{odd:?}"
            );
        }
        let twice = format!("{HEAD}Content-Length: 1\r\nl: 2\r\n\r\nab");
        assert!(matches!(
            frame_datagram(twice.as_bytes(), &l),
            Err(FrameError::BadContentLength(_))
        ));
        assert_eq!(
            frame_datagram(HEAD.as_bytes(), &l),
            Err(FrameError::NoHeaderEnd)
        );
        let big = vec![b'a'; 70_000];
        assert_eq!(frame_datagram(&big, &l), Err(FrameError::TooLarge(70_000)));
        let huge_head = format!("{HEAD}X: {}\r\n\r\n", "a".repeat(20_000));
        assert!(matches!(
            frame_datagram(huge_head.as_bytes(), &l),
            Err(FrameError::HeadersTooLarge(_))
        ));
    }

    #[test]
    fn stream_cuts_messages_across_reads() {
        let one = format!("{HEAD}Content-Length: 3\r\n\r\nabc");
        let two = format!("{HEAD}Content-Length: 0\r\n\r\n");
        let all = format!("\r\n\r\n{one}{two}\r\n");
        let mut f = StreamFramer::new(Limits::default());
        let mut got = Vec::new();
        for b in all.as_bytes() {
            f.push(&[*b]);
            while let Some(m) = f.next_message().unwrap() {
                got.push(String::from_utf8(m).unwrap());
            }
        }
        assert_eq!(got, vec![one, two]);
        assert_eq!(f.pending(), 0);
    }

    #[test]
    fn stream_requires_content_length() {
        let mut f = StreamFramer::new(Limits::default());
        f.push(format!("{HEAD}\r\n").as_bytes());
        assert_eq!(f.next_message(), Err(FrameError::MissingContentLength));
        let mut f = StreamFramer::new(Limits::default());
        f.push(&vec![b'x'; 20_000]);
        assert!(matches!(
            f.next_message(),
            Err(FrameError::HeadersTooLarge(_))
        ));
    }
}
