use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::fixtures::*;
use super::*;
use crate::media::g711::Law;
use crate::test_util::Lcg;

fn parse(text: &str) -> SessionDescription {
    SessionDescription::parse(text).expect("valid SDP")
}

#[test]
fn softphone_offer_fields() {
    let s = parse(SOFTPHONE_OFFER);
    assert_eq!(
        s.origin,
        Origin {
            username: "-".into(),
            session_id: 3904567890,
            session_version: 3904567890,
            address_type: AddressType::Ip4,
            address: "192.168.1.20".into(),
        }
    );
    assert_eq!(s.session_name, "pjmedia");
    assert_eq!(s.connection, None);
    assert_eq!(s.timing, Timing { start: 0, stop: 0 });
    assert_eq!(
        s.other,
        [OtherLine {
            kind: 'b',
            value: "AS:84".into()
        }]
    );
    assert_eq!(
        s.attributes,
        [Attribute::Other {
            name: "X-nat".into(),
            value: Some("0".into())
        }]
    );
    assert_eq!(s.media.len(), 1);
    let m = &s.media[0];
    assert_eq!(
        (m.media.as_str(), m.port, m.protocol.as_str()),
        ("audio", 4000, "RTP/AVP")
    );
    assert_eq!(m.formats, ["8", "0", "18", "101"]);
    assert_eq!(m.payload_types().collect::<Vec<_>>(), [8, 0, 18, 101]);
    assert_eq!(
        m.connection.map(|c| c.address),
        Some(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 20)))
    );
    assert_eq!(
        m.rtpmap(101),
        Some(&RtpMap::new(101, "telephone-event", 8000))
    );
    assert_eq!(m.rtpmap(18).map(|r| r.encoding.as_str()), Some("G729"));
    assert_eq!(m.rtpmap(3), None);
    assert_eq!(m.fmtp("101"), Some("0-16"));
    assert_eq!(m.fmtp("18"), Some("annexb=no"));
    assert_eq!(m.ptime(), None);
    assert_eq!(m.direction_attribute(), Some(Direction::SendRecv));
    assert!(m.is_rtp_avp());
    assert_eq!(
        m.other,
        [OtherLine {
            kind: 'b',
            value: "TIAS:64000".into()
        }]
    );
    assert!(m.attributes.contains(&Attribute::Other {
        name: "ssrc".into(),
        value: Some("1234567 cname:6a1f3c2b".into())
    }));
}

#[test]
fn opus_rtpmap_with_channels() {
    let s = parse(MULTI_CODEC_OFFER);
    let r = s.media[0].rtpmap(96).expect("rtpmap 96");
    assert_eq!(
        (r.encoding.as_str(), r.clock_rate, r.channels),
        ("opus", 48000, Some(2))
    );
    assert!(!r.is_8k_mono("opus"));
    assert_eq!(s.media[0].ptime(), Some(20));
}

#[test]
fn lf_and_crlf_parse_alike() {
    for (name, text) in ALL {
        let lf = text.replace("\r\n", "\n");
        let crlf = lf.replace('\n', "\r\n");
        assert_eq!(parse(&lf), parse(&crlf), "{name}");
        // Trailing blank lines and spaces are tolerated.
        assert_eq!(parse(&format!("{crlf}\r\n\r\n")), parse(&crlf), "{name}");
    }
}

#[test]
fn round_trips() {
    for (name, text) in ALL {
        let s = parse(text);
        let out = s.to_string();
        assert!(out.ends_with("\r\n"), "{name}");
        assert!(
            !out.replace("\r\n", "").contains('\n') && !out.replace("\r\n", "").contains('\r'),
            "{name}: stray line end"
        );
        let again = parse(&out);
        assert_eq!(again, s, "{name}");
        assert_eq!(again.to_string(), out, "{name}: not deterministic");
        assert_eq!(
            out.lines().count(),
            text.lines().filter(|l| !l.trim().is_empty()).count(),
            "{name}: lines lost"
        );
    }
}

