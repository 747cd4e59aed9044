//! The SIP decoder and checks (datagrams), and TCP stream framing.

use super::mutate::mutate;
use super::{run, seeds};
use crate::sip::framing::{Limits, StreamFramer};
use crate::sip::inbound::tests::policy;
use crate::sip::inbound::{from_datagram, Inbound, Rejected};

/// A datagram: accepted (and its own text, as the gateway writes it, accepted again), or answered with a well-formed response of the status it claims
/// (it echoes the request's Vias, broken or not, as RFC 3261 §8.2.6.2 says), or dropped; an accepted request's own text is accepted again.
#[test]
fn sip_datagrams() {
    let seeds = seeds::sip();
    let seeds: Vec<&[u8]> = seeds.iter().map(Vec::as_slice).collect();
    let policy = policy();
    run(
        "sip",
        |rng| mutate(rng, &seeds),
        |input, _| match from_datagram(input, &policy, "gwtag") {
            Ok(Inbound::Request(req)) => {
                let again = req.to_string();
                match from_datagram(again.as_bytes(), &policy, "gwtag") {
                    Ok(Inbound::Request(_)) => Ok(()),
                    // Written out, compact names and folded values take more room: a
                    // request near the limit may pass it.
                    Err(r)
                        if r.reason.contains("Too Large")
                            && input.len() > policy.limits.max_headers / 2 =>
                    {
                        Ok(())
                    }
                    other => Err(format!(
                        "an accepted request written out: {other:?}\n{again}"
                    )),
                }
            }
            Ok(Inbound::Response(_)) => Ok(()),
            Err(Rejected {
                status: Some(status),
                response: Some(bytes),
                ..
            }) => well_formed(&bytes, status),
            Err(Rejected {
                status: None,
                response: None,
                ..
            }) => Ok(()),
            Err(r) => Err(format!("a status without a response or back: {r:?}")),
        },
    );
}

/// A stream of messages cut at random points: never more bytes out than in, the buffer
/// bounded, and every call makes progress.
#[test]
fn tcp_framing() {
    let seeds = seeds::sip();
    let seeds: Vec<&[u8]> = seeds.iter().map(Vec::as_slice).collect();
    let limits = Limits::default();
    run(
        "tcp",
        |rng| {
            let mut stream = Vec::new();
            for _ in 0..1 + rng.below(4) {
                stream.extend(mutate(rng, &seeds));
            }
            stream
        },
        |input, rng| {
            let mut f = StreamFramer::new(limits);
            let (mut fed, mut out, mut at) = (0usize, 0usize, 0usize);
            while at < input.len() {
                let n = 1 + rng.below(1500);
                let chunk = &input[at..(at + n).min(input.len())];
                at += chunk.len();
                f.push(chunk);
                fed += chunk.len();
                for _ in 0..=input.len() {
                    match f.next_message() {
                        Ok(Some(m)) => out += m.len(),
                        Ok(None) => break,
                        Err(_) => return Ok(()),
                    }
                }
                if out > fed {
                    return Err(format!("{out} bytes out of {fed} in"));
                }
                if f.pending() > limits.max_message + 1500 {
                    return Err(format!("{} bytes buffered", f.pending()));
                }
            }
            Ok(())
        },
    );
}

/// The answer's status line says `status`, its header section ends, and its
/// Content-Length is the length of what follows.
fn well_formed(bytes: &[u8], status: u16) -> Result<(), String> {
    let text = String::from_utf8_lossy(bytes);
    let bad = |why: &str| {
        Err(format!(
            "the {status} answer {why}:\n{}",
            bytes.escape_ascii()
        ))
    };
    if !text.starts_with(&format!("SIP/2.0 {status} ")) {
        return bad("has another status line");
    }
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return bad("has no end of headers");
    };
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|v| v.trim().parse::<usize>().ok());
    if length != Some(body.len()) {
        return bad("has a wrong Content-Length");
    }
    if head.lines().skip(1).any(|l| !l.contains(':')) {
        return bad("has a line that is not a header");
    }
    Ok(())
}
