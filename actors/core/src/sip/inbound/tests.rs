use super::*;

/// The policy of the receive-path tests (and the fuzz target).
pub(crate) fn policy() -> Policy {
    Policy {
        product: Some("e173gw".into()),
        allow: vec![
            Method::Invite,
            Method::Ack,
            Method::Bye,
            Method::Cancel,
            Method::Options,
            Method::Update,
            Method::Register,
            Method::Message,
        ],
        supported: vec!["timer".into()],
        loop_branch_prefix: "z9hG4bK-e173gw-n1-".into(),
        limits: Limits::default(),
    }
}

/// A request with `method`, the default headers with `replace` applied (header name →
/// new line, or "" to remove), extra lines, and a body.
fn req(method: &str, uri: &str, replace: &[(&str, &str)], extra: &str, body: &str) -> String {
    let mut lines = vec![
        (
            "Via",
            "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc;rport".to_string(),
        ),
        (
            "From",
            "From: \"A\" <sip:alice@192.0.2.1>;tag=1928".to_string(),
        ),
        ("To", "To: <sip:100@gw.example>".to_string()),
        ("Call-ID", "Call-ID: c1@192.0.2.1".to_string()),
        ("CSeq", format!("CSeq: 1 {method}")),
        ("Max-Forwards", "Max-Forwards: 70".to_string()),
        ("Contact", "Contact: <sip:alice@192.0.2.1>".to_string()),
    ];
    for (name, line) in replace {
        lines.retain(|(n, _)| n != name);
        if !line.is_empty() {
            lines.push((name, line.to_string()));
        }
    }
    let mut s = format!("{method} {uri} SIP/2.0\r\n");
    for (_, l) in lines {
        s.push_str(&l);
        s.push_str("\r\n");
    }
    s.push_str(extra);
    s.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s
}

#[derive(Debug, PartialEq)]
pub(super) enum Want {
    Ok,
    Status(u16),
    Drop,
}

pub(super) fn verdict(bytes: &[u8]) -> (Want, Option<String>) {
    match from_datagram(bytes, &policy(), "lt") {
        Ok(_) => (Want::Ok, None),
        Err(r) => match r.status {
            Some(s) => (
                Want::Status(s),
                r.response.map(|b| String::from_utf8_lossy(&b).into_owned()),
            ),
            None => (Want::Drop, None),
        },
    }
}