#[test]
fn serialises_in_rfc_order() {
    // b= before t=, session attributes after t=, media c= before media b=.
    let s = parse(SOFTPHONE_OFFER);
    let expected = "v=0\r\n\
o=- 3904567890 3904567890 IN IP4 192.168.1.20\r\n\
s=pjmedia\r\n\
b=AS:84\r\n\
t=0 0\r\n\
a=X-nat:0\r\n\
m=audio 4000 RTP/AVP 8 0 18 101\r\n\
c=IN IP4 192.168.1.20\r\n\
b=TIAS:64000\r\n\
a=rtcp:4001 IN IP4 192.168.1.20\r\n\
a=sendrecv\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:18 G729/8000\r\n\
a=fmtp:18 annexb=no\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ssrc:1234567 cname:6a1f3c2b\r\n";
    assert_eq!(s.to_string(), expected);
    // Out-of-order input comes out in order.
    let shuffled = "v=0\nt=0 0\nc=IN IP4 10.0.0.1\nk=prompt\ns=x\no=a 1 2 IN IP4 h\nm=audio 1 RTP/AVP 0\nb=AS:1\nc=IN IP4 10.0.0.2\ni=info\n";
    assert_eq!(
        parse(shuffled).to_string(),
        "v=0\r\no=a 1 2 IN IP4 h\r\ns=x\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nk=prompt\r\n\
m=audio 1 RTP/AVP 0\r\ni=info\r\nc=IN IP4 10.0.0.2\r\nb=AS:1\r\n"
    );
}

#[test]
fn defaults_for_missing_optional_lines() {
    let s = parse("v=0\no=- 1 1 IN IP4 h\ns=\nm=audio 5 RTP/AVP 0\n");
    assert_eq!(s.session_name, "-");
    assert_eq!(s.timing, Timing::default());
    let s = parse("v=0\no=- 1 1 IN IP4 h\n");
    assert_eq!(s.session_name, "-");
    assert!(s.media.is_empty());
    assert_eq!(s.audio_rtp_addr(), None);
    assert!(!s.is_on_hold());
}

const HEAD: &str = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\n";

#[test]
fn bad_lines_are_named() {
    // (body after HEAD, or a whole body when it starts with '!'; line number; error)
    let cases: &[(&str, usize, LineError)] = &[
        ("!o=- 1 1 IN IP4 h\r\n", 1, LineError::VersionNotFirst),
        ("!v=1\r\n", 1, LineError::Version),
        ("!garbage\r\n", 1, LineError::NotTypeValue),
        ("v=0\r\n", 5, LineError::Duplicate('v')),
        ("o=- 1 1 IN IP4 h\r\n", 5, LineError::Duplicate('o')),
        ("!v=0\r\no=- 1 1 IN IP4\r\n", 2, LineError::Origin),
        ("!v=0\r\no=- x 1 IN IP4 h\r\n", 2, LineError::Origin),
        ("!v=0\r\no=- -1 1 IN IP4 h\r\n", 2, LineError::Origin),
        ("!v=0\r\no=- 1 1 ATM IP4 h\r\n", 2, LineError::Origin),
        ("!v=0\r\no=- 1 1 IN IPX h\r\n", 2, LineError::Origin),
        (
            "!v=0\r\no=- 1 99999999999999999999 IN IP4 h\r\n",
            2,
            LineError::Origin,
        ),
        ("m=audio abc RTP/AVP 0\r\n", 5, LineError::Media),
        ("m=audio 70000 RTP/AVP 0\r\n", 5, LineError::Media),
        ("m=audio 5000 RTP/AVP\r\n", 5, LineError::Media),
        ("m=audio 5000 RTP/AVP 128\r\n", 5, LineError::Media),
        ("m=AUDIO 5000 RTP/AVP PCMU\r\n", 5, LineError::Media),
        ("m=audio 5000/x RTP/AVP 0\r\n", 5, LineError::Media),
        ("m=audio\r\n", 5, LineError::Media),
    ];
    for (body, line, kind) in cases {
        let text = match body.strip_prefix('!') {
            Some(whole) => whole.to_owned(),
            None => format!("{HEAD}{body}"),
        };
        match SessionDescription::parse(&text) {
            Err(SdpError::BadLine {
                line: l, kind: k, ..
            }) => {
                assert_eq!((l, k), (*line, *kind), "{body:?}");
            }
            other => panic!("{body:?}: {other:?}"),
        }
    }
}

