//! The modem session fed garbage and mangled dialect lines, cut anywhere, with time
//! passing and calls placed in between.

use std::time::Duration;

use std::time::Instant;

use super::mutate::mutate;
use super::{run, seeds};
use crate::at::session::{ModemSession, SessionConfig};
use crate::domain::DialNumber;

/// Never a panic; the decoder's buffer stays bounded; the session answers for itself.
#[test]
#[allow(clippy::disallowed_methods)] // a start time; the session takes time as a parameter
fn at_session() {
    let seeds: Vec<&[u8]> = seeds::AT_LINES.iter().map(|l| l.as_bytes()).collect();
    let number = DialNumber::parse("5511912345678").expect("a dialable number");
    run(
        "at",
        |rng| {
            let mut b = Vec::new();
            for _ in 0..1 + rng.below(12) {
                b.extend(mutate(rng, &seeds));
            }
            b
        },
        |input, rng| {
            let mut s = ModemSession::new(SessionConfig::e173_default());
            let mut now = Instant::now();
            s.port_opened(now);
            let mut at = 0;
            while at < input.len() {
                let n = 1 + rng.below(64);
                let chunk = &input[at..(at + n).min(input.len())];
                at += chunk.len();
                s.receive(now, chunk);
                now += Duration::from_millis(rng.below(3_000) as u64);
                if s.next_deadline().is_some_and(|d| d <= now) {
                    s.handle_timeout(now);
                }
                while s.poll_transmit().is_some() {}
                while s.poll_event().is_some() {}
                if rng.below(16) == 0 {
                    let _ = s.dial(now, &number);
                }
                let _ = (s.snapshot(), s.available(), s.stats());
            }
            Ok(())
        },
    );
}
