use super::*;
use crate::test_util::Lcg;

fn hdr(marker: bool, pt: u8, seq: u16, ts: u32, ssrc: u32) -> RtpHeader {
    RtpHeader {
        marker,
        payload_type: pt,
        sequence: seq,
        timestamp: ts,
        ssrc,
    }
}

#[test]
fn parse_valid_packets() {
    // (bytes, header, padding, csrcs, extension (profile, data), payload)
    type Case = (
        Vec<u8>,
        RtpHeader,
        u8,
        Vec<u32>,
        Option<(u16, Vec<u8>)>,
        Vec<u8>,
    );
    let base = [
        0x80, 0x00, 0x12, 0x34, 0, 0, 0x01, 0x00, 0xde, 0xad, 0xbe, 0xef,
    ];
    let cases: Vec<Case> = vec![
        (
            base.to_vec(),
            hdr(false, 0, 0x1234, 256, 0xdeadbeef),
            0,
            vec![],
            None,
            vec![],
        ),
        (
            [&[0x80, 0x88][..], &base[2..], &[1, 2, 3]].concat(),
            hdr(true, 8, 0x1234, 256, 0xdeadbeef),
            0,
            vec![],
            None,
            vec![1, 2, 3],
        ),
        (
            // CC = 2
            [&[0x82, 0x65][..], &base[2..], &[0, 0, 0, 1, 0, 0, 0, 2, 9]].concat(),
            hdr(false, 101, 0x1234, 256, 0xdeadbeef),
            0,
            vec![1, 2],
            None,
            vec![9],
        ),
        (
            // X: profile 0xBEDE, one word
            [
                &[0x90, 0x00][..],
                &base[2..],
                &[0xBE, 0xDE, 0, 1, 1, 2, 3, 4, 7, 7],
            ]
            .concat(),
            hdr(false, 0, 0x1234, 256, 0xdeadbeef),
            0,
            vec![],
            Some((0xBEDE, vec![1, 2, 3, 4])),
            vec![7, 7],
        ),
        (
            // P: 3 padding bytes
            [&[0xA0, 0x00][..], &base[2..], &[5, 6, 0, 0, 3]].concat(),
            hdr(false, 0, 0x1234, 256, 0xdeadbeef),
            3,
            vec![],
            None,
            vec![5, 6],
        ),
        (
            // P with the whole rest as padding
            [&[0xA0, 0x00][..], &base[2..], &[0, 2]].concat(),
            hdr(false, 0, 0x1234, 256, 0xdeadbeef),
            2,
            vec![],
            None,
            vec![],
        ),
    ];
    for (bytes, header, padding, csrcs, ext, payload) in cases {
        let p = RtpPacket::parse(&bytes).expect("valid packet");
        assert_eq!(p.header, header, "{bytes:?}");
        assert_eq!(p.padding, padding, "{bytes:?}");
        assert_eq!(p.csrc_count(), csrcs.len());
        assert_eq!(p.csrcs().collect::<Vec<_>>(), csrcs);
        assert_eq!(
            p.extension.map(|e| (e.profile, e.data.to_vec())),
            ext,
            "{bytes:?}"
        );
        assert_eq!(p.payload, &payload[..], "{bytes:?}");
    }
}

