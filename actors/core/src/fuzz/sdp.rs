//! SDP parsing and the answer to an offer.

use std::net::{IpAddr, Ipv4Addr};

use super::mutate::mutate;
use super::{run, seeds};
use crate::sdp::{answer, LocalEndpoint, SessionDescription};

/// An offer parses or is refused; an answer made to it parses again.
#[test]
fn sdp_offers() {
    let seeds: Vec<&[u8]> = vec![seeds::SDP_OFFER.as_bytes(), seeds::SDP_SMALL.as_bytes()];
    let local = LocalEndpoint::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 30_000, 7);
    run(
        "sdp",
        |rng| mutate(rng, &seeds),
        |input, _| {
            let Ok(offer) = SessionDescription::parse_bytes(input) else {
                return Ok(());
            };
            let _ = offer.to_string();
            match answer(&offer, &local) {
                Ok(a) => SessionDescription::parse(&a.sdp.to_string())
                    .map(drop)
                    .map_err(|e| format!("our answer does not parse: {e}\n{}", a.sdp)),
                Err(_) => Ok(()),
            }
        },
    );
}
