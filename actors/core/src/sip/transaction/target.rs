//! Where responses go (RFC 3261 §18.2.2, RFC 3581) and the `received`/`rport` stamp of
//! inbound requests.

use std::net::{IpAddr, SocketAddr};

use crate::sip::headers::{self, Via};
use crate::sip::{build, Header, Peer, Request, Transport};

/// The default sent-by port of UDP and TCP.
const DEFAULT_PORT: u16 = 5060;

/// Where the responses to a request go, from its (stamped) top Via and its source.
///
/// Reliable transports answer on the connection the request came in on. On UDP a top Via
/// with `rport` (RFC 3581) sends to the source address and port; otherwise to `received`
/// (or the source IP) and the sent-by port (5060 when absent).
pub fn response_target(via: &Via, source: Peer) -> Peer {
    if source.transport.is_reliable() || via.rport.is_some() {
        return source;
    }
    let ip = via
        .received
        .as_deref()
        .and_then(parse_ip)
        .unwrap_or(source.addr.ip());
    Peer {
        addr: SocketAddr::new(ip, via.port.unwrap_or(DEFAULT_PORT)),
        transport: Transport::Udp,
    }
}

/// An IP address, IPv6 with or without brackets.
fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    s.strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(s)
        .parse()
        .ok()
}

