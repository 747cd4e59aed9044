//! The call ladder: a call's SIP messages and its modem's AT lines on one timeline, as
//! text and as a Mermaid sequence diagram. Bounded: a ladder keeps its first
//! [`MAX_STEPS`] steps (and counts the rest), each label cut to [`MAX_LABEL`] characters.

use serde::Serialize;

/// Most steps one ladder keeps.
pub const MAX_STEPS: usize = 400;
/// Longest label kept, characters.
pub const MAX_LABEL: usize = 120;

/// A column of the ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lane {
    /// The carrier trunk (the caller's side).
    Trunk,
    /// This gateway.
    Gateway,
    /// The modem's AT port.
    Modem,
    /// The AI voice agent or a peer node.
    Agent,
}

impl Lane {
    fn name(self) -> &'static str {
        match self {
            Self::Trunk => "trunk",
            Self::Gateway => "gateway",
            Self::Modem => "modem",
            Self::Agent => "agent",
        }
    }

    fn short(self) -> &'static str {
        match self {
            Self::Trunk => "T",
            Self::Gateway => "G",
            Self::Modem => "M",
            Self::Agent => "A",
        }
    }
}

/// One message or line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// When (Unix ms).
    pub at_ms: u64,
    /// From.
    pub from: Lane,
    /// To.
    pub to: Lane,
    /// What: a SIP request line or status, or an AT line.
    pub text: String,
}

impl Step {
    /// A step with its label cut to [`MAX_LABEL`] characters, control characters out.
    pub fn new(at_ms: u64, from: Lane, to: Lane, text: &str) -> Self {
        let mut t: String = text
            .trim()
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(MAX_LABEL)
            .collect();
        if text.trim().chars().count() > MAX_LABEL {
            t.push('…');
        }
        Self {
            at_ms,
            from,
            to,
            text: t,
        }
    }
}

/// One call's ladder.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Ladder {
    /// The SIP Call-ID.
    pub call_id: String,
    /// The modem, once known.
    pub modem: Option<String>,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Steps left out past [`MAX_STEPS`].
    pub dropped: u32,
}

/// Mermaid reads `;` and `#` in a message as syntax: they go as entity codes.
fn mermaid_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '#' => out.push_str("#35;"),
            ';' => out.push_str("#59;"),
            c => out.push(c),
        }
    }
    out
}

impl Ladder {
    /// An empty ladder for a call.
    pub fn new(call_id: &str) -> Self {
        Self {
            call_id: call_id.to_string(),
            ..Self::default()
        }
    }

    /// Adds a step (or counts it, once full).
    pub fn push(&mut self, step: Step) {
        if self.steps.len() < MAX_STEPS {
            self.steps.push(step);
        } else {
            self.dropped = self.dropped.saturating_add(1);
        }
    }

    fn start_ms(&self) -> u64 {
        self.steps.first().map_or(0, |s| s.at_ms)
    }

    /// The ladder as text: one line per step, time from the first step.
    pub fn text(&self) -> String {
        let mut out = format!("call {}", self.call_id);
        if let Some(m) = &self.modem {
            out.push_str(&format!(" on modem {m}"));
        }
        out.push('\n');
        let t0 = self.start_ms();
        for s in &self.steps {
            let ms = s.at_ms.saturating_sub(t0);
            out.push_str(&format!(
                "{:>4}.{:03} s  {:>7} -> {:<7}  {}\n",
                ms / 1000,
                ms % 1000,
                s.from.name(),
                s.to.name(),
                s.text
            ));
        }
        if self.dropped > 0 {
            out.push_str(&format!("… {} more steps not kept\n", self.dropped));
        }
        out
    }

    /// The ladder as a Mermaid sequence diagram.
    pub fn mermaid(&self) -> String {
        let mut out = String::from("sequenceDiagram\n    autonumber\n");
        let used = |l: Lane| self.steps.iter().any(|s| s.from == l || s.to == l);
        for (lane, name) in [
            (Lane::Trunk, "Trunk".to_string()),
            (Lane::Gateway, "e173gw".to_string()),
            (Lane::Agent, "Agent".to_string()),
            (
                Lane::Modem,
                format!(
                    "Modem {}",
                    mermaid_text(self.modem.as_deref().unwrap_or(""))
                )
                .trim_end()
                .to_string(),
            ),
        ] {
            if lane == Lane::Gateway || used(lane) {
                out.push_str(&format!("    participant {} as {name}\n", lane.short()));
            }
        }
        let t0 = self.start_ms();
        for s in &self.steps {
            let arrow = if s.from == Lane::Modem || s.to == Lane::Modem {
                "-)"
            } else {
                "->>"
            };
            let ms = s.at_ms.saturating_sub(t0);
            out.push_str(&format!(
                "    {}{arrow}{}: {} ({}.{:03} s)\n",
                s.from.short(),
                s.to.short(),
                mermaid_text(&s.text),
                ms / 1000,
                ms % 1000
            ));
        }
        if self.dropped > 0 {
            out.push_str(&format!(
                "    Note over G: {} more steps not kept\n",
                self.dropped
            ));
        }
        out
    }
}