#[test]
fn what_the_gateway_does_not_use_never_fails_the_offer() {
    // Lines placed before, inside, or after the audio stream; each offer still gets
    // PCMU on the audio stream at 10.0.0.1:4000.
    const AUDIO: &str = "c=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0 96 97\r\n";
    let cases: &[(&str, &str, &str)] = &[
        // (session-level lines, lines in the audio section, sections after it)
        ("x=unknown type\r\nX=upper\r\n", "", ""),
        ("=no type\r\n\u{e9}=x\r\n", "", ""),
        ("s=again\r\nt=now never\r\n", "", ""),
        (
            "b=AS:garbage\r\nk=prompt\r\nz=junk\r\n",
            "b=what\r\nk=clear:x\r\n",
            "",
        ),
        ("a=\r\na=:x\r\na=a b\r\n", "", ""),
        (
            "",
            "a=rtpmap:96 foo\r\na=rtpmap:97\r\na=rtpmap:x PCMU/8000\r\na=rtpmap:200 PCMU/8000\r\n",
            "",
        ),
        (
            "",
            "a=fmtp:\r\na=fmtp\r\na=fmtp:96 \u{1f600} garbage\r\na=ptime:abc\r\na=ptime\r\n",
            "",
        ),
        (
            "",
            "a=unknown-thing:1 2 3\r\na=flag\r\no=- 1 1 IN IP4 h\r\ns=x\r\nt=0 0\r\nr=1 2 3\r\n",
            "",
        ),
        ("", "c=IN IP4 10.0.0.1\r\nc=IN IP4 224.2.1.1/127\r\n", ""),
        (
            "",
            "",
            "m=video 3227 RTP/AVP 31\r\nc=IN IP4 224.2.1.1/127\r\na=rtpmap:31 LPC\r\n",
        ),
        ("", "", "m=video 0 RTP/AVP 31\r\nm=image 9000 udptl t38\r\n"),
        (
            "",
            "",
            "m=video abc RTP/AVP x\r\nm=application\r\nm=text 70000 RTP/AVP 200\r\n",
        ),
        ("c=IN IP4 999.1.1.1\r\n", "", ""),
    ];
    let local = LocalEndpoint::new("192.0.2.50".parse().expect("ip"), 30000, 1);
    for (session, in_audio, after) in cases {
        let text = format!("{HEAD}{session}{AUDIO}{in_audio}{after}");
        let offer = SessionDescription::parse(&text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        let a = answer(&offer, &local).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(a.negotiated.law, Law::Ulaw, "{text:?}");
        assert_eq!(
            a.negotiated.remote_rtp,
            "10.0.0.1:4000".parse().expect("addr"),
            "{text:?}"
        );
        assert_eq!(a.sdp.media.len(), offer.media.len(), "{text:?}");
        assert!(a.sdp.media.iter().skip(1).all(|m| m.port == 0), "{text:?}");
    }
}

#[test]
fn what_the_gateway_uses_must_be_right() {
    let local = LocalEndpoint::new("192.0.2.50".parse().expect("ip"), 30000, 1);
    let cases: &[(&str, NegotiationError)] = &[
        (
            "c=IN IP4 999.1.1.1\r\nm=audio 4000 RTP/AVP 0\r\n",
            NegotiationError::MalformedConnection { media_index: 0 },
        ),
        (
            "c=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP4 host.example\r\n",
            NegotiationError::MalformedConnection { media_index: 0 },
        ),
        (
            "c=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 96\r\na=rtpmap:96 PCMU\r\n",
            NegotiationError::NoCommonCodec {
                offered: vec!["96".into()],
            },
        ),
        (
            "c=IN IP4 10.0.0.1\r\nm=video 4000 RTP/AVP 31\r\nm=image 9 udptl t38\r\n",
            NegotiationError::NoAudio,
        ),
    ];
    for (body, want) in cases {
        let offer = SessionDescription::parse(&format!("{HEAD}{body}")).expect("parses");
        assert_eq!(
            answer(&offer, &local).err().as_ref(),
            Some(want),
            "{body:?}"
        );
    }
}

#[test]
fn whole_body_errors() {
    let cases: &[(&[u8], SdpError)] = &[
        (b"", SdpError::Missing('v')),
        (b"\r\n\r\n", SdpError::Missing('v')),
        (b"v=0\r\ns=-\r\n", SdpError::Missing('o')),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=\xff\r\n", SdpError::NotUtf8),
    ];
    for (body, err) in cases {
        assert_eq!(SessionDescription::parse_bytes(body), Err(err.clone()));
    }
    let big = format!("{HEAD}{}", "a=x\r\n".repeat(MAX_SDP_LEN / 5));
    assert!(matches!(
        SessionDescription::parse(&big),
        Err(SdpError::TooLarge(_))
    ));
    assert!(matches!(
        SessionDescription::parse_bytes(big.as_bytes()),
        Err(SdpError::TooLarge(_))
    ));
    assert_eq!(
        SIPP_OFFER.parse::<SessionDescription>(),
        SessionDescription::parse_bytes(SIPP_OFFER.as_bytes())
    );
}

#[test]
fn error_text_is_bounded_and_names_the_line() {
    let long = format!("{HEAD}m=audio {}\r\n", "é".repeat(500));
    let err = SessionDescription::parse(&long).expect_err("bad audio m= line");
    let SdpError::BadLine { line, text, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(*line, 5);
    assert!(text.chars().count() <= 81, "{}", text.len());
    assert!(err.to_string().starts_with("SDP line 5 \"m=audio "));
}

#[test]
fn b2bua_helpers() {
    let v4 = |a, b, c, d, port| SocketAddr::new(IpAddr::V4(Ipv4Addr::new(a, b, c, d)), port);
    // (body, rtp addr, direction, on hold)
    let cases: Vec<(&str, Option<SocketAddr>, Option<Direction>, bool)> = vec![
        (SIPP_OFFER, Some(v4(127, 0, 0, 1, 6000)), Some(Direction::SendRecv), false),
        (SOFTPHONE_OFFER, Some(v4(192, 168, 1, 20, 4000)), Some(Direction::SendRecv), false),
        (HOLD_REINVITE, Some(v4(192, 168, 1, 20, 4000)), Some(Direction::SendOnly), true),
        (OLD_HOLD_REINVITE, Some(v4(0, 0, 0, 0, 6000)), Some(Direction::SendRecv), true),
        (
            IPV6_OFFER,
            Some(SocketAddr::new("2001:db8::1".parse().expect("v6"), 49170)),
            Some(Direction::SendRecv),
            false,
        ),
        (
            "v=0\no=- 1 1 IN IP4 h\nc=IN IP4 10.0.0.1\na=inactive\nm=audio 7 RTP/AVP 0\n",
            Some(v4(10, 0, 0, 1, 7)),
            Some(Direction::Inactive),
            true,
        ),
        (
            "v=0\no=- 1 1 IN IP4 h\nc=IN IP4 10.0.0.1\na=sendonly\nm=audio 7 RTP/AVP 0\na=recvonly\n",
            Some(v4(10, 0, 0, 1, 7)),
            Some(Direction::RecvOnly),
            false,
        ),
        (
            "v=0\no=- 1 1 IN IP4 h\nc=IN IP4 10.0.0.1\nm=video 9 RTP/AVP 96\nm=audio 0 RTP/AVP 0\nm=audio 8 RTP/AVP 8\nc=IN IP4 10.0.0.9\n",
            Some(v4(10, 0, 0, 9, 8)),
            Some(Direction::SendRecv),
            false,
        ),
        (
            "v=0\no=- 1 1 IN IP4 h\nm=audio 8 RTP/AVP 8\n",
            None,
            Some(Direction::SendRecv),
            false,
        ),
        ("v=0\no=- 1 1 IN IP4 h\nm=video 9 RTP/AVP 96\n", None, None, false),
    ];
    for (body, addr, dir, hold) in cases {
        let s = parse(body);
        assert_eq!(s.audio_rtp_addr(), addr, "{body}");
        assert_eq!(s.audio_direction(), dir, "{body}");
        assert_eq!(s.is_on_hold(), hold, "{body}");
    }
}

#[test]
fn direction_algebra() {
    use Direction::*;
    // (offer, reversed)
    let cases = [
        (SendRecv, SendRecv),
        (SendOnly, RecvOnly),
        (RecvOnly, SendOnly),
        (Inactive, Inactive),
    ];
    for (d, r) in cases {
        assert_eq!(d.reversed(), r);
        assert_eq!(Direction::from_name(d.as_str()), Some(d));
        assert_eq!(d.intersect(SendRecv), d);
        assert_eq!(d.intersect(Inactive), Inactive);
    }
    assert_eq!(SendOnly.intersect(RecvOnly), Inactive);
    assert_eq!(Direction::from_name("sendRecv"), None);
}

fn check_no_panic(body: &[u8]) -> bool {
    match SessionDescription::parse_bytes(body) {
        Ok(s) => {
            // What is written reads back to the same text (lines kept as read move to
            // their level's group, so the first pass may reorder them).
            let text = s.to_string();
            assert_eq!(
                parse(&text).to_string(),
                text,
                "{:?}",
                String::from_utf8_lossy(body)
            );
            true
        }
        Err(_) => false,
    }
}

#[test]
fn truncated_bodies_never_panic() {
    for (_, text) in ALL {
        for end in 0..=text.len() {
            if text.is_char_boundary(end) {
                check_no_panic(&text.as_bytes()[..end]);
            }
        }
    }
}

#[test]
fn random_input_never_panics() {
    const PIECES: &[&str] = &[
        "v=0",
        "o=- 1 2 IN IP4 h",
        "s=-",
        "c=IN IP4 1.2.3.4",
        "c=IN IP6 ::",
        "t=0 0",
        "m=audio 5 RTP/AVP 0 8",
        "m=video 0 RTP/SAVP 96",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:",
        "a=fmtp:101 0-15",
        "a=ptime:20",
        "a=sendonly",
        "a=x:y",
        "b=AS:1",
        "\r\n",
        "\n",
        "\r",
        " ",
        "=",
        ":",
        "/",
        "é",
        "\u{0}",
        "9",
        "a=",
        "m=",
        "z=",
        "q=",
    ];
    let mut rng = Lcg(0x5d9);
    let mut ok = 0;
    for round in 0..20_000 {
        let body: Vec<u8> = if round % 5 == 0 {
            let len = (rng.next() % 200) as usize;
            (0..len).map(|_| rng.next() as u8).collect()
        } else {
            let mut s = String::from("v=0\n");
            for _ in 0..rng.next() % 20 {
                s.push_str(PIECES[(rng.next() as usize) % PIECES.len()]);
                if rng.next() % 2 == 0 {
                    s.push('\n');
                }
            }
            s.into_bytes()
        };
        if check_no_panic(&body) {
            ok += 1;
        }
    }
    assert!(ok > 100, "only {ok} random bodies parsed");
}
