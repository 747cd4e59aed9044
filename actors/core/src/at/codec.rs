//! The AT byte-stream decoder.
//!
//! Bytes from the modem's AT port go in with [`AtDecoder::push`]; [`AtDecoder::decode`]
//! returns one [`Frame`] at a time, or `None` when it needs more bytes. Nothing here is an
//! error: garbage, overlong lines and unknown text come out as [`Frame::Garbage`] so the
//! caller can count them, and decoding goes on.
//!
//! What a line means depends on the command that is running (a `+CREG:` line is the answer
//! to `AT+CREG?` but a URC otherwise; an unprefixed line is an answer only to commands such
//! as `AT+CGSN`). The session tells the decoder with [`AtDecoder::expect`]. Lines are
//! classified in this order:
//!
//! 1. final results (`OK`, `ERROR`, `+CME ERROR: n`, `+CMS ERROR: n`, `COMMAND NOT SUPPORT`;
//!    `NO CARRIER`, `BUSY`, `NO ANSWER`, `NO DIALTONE` only while a dial or answer runs,
//!    otherwise they are call-event URCs);
//! 2. echo (a line starting with `AT`);
//! 3. lines starting with one of the running command's answer prefixes;
//! 4. known unsolicited result codes;
//! 5. unprefixed lines, when the running command answers without a prefix;
//! 6. everything else is garbage.
//!
//! Step 4 before step 5 means a URC that arrives while `AT+CGMR` runs is never taken as the
//! firmware string ("response skew").

use super::urc::Urc;

/// Longest line kept; longer runs of bytes without a line end are dropped as garbage.
pub const MAX_LINE: usize = 2048;

/// A final result code: the end of a command's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinalResult {
    /// `OK`
    Ok,
    /// `ERROR`
    Error,
    /// `COMMAND NOT SUPPORT` (Huawei), handled like `ERROR`.
    NotSupported,
    /// `+CME ERROR: <n>` (or a text form, kept in `text`).
    CmeError(ErrorCode),
    /// `+CMS ERROR: <n>`
    CmsError(ErrorCode),
    /// `NO CARRIER`
    NoCarrier,
    /// `BUSY`
    Busy,
    /// `NO ANSWER`
    NoAnswer,
    /// `NO DIALTONE`
    NoDialtone,
}

impl FinalResult {
    /// Whether the command succeeded.
    pub fn is_ok(&self) -> bool {
        matches!(self, Self::Ok)
    }

    fn parse(line: &str, dialing: bool) -> Option<Self> {
        let upper = line.trim().to_ascii_uppercase();
        let r = match upper.as_str() {
            "OK" => Self::Ok,
            "ERROR" => Self::Error,
            "COMMAND NOT SUPPORT" => Self::NotSupported,
            "NO CARRIER" if dialing => Self::NoCarrier,
            "BUSY" if dialing => Self::Busy,
            "NO ANSWER" if dialing => Self::NoAnswer,
            "NO DIALTONE" if dialing => Self::NoDialtone,
            _ => {
                if let Some(rest) = super::params_after(line, "+CME ERROR:") {
                    Self::CmeError(ErrorCode::parse(rest))
                } else if let Some(rest) = super::params_after(line, "+CMS ERROR:") {
                    Self::CmsError(ErrorCode::parse(rest))
                } else {
                    return None;
                }
            }
        };
        Some(r)
    }

    /// The call-progress results that end a call when they arrive outside a dial.
    pub(crate) fn call_progress(line: &str) -> Option<Self> {
        match line.trim().to_ascii_uppercase().as_str() {
            "NO CARRIER" => Some(Self::NoCarrier),
            "BUSY" => Some(Self::Busy),
            "NO ANSWER" => Some(Self::NoAnswer),
            "NO DIALTONE" => Some(Self::NoDialtone),
            _ => None,
        }
    }
}

/// The code of a `+CME ERROR` / `+CMS ERROR`: numeric (`AT+CMEE=1`) or verbose (`=2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorCode {
    /// Numeric code, e.g. 10 = SIM not inserted.
    Code(u16),
    /// Verbose text, e.g. "SIM not inserted".
    Text(String),
}

impl ErrorCode {
    fn parse(s: &str) -> Self {
        let s = s.trim();
        match s.parse::<u16>() {
            Ok(n) => Self::Code(n),
            Err(_) => Self::Text(s.to_string()),
        }
    }

    /// Whether this code says the SIM is missing, locked or failed (3GPP 27.007 §9.2).
    pub fn is_sim_fault(&self) -> bool {
        match self {
            Self::Code(n) => matches!(n, 5 | 10..=18),
            Self::Text(t) => t.to_ascii_uppercase().contains("SIM"),
        }
    }
}

/// What the running command expects, so the decoder can credit lines to it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expect {
    /// Answer prefixes, e.g. `["+CSQ:"]`.
    pub prefixes: Vec<String>,
    /// Unprefixed lines (`huawei`, an IMEI) belong to the command.
    pub unprefixed: bool,
    /// The command is a dial or answer: `NO CARRIER`, `BUSY`, ... are its final result.
    pub dialing: bool,
    /// The command waits for the SMS prompt `> `.
    pub prompt: bool,
}

