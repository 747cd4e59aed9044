//! Transcript tests of the modem session: time is a parameter, the modem is a script.

mod calls;
mod health;
mod incoming;
mod init;
mod sms;

use std::time::{Duration, Instant};

use super::*;

/// Answers of a healthy E173 to the default init sequence.
pub(super) fn e173_answer(cmd: &str) -> &'static str {
    match cmd {
        "AT+CGMI" => "\r\nhuawei\r\n\r\nOK\r\n",
        "AT+CGMM" => "\r\nE173\r\n\r\nOK\r\n",
        "AT+CGMR" => "\r\n11.126.85.00.209\r\n\r\nOK\r\n",
        "AT+CGSN" => "\r\n353143041234567\r\n\r\nOK\r\n",
        "AT+CIMI" => "\r\n724021234567890\r\n\r\nOK\r\n",
        "AT^ICCID?" => "\r\n^ICCID: 98550210325476981000\r\n\r\nOK\r\n",
        "AT+CPIN?" => "\r\n+CPIN: READY\r\n\r\nOK\r\n",
        "AT+CREG?" => "\r\n+CREG: 2,1,\"00B3\",\"926A\"\r\n\r\nOK\r\n",
        "AT+CNUM" => "\r\n+CNUM: \"\",\"+5511987650000\",145\r\n\r\nOK\r\n",
        "AT+COPS?" => "\r\n+COPS: 0,0,\"TIM BR\",2\r\n\r\nOK\r\n",
        "AT^CVOICE?" => "\r\n^CVOICE:0,8000,16,20\r\n\r\nOK\r\n",
        "AT+CSQ" => "\r\n+CSQ: 17,99\r\n\r\nOK\r\n",
        _ => "\r\nOK\r\n",
    }
}

pub(super) struct Harness {
    pub(super) s: ModemSession,
    pub(super) now: Instant,
    pub(super) t0: Instant,
    events: Vec<SessionEvent>,
}

impl Harness {
    pub(super) fn new() -> Self {
        Self::with(SessionConfig::e173_default())
    }

    pub(super) fn with(cfg: SessionConfig) -> Self {
        let now = Instant::now_for_tests();
        Self {
            s: ModemSession::new(cfg),
            now,
            t0: now,
            events: Vec::new(),
        }
    }

    /// Opens the port and runs the whole init with healthy answers, then drains events.
    pub(super) fn ready() -> Self {
        let mut h = Self::new();
        h.s.port_opened(h.now);
        h.run_init(e173_answer);
        assert!(h.s.is_ready(), "{:?}", h.s.snapshot());
        h.take_events();
        h
    }

    /// Answers every command with `answer(cmd)` until nothing more is written.
    pub(super) fn run_init(&mut self, answer: impl Fn(&str) -> &'static str) -> Vec<String> {
        let mut sent = Vec::new();
        while let Some(cmd) = self.next_tx() {
            let a = answer(&cmd);
            sent.push(cmd);
            self.feed(a);
        }
        sent
    }

    /// The next command written, without its CR.
    pub(super) fn next_tx(&mut self) -> Option<String> {
        let bytes = self.s.poll_transmit()?;
        let text = String::from_utf8(bytes).expect("ascii");
        assert!(text.ends_with('\r'), "commands end with CR: {text:?}");
        Some(text.trim_end_matches('\r').to_string())
    }

    pub(super) fn expect_tx(&mut self, want: &str) {
        assert_eq!(
            self.next_tx().as_deref(),
            Some(want),
            "at {:?}",
            self.now - self.t0
        );
    }

    pub(super) fn expect_no_tx(&mut self) {
        assert_eq!(self.next_tx(), None);
    }

    pub(super) fn feed(&mut self, bytes: &str) {
        self.s.receive(self.now, bytes.as_bytes());
        self.collect();
    }

    pub(super) fn answer(&mut self, cmd: &str, reply: &str) {
        self.expect_tx(cmd);
        self.feed(reply);
    }

    pub(super) fn advance(&mut self, d: Duration) {
        self.now += d;
        self.s.handle_timeout(self.now);
        self.collect();
    }

    fn collect(&mut self) {
        while let Some(e) = self.s.poll_event() {
            self.events.push(e);
        }
    }

    pub(super) fn take_events(&mut self) -> Vec<SessionEvent> {
        self.collect();
        std::mem::take(&mut self.events)
    }

    pub(super) fn call_events(&mut self) -> Vec<CallEvent> {
        self.take_events()
            .into_iter()
            .filter_map(|e| match e {
                SessionEvent::Call(c) => Some(c),
                _ => None,
            })
            .collect()
    }
}

/// A fixed origin for test clocks (tests never read the real clock for decisions).
trait NowForTests {
    fn now_for_tests() -> Instant;
}

impl NowForTests for Instant {
    #[allow(clippy::disallowed_methods)]
    fn now_for_tests() -> Instant {
        Instant::now()
    }
}

pub(super) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