/// Splits a byte stream into lines (AT answers arrive in pieces); a line longer than
/// [`MAX_LABEL`] × 4 bytes is cut.
#[derive(Debug, Clone, Default)]
pub struct LineSplitter {
    buf: Vec<u8>,
}

impl LineSplitter {
    /// Takes bytes; returns the lines they complete (empty lines left out).
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        for &b in bytes {
            if b == b'\r' || b == b'\n' {
                if !self.buf.is_empty() {
                    out.push(String::from_utf8_lossy(&self.buf).into_owned());
                    self.buf.clear();
                }
            } else if self.buf.len() < MAX_LABEL * 4 {
                self.buf.push(b);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ladder() -> Ladder {
        let mut l = Ladder::new("c1@host");
        l.modem = Some("354911021000005".into());
        for (at, from, to, text) in [
            (
                1_000,
                Lane::Trunk,
                Lane::Gateway,
                "INVITE sip:5511912345678@gw",
            ),
            (1_001, Lane::Gateway, Lane::Trunk, "100 Trying"),
            (1_020, Lane::Gateway, Lane::Modem, "ATD5511912345678;"),
            (1_300, Lane::Modem, Lane::Gateway, "^CONN:1,0"),
            (1_301, Lane::Gateway, Lane::Trunk, "200 OK"),
            (4_500, Lane::Trunk, Lane::Gateway, "BYE sip:gw #1"),
        ] {
            l.push(Step::new(at, from, to, text));
        }
        l
    }

    #[test]
    fn text_lines_up_on_one_timeline() {
        let t = ladder().text();
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "call c1@host on modem 354911021000005");
        assert_eq!(
            lines[1],
            "   0.000 s    trunk -> gateway  INVITE sip:5511912345678@gw"
        );
        assert_eq!(
            lines[3],
            "   0.020 s  gateway -> modem    ATD5511912345678;"
        );
        assert_eq!(lines[6], "   3.500 s    trunk -> gateway  BYE sip:gw #1");
    }

    #[test]
    fn mermaid_escapes_and_names_the_lanes_used() {
        let m = ladder().mermaid();
        assert!(m.starts_with("sequenceDiagram\n"));
        assert!(m.contains("participant T as Trunk\n"));
        assert!(m.contains("participant M as Modem 354911021000005\n"));
        assert!(!m.contains("participant A"), "no agent in this call");
        assert!(
            m.contains("    G-)M: ATD5511912345678#59; (0.020 s)\n"),
            "{m}"
        );
        assert!(m.contains("T->>G: BYE sip:gw #35;1 (3.500 s)"), "{m}");
    }

    #[test]
    fn bounded() {
        let mut l = Ladder::new("c");
        for i in 0..(MAX_STEPS + 5) {
            l.push(Step::new(i as u64, Lane::Trunk, Lane::Gateway, "x"));
        }
        assert_eq!((l.steps.len(), l.dropped), (MAX_STEPS, 5));
        assert!(l.text().ends_with("… 5 more steps not kept\n"));
        let long = Step::new(0, Lane::Modem, Lane::Gateway, &"y".repeat(500));
        assert_eq!(long.text.chars().count(), MAX_LABEL + 1);
        assert_eq!(
            Step::new(0, Lane::Modem, Lane::Gateway, "a\u{1b}b").text,
            "a b"
        );
    }

    #[test]
    fn lines_from_pieces() {
        let mut s = LineSplitter::default();
        assert!(s.push(b"\r\n^CO").is_empty());
        assert_eq!(s.push(b"NN:1,0\r\n\r\nOK\r\n"), vec!["^CONN:1,0", "OK"]);
        let long = vec![b'z'; 2000];
        s.push(&long);
        assert_eq!(s.push(b"\n")[0].len(), MAX_LABEL * 4);
    }
}