/// One decoded unit of the AT stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A final result code for the running command.
    Final(FinalResult),
    /// An information line belonging to the running command.
    Response(String),
    /// An unsolicited result code.
    Urc(Urc),
    /// The modem echoed a command (echo is on, e.g. after a reset).
    Echo(String),
    /// The SMS text prompt `> `.
    Prompt,
    /// A line that belongs to nothing, binary noise, or an overlong run of bytes.
    Garbage(String),
}

/// Counts of what the decoder has seen, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecoderStats {
    /// Bytes pushed in.
    pub bytes: u64,
    /// Frames produced (any kind).
    pub frames: u64,
    /// Garbage frames.
    pub garbage: u64,
}

/// Incremental decoder of the modem's AT port. See the module docs.
#[derive(Debug, Default)]
pub struct AtDecoder {
    buf: Vec<u8>,
    pos: usize,
    expect: Expect,
    stats: DecoderStats,
}

fn is_eol(b: u8) -> bool {
    b == b'\r' || b == b'\n'
}

impl AtDecoder {
    /// A decoder with nothing buffered and no command running.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares what the running command expects (or `Expect::default()` when idle).
    pub fn expect(&mut self, expect: Expect) {
        self.expect = expect;
    }

    /// What the running command expects.
    pub fn expecting(&self) -> &Expect {
        &self.expect
    }

    /// Appends bytes read from the port.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.pos > 0 && self.pos >= self.buf.len() / 2 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
        self.stats.bytes += bytes.len() as u64;
    }

    /// Drops everything buffered (after a port reopen).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.pos = 0;
    }

    /// Bytes buffered but not yet decoded.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Counters.
    pub fn stats(&self) -> DecoderStats {
        self.stats
    }

    /// Returns the next frame, or `None` when more bytes are needed.
    pub fn decode(&mut self) -> Option<Frame> {
        let frame = self.decode_inner()?;
        self.stats.frames += 1;
        if matches!(frame, Frame::Garbage(_)) {
            self.stats.garbage += 1;
        }
        Some(frame)
    }

    fn decode_inner(&mut self) -> Option<Frame> {
        loop {
            // Skip line ends (CRLF, LF, CR, CRCRLF are all the same to us) and NULs.
            while self.pos < self.buf.len()
                && (is_eol(self.buf[self.pos]) || self.buf[self.pos] == 0)
            {
                self.pos += 1;
            }
            let rest = &self.buf[self.pos..];
            if rest.is_empty() {
                return None;
            }
            if self.expect.prompt && rest[0] == b'>' {
                // "> " (the space may still be on its way: a lone '>' is enough).
                self.pos += 1;
                if self.buf.get(self.pos) == Some(&b' ') {
                    self.pos += 1;
                }
                return Some(Frame::Prompt);
            }
            let Some(end) = rest.iter().position(|&b| is_eol(b)) else {
                if rest.len() > MAX_LINE {
                    let n = rest.len();
                    self.pos = self.buf.len();
                    return Some(Frame::Garbage(format!("<{n} bytes without a line end>")));
                }
                return None;
            };
            let raw = &rest[..end];
            self.pos += end;
            if raw.len() > MAX_LINE {
                return Some(Frame::Garbage(format!("<{} byte line>", raw.len())));
            }
            let line = printable(raw);
            let line = line.trim();
            if line.is_empty() {
                // A line of only control bytes: noise, already consumed.
                if raw.iter().any(|b| !b.is_ascii_whitespace()) {
                    return Some(Frame::Garbage(format!("<{} control bytes>", raw.len())));
                }
                continue;
            }
            return Some(self.classify(line));
        }
    }

    fn classify(&self, line: &str) -> Frame {
        let e = &self.expect;
        if let Some(f) = FinalResult::parse(line, e.dialing) {
            return Frame::Final(f);
        }
        if line
            .as_bytes()
            .get(..2)
            .is_some_and(|h| h.eq_ignore_ascii_case(b"AT"))
        {
            return Frame::Echo(line.to_string());
        }
        if e.prefixes
            .iter()
            .any(|p| super::params_after(line, p).is_some())
        {
            return Frame::Response(line.to_string());
        }
        if let Some(urc) = Urc::parse(line) {
            return Frame::Urc(urc);
        }
        if let Some(f) = FinalResult::call_progress(line) {
            return Frame::Urc(Urc::CallProgress(f));
        }
        if e.unprefixed {
            return Frame::Response(line.to_string());
        }
        Frame::Garbage(line.to_string())
    }
}

/// Keeps printable ASCII and valid UTF-8 text; replaces control bytes with nothing and
/// invalid sequences with U+FFFD so a garbage line still shows what came.
fn printable(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw)
        .chars()
        .filter(|c| !c.is_control() || *c == '\t')
        .collect()
}

#[cfg(test)]
mod tests;