#[test]
fn parse_rejects_malformed_packets() {
    let base = [0x80u8, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
    let cases: Vec<(Vec<u8>, RtpError)> = vec![
        (vec![], RtpError::TooShort { len: 0 }),
        (base[..11].to_vec(), RtpError::TooShort { len: 11 }),
        ([&[0x40][..], &base[1..]].concat(), RtpError::BadVersion(1)),
        ([&[0x00][..], &base[1..]].concat(), RtpError::BadVersion(0)),
        (
            [&[0x81][..], &base[1..], &[0, 0, 0]].concat(),
            RtpError::TruncatedCsrc { count: 1 },
        ),
        (
            [&[0x90][..], &base[1..], &[0xBE, 0xDE, 0]].concat(),
            RtpError::TruncatedExtension,
        ),
        (
            [&[0x90][..], &base[1..], &[0xBE, 0xDE, 0, 2, 1, 2, 3, 4]].concat(),
            RtpError::TruncatedExtension,
        ),
        (
            [&[0xA0][..], &base[1..]].concat(),
            RtpError::BadPadding {
                pad: 0,
                available: 0,
            },
        ),
        (
            [&[0xA0][..], &base[1..], &[1, 2, 0]].concat(),
            RtpError::BadPadding {
                pad: 0,
                available: 3,
            },
        ),
        (
            [&[0xA0][..], &base[1..], &[1, 4]].concat(),
            RtpError::BadPadding {
                pad: 4,
                available: 2,
            },
        ),
    ];
    for (bytes, err) in cases {
        assert_eq!(RtpPacket::parse(&bytes), Err(err), "{bytes:?}");
    }
}

#[test]
fn build_then_parse_round_trips() {
    let cases = [
        hdr(false, 0, 0, 0, 0),
        hdr(true, 8, 65535, u32::MAX, 0x1234_5678),
        hdr(false, 101, 42, 160, 1),
        hdr(true, 127, 1, 2, 3),
    ];
    for h in cases {
        let payload = [0xFFu8; 160];
        let bytes = h.to_packet(&payload);
        assert_eq!(bytes.len(), HEADER_LEN + 160);
        let p = RtpPacket::parse(&bytes).expect("own packet parses");
        assert_eq!(p.header, h);
        assert_eq!(p.payload, &payload[..]);
        assert_eq!(p.padding, 0);
        assert!(p.extension.is_none());
    }
    // Payload type is masked to 7 bits.
    let bytes = hdr(false, 0x80 | 5, 0, 0, 0).to_packet(&[]);
    assert_eq!(bytes[1], 5);
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Lcg(0x0e17_3000);
    let mut ok = 0;
    for _ in 0..50_000 {
        let len = (rng.next() % 64) as usize;
        let mut buf: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if let Some(b) = buf.first_mut() {
            // Make version 2 common so the deeper checks are reached.
            if rng.next() % 4 != 0 {
                *b = (*b & 0x3F) | 0x80;
            }
        }
        if let Ok(p) = RtpPacket::parse(&buf) {
            ok += 1;
            let used = HEADER_LEN
                + p.csrc_count() * 4
                + p.extension.map_or(0, |e| 4 + e.data.len())
                + p.payload.len()
                + usize::from(p.padding);
            assert_eq!(used, buf.len(), "{buf:?}");
        }
    }
    assert!(ok > 1000, "only {ok} random packets parsed");
}

#[test]
fn sender_advances_sequence_and_timestamp() {
    let mut s = RtpSender::new(0xCAFE, 0, 65534, u32::MAX - 159).expect("valid pt");
    let mut out = Vec::new();
    let payload = [0xFFu8; 160];
    // (action, expected header or none)
    let steps: &[(&str, Option<RtpHeader>)] = &[
        ("audio", Some(hdr(true, 0, 65534, u32::MAX - 159, 0xCAFE))),
        ("audio", Some(hdr(false, 0, 65535, 0, 0xCAFE))),
        ("audio", Some(hdr(false, 0, 0, 160, 0xCAFE))),
        ("skip", None),
        ("audio", Some(hdr(true, 0, 1, 480, 0xCAFE))),
        ("talkspurt", None),
        ("audio", Some(hdr(true, 0, 2, 640, 0xCAFE))),
        ("audio", Some(hdr(false, 0, 3, 800, 0xCAFE))),
    ];
    for (action, expect) in steps {
        match *action {
            "audio" => {
                let h = s.audio(&payload, &mut out);
                assert_eq!(Some(h), *expect);
                let p = RtpPacket::parse(&out).expect("parses");
                assert_eq!(p.header, h);
                assert_eq!(p.payload.len(), 160);
            }
            "skip" => s.skip(),
            _ => s.mark_talkspurt(),
        }
    }
    assert_eq!(s.packets_sent(), 6);
    assert_eq!(s.next_sequence(), 4);
    assert_eq!(s.timestamp(), 960);
    assert_eq!(s.ssrc(), 0xCAFE);
}

#[test]
fn sender_events_share_the_sequence_space() {
    let mut s = RtpSender::new(7, 8, 100, 1000).expect("valid pt");
    let mut out = Vec::new();
    s.audio(&[0xD5; 160], &mut out);
    let ts = s.timestamp();
    let h = s
        .event(101, true, ts, &[5, 0x0a, 0, 160], &mut out)
        .expect("pt");
    assert_eq!(h, hdr(true, 101, 101, 1160, 7));
    s.skip();
    assert_eq!(s.timestamp(), 1320, "audio clock keeps running");
    let h = s.audio(&[0xD5; 160], &mut out);
    assert_eq!(h, hdr(true, 8, 102, 1320, 7));
    assert_eq!(
        s.event(128, false, 0, &[], &mut out),
        Err(RtpError::PayloadTypeOutOfRange(128))
    );
    assert!(matches!(
        RtpSender::new(1, 200, 0, 0),
        Err(RtpError::PayloadTypeOutOfRange(200))
    ));
}

#[test]
fn rtcp_is_told_apart() {
    // (datagram start, is RTCP)
    let cases: &[(&[u8], bool)] = &[
        (&[0x80, 200], true),   // SR
        (&[0x81, 201], true),   // RR
        (&[0x81, 202], true),   // SDES
        (&[0x80, 203], true),   // BYE
        (&[0x80, 0x00], false), // PCMU
        (&[0x80, 0x88], false), // PCMA with marker
        (&[0x80, 101], false),  // telephone-event
        (&[0x40, 200], false),  // not version 2
        (&[0x80], false),
        (&[], false),
    ];
    for (buf, rtcp) in cases {
        assert_eq!(is_rtcp(buf), *rtcp, "{buf:?}");
    }
}
