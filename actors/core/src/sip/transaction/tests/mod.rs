//! Transaction layer tests: time is a parameter advanced by hand, peers are scripts.

mod cancel;
mod client;
mod matching;
mod random;
mod server;

use std::time::{Duration, Instant};

use super::*;
use crate::sip::{build, headers, Transport};

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

/// The far end of inbound requests (the AI agent or a trunk).
pub(super) fn far(transport: Transport) -> Peer {
    Peer {
        addr: "192.0.2.10:5060".parse().expect("addr"),
        transport,
    }
}

/// The UDP far end.
pub(super) fn udp() -> Peer {
    far(Transport::Udp)
}

/// The TCP far end (one connection).
pub(super) fn tcp() -> Peer {
    Peer {
        addr: "192.0.2.10:40312".parse().expect("addr"),
        transport: Transport::Tcp,
    }
}

/// A request, written as text and parsed.
#[derive(Debug, Clone)]
pub(super) struct R {
    pub(super) method: &'static str,
    pub(super) uri: &'static str,
    pub(super) proto: &'static str,
    pub(super) sent_by: &'static str,
    /// `None`: no branch parameter.
    pub(super) branch: Option<String>,
    pub(super) seq: u32,
    pub(super) call_id: &'static str,
    pub(super) from_tag: &'static str,
    pub(super) to_tag: Option<String>,
}

impl Default for R {
    fn default() -> Self {
        Self {
            method: "INVITE",
            uri: "sip:+5511987650000@gw.example",
            proto: "UDP",
            sent_by: "192.0.2.10:5060",
            branch: Some("z9hG4bKin1".into()),
            seq: 1,
            call_id: "call-1@ai",
            from_tag: "ft1",
            to_tag: None,
        }
    }
}

impl R {
    /// `R` for `method` with `branch`.
    pub(super) fn new(method: &'static str, branch: &str) -> Self {
        Self {
            method,
            branch: Some(branch.to_string()),
            ..Self::default()
        }
    }

    /// The same with a To tag.
    pub(super) fn with_to_tag(mut self, tag: &str) -> Self {
        self.to_tag = Some(tag.to_string());
        self
    }

    /// Parsed.
    pub(super) fn build(&self) -> Request {
        let branch = self
            .branch
            .as_ref()
            .map(|b| format!(";branch={b}"))
            .unwrap_or_default();
        let to_tag = self
            .to_tag
            .as_ref()
            .map(|t| format!(";tag={t}"))
            .unwrap_or_default();
        let text = format!(
            "{m} {uri} SIP/2.0\r\nVia: SIP/2.0/{proto} {sent_by}{branch}\r\nMax-Forwards: 70\r\n\
             From: <sip:agent@ai.example>;tag={ft}\r\nTo: <{uri}>{to_tag}\r\nCall-ID: {cid}\r\nCSeq: {seq} {m}\r\n\
             Content-Length: 0\r\n\r\n",
            m = self.method,
            uri = self.uri,
            proto = self.proto,
            sent_by = self.sent_by,
            ft = self.from_tag,
            cid = self.call_id,
            seq = self.seq,
        );
        Request::try_from(text.as_str()).expect("test request parses")
    }
}

/// The ACK for a 2xx to `invite`: a new branch, the response's To.
pub(super) fn ack_2xx(invite: &R, branch: &str, to_tag: &str) -> Request {
    R {
        method: "ACK",
        branch: Some(branch.to_string()),
        to_tag: Some(to_tag.to_string()),
        ..invite.clone()
    }
    .build()
}

/// A response to `req` from its far end (or from the transaction user).
pub(super) fn resp(req: &Request, code: u16, tag: &str) -> Response {
    build::response(req, code, Some(tag))
}

/// The status code of serialised response bytes.
pub(super) fn status(bytes: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(bytes).ok()?;
    text.strip_prefix("SIP/2.0 ")?.get(..3)?.parse().ok()
}

/// The method of serialised request bytes.
pub(super) fn method(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?;
    let m = text.split(' ').next()?;
    (!m.starts_with("SIP/")).then(|| m.to_string())
}

/// A short description of an output, for compact assertions: `"> 100"`, `"> INVITE"`,
/// `"request"`, `"ack"`, `"ack tx-1"`, `"response 180"`, `"stray 200"`, `"cancel"`,
/// `"timeout"`, `"noack"`.
pub(super) fn show(o: &Output) -> String {
    match o {
        Output::Send { bytes, .. } => match (status(bytes), method(bytes)) {
            (Some(c), _) => format!("> {c}"),
            (_, Some(m)) => format!("> {m}"),
            _ => "> ?".into(),
        },
        Output::Event(e) => match e {
            TuEvent::Request { req, .. } => format!("request {}", req.method),
            TuEvent::Cancel { .. } => "cancel".into(),
            TuEvent::Ack {
                invite_tx: None, ..
            } => "ack".into(),
            TuEvent::Ack {
                invite_tx: Some(t), ..
            } => format!("ack {t}"),
            TuEvent::Response { resp, .. } => format!("response {}", resp.status_code.code()),
            TuEvent::StrayResponse { resp, .. } => format!("stray {}", resp.status_code.code()),
            TuEvent::Timeout { .. } => "timeout".into(),
            TuEvent::NoAck { .. } => "noack".into(),
        },
    }
}

/// A layer and a hand-driven clock.
pub(super) struct H {
    pub(super) l: TransactionLayer,
    pub(super) t0: Instant,
    pub(super) now: Instant,
}

