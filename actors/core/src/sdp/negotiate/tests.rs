use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::*;
use crate::sdp::fixtures::*;

fn local() -> LocalEndpoint {
    LocalEndpoint::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5)), 20000, 42)
}

fn parse(text: &str) -> SessionDescription {
    SessionDescription::parse(text).expect("valid SDP")
}

fn sock(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

struct Case {
    name: &'static str,
    offer: String,
    local: LocalEndpoint,
    expect: Result<Expect, NegotiationError>,
}

#[derive(Debug)]
struct Expect {
    law: Law,
    pt: u8,
    te: Option<u8>,
    remote: SocketAddr,
    direction: Direction,
    on_hold: bool,
    /// The answer's `m=` lines.
    m_lines: Vec<&'static str>,
}

fn cases() -> Vec<Case> {
    let mut no_te = local();
    no_te.telephone_event = None;
    let mut alaw_only = local();
    alaw_only.codecs = vec![Law::Alaw];
    let mut holding = local();
    holding.direction = Direction::SendOnly;
    let head = "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n";
    vec![
        Case {
            name: "SIPp default offer",
            offer: SIPP_OFFER.into(),
            local: local(),
            expect: Ok(Expect {
                law: Law::Ulaw,
                pt: 0,
                te: None,
                remote: sock("127.0.0.1:6000"),
                direction: Direction::SendRecv,
                on_hold: false,
                m_lines: vec!["m=audio 20000 RTP/AVP 0"],
            }),
        },
        Case {
            name: "softphone: PCMA first, telephone-event 101",
            offer: SOFTPHONE_OFFER.into(),
            local: local(),
            expect: Ok(Expect {
                law: Law::Alaw,
                pt: 8,
                te: Some(101),
                remote: sock("192.168.1.20:4000"),
                direction: Direction::SendRecv,
                on_hold: false,
                m_lines: vec!["m=audio 20000 RTP/AVP 8 101"],
            }),
        },
        Case {
            name: "softphone, we do not want DTMF events",
            offer: SOFTPHONE_OFFER.into(),
            local: no_te,
            expect: Ok(Expect {
                law: Law::Alaw,
                pt: 8,
                te: None,
                remote: sock("192.168.1.20:4000"),
                direction: Direction::SendRecv,
                on_hold: false,
                m_lines: vec!["m=audio 20000 RTP/AVP 8"],
            }),
        },
        Case {
            name: "opus and G.722 skipped, PCMU before PCMA",
            offer: MULTI_CODEC_OFFER.into(),
            local: local(),
            expect: Ok(Expect {
                law: Law::Ulaw,
                pt: 0,
                te: Some(101),
                remote: sock("203.0.113.7:52000"),
                direction: Direction::SendRecv,
                on_hold: false,
                m_lines: vec!["m=audio 20000 RTP/AVP 0 101"],
            }),
        },
        Case {
            name: "only A-law allowed locally",
            offer: MULTI_CODEC_OFFER.into(),
            local: alaw_only,
            expect: Ok(Expect {
                law: Law::Alaw,
                pt: 8,
                te: Some(101),
                remote: sock("203.0.113.7:52000"),
                direction: Direction::SendRecv,
                on_hold: false,
                m_lines: vec!["m=audio 20000 RTP/AVP 8 101"],
            }),
        },
        Case {
            name: "G.729 only",
            offer: G729_ONLY_OFFER.into(),
            local: local(),
            expect: Err(NegotiationError::NoCommonCodec {
                offered: vec!["18 G729/8000".into()],
            }),
        },
        Case {
            name: "IPv6",
            offer: IPV6_OFFER.into(),
            local: local(),
            expect: Ok(Expect {
                law: Law::Alaw,
                pt: 8,
                te: Some(101),
                remote: sock("[2001:db8::1]:49170"),
                direction: Direction::SendRecv,
                on_hold: false,
                m_lines: vec!["m=audio 20000 RTP/AVP 8 101"],
            }),
        },
        Case {
            name: "hold re-INVITE (sendonly)",
            offer: HOLD_REINVITE.into(),
            local: local(),
            expect: Ok(Expect {
                law: Law::Alaw,
                pt: 8,
                te: Some(101),
                remote: sock("192.168.1.20:4000"),
                direction: Direction::RecvOnly,
                on_hold: true,
                m_lines: vec!["m=audio 20000 RTP/AVP 8 101"],
            }),
        },
        Case {
            name: "RFC 2543 hold (c=0.0.0.0)",
            offer: OLD_HOLD_REINVITE.into(),
            local: local(),
            expect: Ok(Expect {
                law: Law::Ulaw,
                pt: 0,
                te: None,
                remote: sock("0.0.0.0:6000"),
                direction: Direction::RecvOnly,
                on_hold: true,
                m_lines: vec!["m=audio 20000 RTP/AVP 0"],
            }),
        },
        Case {
            name: "inactive",
            offer: format!("{head}m=audio 5000 RTP/AVP 0\r\na=inactive\r\n"),
            local: local(),
            expect: Ok(Expect {
                law: Law::Ulaw,
                pt: 0,
                te: None,
                remote: sock("192.0.2.1:5000"),
                direction: Direction::Inactive,
                on_hold: true,
                m_lines: vec!["m=audio 20000 RTP/AVP 0"],
            }),
        },
        Case {
            name: "recvonly offer (they hold themselves) → sendonly",
            offer: format!("{head}a=recvonly\r\nm=audio 5000 RTP/AVP 0\r\n"),
            local: local(),
            expect: Ok(Expect {
                law: Law::Ulaw,
                pt: 0,
                te: None,
                remote: sock("192.0.2.1:5000"),
                direction: Direction::SendOnly,
                on_hold: false,
                m_lines: vec!["m=audio 20000 RTP/AVP 0"],
            }),
        },
        Case {
            name: "we hold: local sendonly limits the answer",
            offer: SIPP_OFFER.into(),
            local: holding,
            expect: Ok(Expect {
                law: Law::Ulaw,
                pt: 0,
                te: None,
                remote: sock("127.0.0.1:6000"),
                direction: Direction::SendOnly,
                on_hold: false,
                m_lines: vec!["m=audio 20000 RTP/AVP 0"],
            }),
        },
        Case {
            name: "video rejected, disabled audio skipped, dynamic PCMU, fmtp echoed",
            offer: format!(
                "{head}m=video 9000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n\
                 m=audio 0 RTP/AVP 0\r\n\
                 m=audio 5002 RTP/AVP 112 100\r\nc=IN IP4 192.0.2.9\r\na=rtpmap:112 pcmu/8000/1\r\n\
                 a=rtpmap:100 telephone-event/8000\r\na=fmtp:100 0-11\r\na=ptime:30\r\n"
            ),
            local: local(),
            expect: Ok(Expect {
                law: Law::Ulaw,
                pt: 112,
                te: Some(100),
                remote: sock("192.0.2.9:5002"),
                direction: Direction::SendRecv,
                on_hold: false,
                m_lines: vec![
                    "m=video 0 RTP/AVP 96",
                    "m=audio 0 RTP/AVP 0",
                    "m=audio 20000 RTP/AVP 112 100",
                ],
            }),
        },
        Case {
            name: "telephone-event at 48 kHz is not ours",
            offer: format!(
                "{head}m=audio 5000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/48000\r\n"
            ),
            local: local(),
            expect: Ok(Expect {
                law: Law::Ulaw,
                pt: 0,
                te: None,
                remote: sock("192.0.2.1:5000"),
                direction: Direction::SendRecv,
                on_hold: false,
                m_lines: vec!["m=audio 20000 RTP/AVP 0"],
            }),
        },
        Case {
            name: "PT 0 remapped to another codec is not PCMU",
            offer: format!("{head}m=audio 5000 RTP/AVP 0\r\na=rtpmap:0 G729/8000\r\n"),
            local: local(),
            expect: Err(NegotiationError::NoCommonCodec {
                offered: vec!["0 G729/8000".into()],
            }),
        },
        Case {
            name: "SRTP only",
            offer: format!("{head}m=audio 5000 RTP/SAVP 0\r\n"),
            local: local(),
            expect: Err(NegotiationError::UnsupportedProtocol("RTP/SAVP".into())),
        },
        Case {
            name: "video only",
            offer: format!("{head}m=video 5000 RTP/AVP 96\r\n"),
            local: local(),
            expect: Err(NegotiationError::NoAudio),
        },
        Case {
            name: "no media at all",
            offer: head.into(),
            local: local(),
            expect: Err(NegotiationError::NoAudio),
        },
        Case {
            name: "no connection address",
            offer: "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 5000 RTP/AVP 8\r\n".into(),
            local: local(),
            expect: Err(NegotiationError::NoConnection { media_index: 0 }),
        },
    ]
}

#[test]
fn answers() {
    for case in cases() {
        let offer = parse(&case.offer);
        let got = answer(&offer, &case.local);
        let (a, e) = match (got, case.expect) {
            (Ok(a), Ok(e)) => (a, e),
            (Err(g), Err(e)) => {
                assert_eq!(g, e, "{}", case.name);
                continue;
            }
            (g, e) => panic!("{}: got {g:?}, expected {e:?}", case.name),
        };
        let n = &a.negotiated;
        assert_eq!(
            (n.law, n.payload_type, n.telephone_event),
            (e.law, e.pt, e.te),
            "{}",
            case.name
        );
        assert_eq!(n.remote_rtp, e.remote, "{}", case.name);
        assert_eq!(n.direction, e.direction, "{}", case.name);
        assert_eq!(n.on_hold, e.on_hold, "{}", case.name);
        let text = a.sdp.to_string();
        let m_lines: Vec<&str> = text.lines().filter(|l| l.starts_with("m=")).collect();
        assert_eq!(m_lines, e.m_lines, "{}", case.name);
        // The answer is valid SDP that states our address and direction.
        let back = parse(&text);
        assert_eq!(back, a.sdp, "{}", case.name);
        assert_eq!(back.media.len(), offer.media.len(), "{}", case.name);
        assert_eq!(
            back.audio_rtp_addr(),
            Some(SocketAddr::new(case.local.address, 20000)),
            "{}",
            case.name
        );
        assert_eq!(back.audio_direction(), Some(e.direction), "{}", case.name);
        assert_eq!(n.media_index, back.first_audio().map_or(99, |(i, _)| i));
    }
}

#[test]
fn sipp_answer_text() {
    let a = answer(&parse(SIPP_OFFER), &local()).expect("answer");
    assert_eq!(
        a.sdp.to_string(),
        "v=0\r\no=e173gw 42 1 IN IP4 10.0.0.5\r\ns=e173gw\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\n\
m=audio 20000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n"
    );
    let a = answer(&parse(SOFTPHONE_OFFER), &local()).expect("answer");
    let text = a.sdp.to_string();
    assert!(
        text.contains(
            "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"
        ),
        "{text}"
    );
    assert_eq!(a.negotiated.remote_ptime, None);
}

#[test]
fn our_offer_and_their_answer() {
    let l = local();
    let o = offer(&l);
    assert_eq!(
        o.to_string(),
        "v=0\r\no=e173gw 42 1 IN IP4 10.0.0.5\r\ns=e173gw\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\n\
m=audio 20000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n"
    );
    // A peer that answers with our own rules picks what we listed first.
    let peer = LocalEndpoint::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 50)), 30000, 7);
    let their = answer(&o, &peer).expect("peer answers");
    let n = accept_answer(&l, &their.sdp).expect("accepted");
    assert_eq!(
        (n.law, n.payload_type, n.telephone_event),
        (Law::Ulaw, 0, Some(101))
    );
    assert_eq!(n.remote_rtp, sock("192.0.2.50:30000"));
    assert_eq!(n.direction, Direction::SendRecv);
    assert!(!n.on_hold);

    let head = "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n";
    // (answer body after head, expected)
    type Outcome = Result<(Law, u8, Option<u8>, Direction), NegotiationError>;
    let answers: Vec<(String, Outcome)> = vec![
        (
            "m=audio 4000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n".into(),
            Ok((Law::Alaw, 8, Some(101), Direction::SendRecv)),
        ),
        (
            "m=audio 4000 RTP/AVP 0\r\na=recvonly\r\n".into(),
            Ok((Law::Ulaw, 0, None, Direction::SendOnly)),
        ),
        (
            "m=audio 4000 RTP/AVP 0\r\na=inactive\r\n".into(),
            Ok((Law::Ulaw, 0, None, Direction::Inactive)),
        ),
        (
            "m=audio 0 RTP/AVP 0\r\n".into(),
            Err(NegotiationError::Rejected),
        ),
        (
            "m=audio 4000 RTP/AVP 0\r\nm=video 0 RTP/AVP 96\r\n".into(),
            Err(NegotiationError::MediaCountMismatch {
                offered: 1,
                answered: 2,
            }),
        ),
        (
            "m=audio 4000 RTP/AVP 18\r\n".into(),
            Err(NegotiationError::NoCommonCodec {
                offered: vec!["18".into()],
            }),
        ),
        (
            "m=audio 4000 RTP/SAVP 0\r\n".into(),
            Err(NegotiationError::UnsupportedProtocol("RTP/SAVP".into())),
        ),
    ];
    for (body, expect) in answers {
        let got = accept_answer(&l, &parse(&format!("{head}{body}")))
            .map(|n| (n.law, n.payload_type, n.telephone_event, n.direction));
        assert_eq!(got, expect, "{body}");
    }
}

#[test]
fn version_moves_only_on_change() {
    let l = local();
    let mut ours = LocalSdp::new();
    assert!(ours.current().is_none());
    let first = ours.publish(answer(&parse(SOFTPHONE_OFFER), &l).expect("answer").sdp);
    assert_eq!(first.origin.session_version, 1);
    // (re-INVITE offer, local session id passed in, expected version)
    let steps: &[(&str, u64, u64)] = &[
        (SOFTPHONE_OFFER, 42, 1), // refresh, nothing changes
        (HOLD_REINVITE, 42, 2),   // hold: recvonly
        (HOLD_REINVITE, 999, 2),  // same again; the session id stays ours
        (SOFTPHONE_OFFER, 42, 3), // resume
        (SIPP_OFFER, 42, 4),      // codec change
    ];
    for (offer, id, version) in steps {
        let mut l = l.clone();
        l.session_id = *id;
        let sdp = ours.publish(answer(&parse(offer), &l).expect("answer").sdp);
        assert_eq!(sdp.origin.session_id, 42);
        assert_eq!(sdp.origin.session_version, *version);
        assert_eq!(ours.current(), Some(&sdp));
    }
}