#[test]
fn torture_table() {
    let sdp = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
    let cases: Vec<(&str, String, Want)> = vec![
        ("plain INVITE", req("INVITE", "sip:100@gw.example", &[], "", ""), Want::Ok),
        ("INVITE with SDP", req("INVITE", "sip:100@gw.example", &[], "Content-Type: application/sdp\r\n", sdp), Want::Ok),
        ("tel URI", req("INVITE", "tel:+5511999990000", &[], "", ""), Want::Ok),
        ("IPv6 Via", req("OPTIONS", "sip:gw", &[("Via", "Via: SIP/2.0/UDP [2001:db8::9]:5060;branch=z9hG4bK6")], "", ""), Want::Ok),
        (
            "compact names",
            "INVITE sip:100@gw SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nf: <sip:a@h>;tag=1\r\nt: <sip:100@gw>\r\ni: x@h\r\nCSeq: 1 INVITE\r\nl: 0\r\n\r\n".into(),
            Want::Ok,
        ),
        (
            "folded header",
            "OPTIONS sip:gw SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n ;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:gw>\r\nCall-ID: x\r\nCSeq: 9\r\n OPTIONS\r\nContent-Length: 0\r\n\r\n".into(),
            Want::Ok,
        ),
        ("unknown method", req("NEWMETHOD", "sip:gw", &[], "", ""), Want::Status(501)),
        ("known, not allowed", req("SUBSCRIBE", "sip:gw", &[], "Event: presence\r\n", ""), Want::Status(405)),
        ("CSeq mismatch", req("INVITE", "sip:100@gw", &[("CSeq", "CSeq: 1 BYE")], "", ""), Want::Status(400)),
        ("CSeq too big", req("INVITE", "sip:100@gw", &[("CSeq", "CSeq: 4294967296 INVITE")], "", ""), Want::Status(400)),
        ("duplicate Call-ID", req("INVITE", "sip:100@gw", &[], "Call-ID: other@h\r\n", ""), Want::Status(400)),
        ("duplicate To", req("INVITE", "sip:100@gw", &[], "To: <sip:200@gw>\r\n", ""), Want::Status(400)),
        ("missing Call-ID", req("INVITE", "sip:100@gw", &[("Call-ID", "")], "", ""), Want::Status(400)),
        ("Max-Forwards 0", req("INVITE", "sip:100@gw", &[("Max-Forwards", "Max-Forwards: 0")], "", ""), Want::Status(483)),
        ("Max-Forwards 0 OPTIONS", req("OPTIONS", "sip:gw", &[("Max-Forwards", "Max-Forwards: 0")], "", ""), Want::Ok),
        ("bad Max-Forwards", req("INVITE", "sip:100@gw", &[("Max-Forwards", "Max-Forwards: many")], "", ""), Want::Status(400)),
        ("our branch: loop", req("INVITE", "sip:100@gw", &[], "Via: SIP/2.0/UDP gw;branch=z9hG4bK-e173gw-n1-77\r\n", ""), Want::Status(482)),
        ("unsupported scheme", req("INVITE", "mailto:a@b", &[], "", ""), Want::Status(416)),
        ("Require 100rel", req("INVITE", "sip:100@gw", &[], "Require: 100rel\r\n", ""), Want::Status(420)),
        ("Require timer", req("INVITE", "sip:100@gw", &[], "Require: timer\r\n", ""), Want::Ok),
        ("text body", req("INVITE", "sip:100@gw", &[], "Content-Type: text/plain\r\n", "hello"), Want::Status(415)),
        ("MESSAGE text", req("MESSAGE", "sip:100@gw", &[], "Content-Type: text/plain;charset=UTF-8\r\n", "hello"), Want::Ok),
        ("MESSAGE html", req("MESSAGE", "sip:100@gw", &[], "Content-Type: text/html\r\n", "<b>hi</b>"), Want::Status(415)),
        ("gzip body", req("INVITE", "sip:100@gw", &[], "Content-Type: application/sdp\r\nContent-Encoding: gzip\r\n", sdp), Want::Status(415)),
        (
            "Content-Length too big",
            req("INVITE", "sip:100@gw", &[], "", "").replace("Content-Length: 0", "Content-Length: 50"),
            Want::Status(400),
        ),
        ("ACK CSeq mismatch", req("ACK", "sip:100@gw", &[("CSeq", "CSeq: 1 INVITE")], "", ""), Want::Drop),
        ("ACK unknown Require", req("ACK", "sip:100@gw", &[], "Require: foo\r\n", ""), Want::Ok),
        ("garbage", "\u{1}\u{2}garbage without structure".into(), Want::Drop),
        ("empty", String::new(), Want::Drop),
        ("response without Via", "SIP/2.0 200 OK\r\nCSeq: 1 INVITE\r\nCall-ID: x\r\nContent-Length: 0\r\n\r\n".into(), Want::Drop),
        (
            "good response",
            "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n".into(),
            Want::Ok,
        ),
        ("method with bad chars", req("INVITE", "sip:100@gw", &[], "", "").replacen("INVITE", "IN{VITE", 1), Want::Status(400)),
        ("oversized", req("INVITE", "sip:100@gw", &[], &format!("X-Pad: {}\r\n", "a".repeat(70_000)), ""), Want::Status(513)),
    ];
    for (name, msg, want) in cases {
        let (got, resp) = verdict(msg.as_bytes());
        assert_eq!(got, want, "{name}: {resp:?}");
        if let (Want::Status(code), Some(text)) = (&got, &resp) {
            assert!(
                text.starts_with(&format!("SIP/2.0 {code} ")),
                "{name}: {text}"
            );
            assert!(
                text.contains("To: ") && text.contains(";tag=lt"),
                "{name}: a final response carries a To tag: {text}"
            );
            if *code == 501 || *code == 405 {
                assert!(
                    text.contains("Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, REGISTER"),
                    "{name}: {text}"
                );
            }
            if *code == 420 {
                assert!(text.contains("Unsupported: 100rel"), "{name}: {text}");
            }
            if *code == 415 {
                assert!(text.contains("Accept"), "{name}: {text}");
            }
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let base = req(
        "INVITE",
        "sip:100@gw",
        &[],
        "Content-Type: application/sdp\r\n",
        "v=0\r\n",
    );
    let mut seed = 0x9e37_79b9_u64;
    for _ in 0..20_000 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut bytes = base.clone().into_bytes();
        let n = (seed >> 40) as usize % 8 + 1;
        for k in 0..n {
            let s = seed.rotate_left(k as u32 * 7);
            let pos = (s >> 20) as usize % bytes.len();
            match s % 4 {
                0 => bytes[pos] = (s >> 8) as u8,
                1 => bytes.truncate(pos),
                2 => bytes.insert(pos, b'\r'),
                _ => bytes.insert(pos, (s >> 16) as u8),
            }
            if bytes.is_empty() {
                break;
            }
        }
        let _ = from_datagram(&bytes, &policy(), "lt");
    }
}