impl H {
    /// Default timers.
    pub(super) fn new() -> Self {
        let t0 = Instant::now_for_tests();
        Self {
            l: TransactionLayer::new(Timers::default()),
            t0,
            now: t0,
        }
    }

    /// Moves the clock to `ms` after the origin (never backwards) without firing timers.
    pub(super) fn at(&mut self, ms: u64) -> Instant {
        self.now = self.now.max(self.t0 + Duration::from_millis(ms));
        self.now
    }

    /// Everything queued.
    pub(super) fn drain(&mut self) -> Vec<Output> {
        std::iter::from_fn(|| self.l.poll_output()).collect()
    }

    /// [`show`] of everything queued.
    pub(super) fn shown(&mut self) -> Vec<String> {
        self.drain().iter().map(show).collect()
    }

    /// Fires every deadline up to `ms` after the origin, one at a time, and returns what
    /// came out with the time (ms after the origin) it came out at.
    pub(super) fn run_until(&mut self, ms: u64) -> Vec<(u64, String)> {
        let end = self.t0 + Duration::from_millis(ms);
        let mut out = Vec::new();
        while let Some(d) = self.l.next_deadline().filter(|d| *d <= end) {
            self.now = self.now.max(d);
            self.l.on_timer(d);
            let t = (d - self.t0).as_millis() as u64;
            out.extend(self.shown().into_iter().map(|s| (t, s)));
        }
        self.now = self.now.max(end);
        out
    }

    /// An inbound request at the current time; what came out.
    pub(super) fn recv(&mut self, req: Request, from: Peer) -> Vec<String> {
        self.l.on_request(self.now, req, from);
        self.shown()
    }

    /// An inbound response at the current time; what came out.
    pub(super) fn recv_resp(&mut self, r: Response, from: Peer) -> Vec<String> {
        self.l.on_response(self.now, r, from);
        self.shown()
    }

    /// The id of the only new server transaction announced by `outs` (drained by the
    /// caller with [`H::drain`]).
    pub(super) fn new_request(&mut self, req: Request, from: Peer) -> TxId {
        self.l.on_request(self.now, req, from);
        let ids: Vec<TxId> = self
            .drain()
            .into_iter()
            .filter_map(|o| match o {
                Output::Event(TuEvent::Request { tx, .. }) => Some(tx),
                _ => None,
            })
            .collect();
        assert_eq!(ids.len(), 1, "one new server transaction");
        ids[0]
    }
}

/// Seconds after the origin, in ms, for schedule tables.
pub(super) fn secs(s: &[f64]) -> Vec<u64> {
    s.iter().map(|x| (x * 1000.0).round() as u64).collect()
}

/// The times of the outputs shown as `what`.
pub(super) fn times_of(out: &[(u64, String)], what: &str) -> Vec<u64> {
    out.iter()
        .filter(|(_, s)| s == what)
        .map(|(t, _)| *t)
        .collect()
}

#[test]
fn default_timers_and_display() {
    let t = Timers::default();
    assert_eq!(
        (t.t1, t.t2, t.t4, t.timeout()),
        (
            Duration::from_millis(500),
            Duration::from_secs(4),
            Duration::from_secs(5),
            Duration::from_secs(32)
        )
    );
    assert_eq!(TxId(7).to_string(), "tx-7");
    assert_eq!(TransactionLayer::default().timers(), t);
    assert_eq!(TransactionLayer::default().counts(), TxCounts::default());
    assert_eq!(TransactionLayer::default().next_deadline(), None);
    let e = TxError::WrongMethod {
        tx: TxId(1),
        expected: "INVITE".into(),
        got: "BYE".into(),
    };
    assert_eq!(
        e.to_string(),
        "response for BYE sent on tx-1, a INVITE transaction"
    );
}

#[test]
fn zero_timers_are_raised_so_retransmissions_end() {
    let zero = Timers {
        t1: Duration::ZERO,
        t2: Duration::ZERO,
        t4: Duration::ZERO,
    };
    let mut h = H::new();
    h.l = TransactionLayer::new(zero);
    let ms = Duration::from_millis(1);
    assert_eq!(
        h.l.timers(),
        Timers {
            t1: ms,
            t2: ms,
            t4: Duration::ZERO
        }
    );
    h.l.send_request(h.now, R::new("OPTIONS", "z9hG4bKz").build(), udp());
    let tx = h.new_request(R::default().build(), udp());
    h.l.respond(h.now, tx, resp(&R::default().build(), 486, "gt"))
        .expect("486");
    h.drain();
    let out = h.run_until(1_000);
    assert_eq!(times_of(&out, "timeout"), vec![64], "Timer F = 64 ms");
    assert_eq!(times_of(&out, "noack"), vec![64], "Timer H = 64 ms");
    assert_eq!(h.l.counts().retransmissions, 2 * 64);
    assert_eq!((h.l.counts().server, h.l.counts().client), (0, 0));
}

#[test]
fn helpers_read_what_they_write() {
    let r = R::default().with_to_tag("x").build();
    assert_eq!(headers::to_tag(&r.headers), Some("x"));
    assert_eq!(status(&resp(&r, 486, "t").to_bytes()), Some(486));
    assert_eq!(method(&r.to_bytes()).as_deref(), Some("INVITE"));
    assert_eq!(secs(&[0.5, 31.5]), vec![500, 31_500]);
}