/// Stamps the top Via of an inbound request: `received=<source IP>` when the sent-by host
/// is not the source IP (§18.2.1) or when `rport` is present (RFC 3581 asks for it even
/// then), and an empty `rport` filled with the source port. The ingress calls this before
/// [`super::TransactionLayer::on_request`]. A request without a usable Via is left as is.
pub fn stamp_via(req: &mut Request, source: SocketAddr) {
    let Some(slot) = req.headers.iter_mut().find(|h| matches!(h, Header::Via(_))) else {
        return;
    };
    let Header::Via(v) = slot else { return };
    let value = v.value();
    let (first, rest) = match value.split_once(',') {
        Some((f, r)) => (f.trim(), Some(r)),
        None => (value.trim(), None),
    };
    let Some(via) = headers::parse_via(first) else {
        return;
    };
    let host_is_source = parse_ip(&via.host) == Some(source.ip());
    let needs_received = !host_is_source || via.rport.is_some();
    let fill_rport = via.rport == Some(None);
    if !needs_received && !fill_rport && via.received.is_none() {
        return;
    }
    let mut parts = first.split(';');
    let mut out = parts.next().unwrap_or_default().trim().to_string();
    for p in parts {
        let name = p.split_once('=').map_or(p, |(k, _)| k).trim();
        if name.eq_ignore_ascii_case("received") {
            continue;
        }
        out.push(';');
        if name.eq_ignore_ascii_case("rport") && fill_rport {
            out.push_str(&format!("rport={}", source.port()));
        } else {
            out.push_str(p.trim());
        }
    }
    if needs_received {
        out.push_str(&format!(";received={}", source.ip()));
    }
    if let Some(rest) = rest {
        out.push(',');
        out.push_str(rest);
    }
    *slot = build::header("Via", out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(addr: &str, transport: Transport) -> Peer {
        Peer {
            addr: addr.parse().expect("addr"),
            transport,
        }
    }

    #[test]
    fn targets() {
        use Transport::{Tcp, Udp};
        let cases = [
            // (top Via, source, expected target)
            (
                "SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bK1",
                peer("10.0.0.1:5070", Udp),
                peer("10.0.0.1:5070", Udp),
            ),
            (
                "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1",
                peer("10.0.0.1:40000", Udp),
                peer("10.0.0.1:5060", Udp),
            ),
            (
                "SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bK1;received=192.0.2.7",
                peer("192.0.2.7:6000", Udp),
                peer("192.0.2.7:5070", Udp),
            ),
            (
                "SIP/2.0/UDP host.example:5080;branch=z9hG4bK1",
                peer("192.0.2.9:1234", Udp),
                peer("192.0.2.9:5080", Udp),
            ),
            (
                "SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bK1;rport=9988;received=192.0.2.1",
                peer("192.0.2.1:9988", Udp),
                peer("192.0.2.1:9988", Udp),
            ),
            (
                "SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bK1;rport",
                peer("192.0.2.1:9988", Udp),
                peer("192.0.2.1:9988", Udp),
            ),
            (
                "SIP/2.0/TCP 10.0.0.1:5070;branch=z9hG4bK1",
                peer("192.0.2.1:40123", Tcp),
                peer("192.0.2.1:40123", Tcp),
            ),
            (
                "SIP/2.0/UDP [2001:db8::1]:5072;branch=z9hG4bK1",
                peer("[2001:db8::1]:5072", Udp),
                peer("[2001:db8::1]:5072", Udp),
            ),
            (
                "SIP/2.0/UDP [2001:db8::1];branch=z9hG4bK1;received=2001:db8::9",
                peer("[2001:db8::9]:7000", Udp),
                peer("[2001:db8::9]:5060", Udp),
            ),
            (
                "SIP/2.0/UDP [2001:db8::1]:5072;branch=z9hG4bK1;received=[2001:db8::9]",
                peer("[2001:db8::9]:7000", Udp),
                peer("[2001:db8::9]:5072", Udp),
            ),
            (
                "SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bK1;received=garbage",
                peer("192.0.2.3:7000", Udp),
                peer("192.0.2.3:5070", Udp),
            ),
        ];
        for (via, source, want) in cases {
            let v = headers::parse_via(via).expect("via");
            assert_eq!(response_target(&v, source), want, "{via}");
        }
    }

    fn stamped(via: &str, source: &str) -> String {
        let text = format!("OPTIONS sip:gw SIP/2.0\r\nVia: {via}\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:gw>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
        let mut req = Request::try_from(text.as_str()).expect("parses");
        stamp_via(&mut req, source.parse().expect("addr"));
        headers::all_vias(&req.headers).join(", ")
    }

    #[test]
    fn stamps() {
        let cases = [
            // Sent-by is the source: untouched.
            ("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1", "10.0.0.1:5060", "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1"),
            // Host differs: received.
            ("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1", "192.0.2.1:5060", "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;received=192.0.2.1"),
            ("SIP/2.0/UDP pc.example;branch=z9hG4bK1", "192.0.2.1:5060", "SIP/2.0/UDP pc.example;branch=z9hG4bK1;received=192.0.2.1"),
            // Empty rport: filled, and received added even when the host is the source.
            ("SIP/2.0/UDP 10.0.0.1:4540;rport;branch=z9hG4bK1", "10.0.0.1:9988", "SIP/2.0/UDP 10.0.0.1:4540;rport=9988;branch=z9hG4bK1;received=10.0.0.1"),
            ("SIP/2.0/UDP 10.1.1.1:4540;branch=z9hG4bK1;rport", "192.0.2.1:9988", "SIP/2.0/UDP 10.1.1.1:4540;branch=z9hG4bK1;rport=9988;received=192.0.2.1"),
            // rport with a value is kept.
            ("SIP/2.0/UDP 10.1.1.1:4540;branch=z9hG4bK1;rport=1111", "192.0.2.1:9988", "SIP/2.0/UDP 10.1.1.1:4540;branch=z9hG4bK1;rport=1111;received=192.0.2.1"),
            // A stale received is replaced.
            ("SIP/2.0/UDP 10.1.1.1;received=1.1.1.1;branch=z9hG4bK1", "192.0.2.1:5060", "SIP/2.0/UDP 10.1.1.1;branch=z9hG4bK1;received=192.0.2.1"),
            // IPv6: brackets on sent-by, none in received.
            ("SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1", "[2001:db8::1]:5060", "SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1"),
            ("SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1;rport", "[2001:db8::2]:7000", "SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1;rport=7000;received=2001:db8::2"),
            // TCP: same rules.
            ("SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bK1", "192.0.2.1:40000", "SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bK1;received=192.0.2.1"),
            // Only the top entry of a multi-entry Via.
            ("SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1, SIP/2.0/UDP 10.0.0.9;branch=z9hG4bK0", "192.0.2.1:5060", "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1;received=192.0.2.1, SIP/2.0/UDP 10.0.0.9;branch=z9hG4bK0"),
        ];
        for (via, source, want) in cases {
            assert_eq!(stamped(via, source), want, "{via} from {source}");
        }
    }

    #[test]
    fn stamped_vias_route_responses_back() {
        let source: SocketAddr = "192.0.2.1:9988".parse().expect("addr");
        let text = "OPTIONS sip:gw SIP/2.0\r\nVia: SIP/2.0/UDP 10.1.1.1:4540;branch=z9hG4bK1;rport\r\nFrom: <sip:a@b>;tag=1\r\n\
                    To: <sip:gw>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
        let mut req = Request::try_from(text).expect("parses");
        stamp_via(&mut req, source);
        let via = headers::top_via(&req.headers).expect("via");
        assert_eq!(via.rport, Some(Some(9988)));
        assert_eq!(
            response_target(
                &via,
                Peer {
                    addr: source,
                    transport: Transport::Udp
                }
            )
            .addr,
            source
        );
    }
}
