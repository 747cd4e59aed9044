use super::*;

#[test]
fn digits_and_event_codes() {
    let cases = [
        ('0', 0),
        ('5', 5),
        ('9', 9),
        ('*', 10),
        ('#', 11),
        ('A', 12),
        ('B', 13),
        ('C', 14),
        ('D', 15),
    ];
    for (digit, event) in cases {
        assert_eq!(digit_to_event(digit), Some(event), "{digit}");
        assert_eq!(event_to_digit(event), Some(digit), "{event}");
    }
    assert_eq!(digit_to_event('d'), Some(15));
    assert_eq!(digit_to_event('E'), None);
    assert_eq!(digit_to_event('x'), None);
    assert_eq!(event_to_digit(16), None, "flash is not a key");
    assert_eq!(event_to_digit(255), None);
}

#[test]
fn parse_and_build_payloads() {
    // (bytes, event)
    let cases: &[([u8; 4], TelephoneEvent)] = &[
        (
            [0x05, 0x0a, 0x00, 0xa0],
            TelephoneEvent {
                event: 5,
                end: false,
                volume: 10,
                duration: 160,
            },
        ),
        (
            [0x0b, 0x8a, 0x03, 0x20],
            TelephoneEvent {
                event: 11,
                end: true,
                volume: 10,
                duration: 800,
            },
        ),
        (
            [0x10, 0x3f, 0xff, 0xff],
            TelephoneEvent {
                event: 16,
                end: false,
                volume: 63,
                duration: 65535,
            },
        ),
    ];
    for (bytes, ev) in cases {
        assert_eq!(TelephoneEvent::parse(bytes), Ok(*ev), "{bytes:?}");
        assert_eq!(ev.to_bytes(), *bytes);
    }
    // The reserved bit is ignored on input and cleared on output.
    let ev = TelephoneEvent::parse(&[1, 0xCA, 0, 1, 0xEE]).expect("valid");
    assert_eq!((ev.end, ev.volume, ev.duration), (true, 10, 1));
    assert_eq!(ev.to_bytes(), [1, 0x8A, 0, 1]);
    for len in 0..4 {
        assert_eq!(
            TelephoneEvent::parse(&[0; 4][..len]),
            Err(DtmfError::TooShort { len })
        );
    }
}

fn pkt(event: u8, end: bool, duration: u16) -> Vec<u8> {
    TelephoneEvent {
        event,
        end,
        volume: 10,
        duration,
    }
    .to_bytes()
    .to_vec()
}

#[test]
fn receiver_reports_each_press_once() {
    // (timestamp, payload, expected digit)
    let stream: Vec<(u32, Vec<u8>, Option<char>)> = vec![
        // '1': start, updates, three ends.
        (1000, pkt(1, false, 160), Some('1')),
        (1000, pkt(1, false, 320), None),
        (1000, pkt(1, false, 480), None),
        (1000, pkt(1, true, 800), None),
        (1000, pkt(1, true, 800), None),
        (1000, pkt(1, true, 800), None),
        // '1' again: a second press has a new timestamp.
        (3000, pkt(1, false, 160), Some('1')),
        (3000, pkt(1, true, 640), None),
        // '#': start packets lost, only the ends arrive.
        (5000, pkt(11, true, 800), Some('#')),
        (5000, pkt(11, true, 800), None),
        // A late end packet of the first '1'.
        (1000, pkt(1, true, 800), None),
        // Flash (event 16) is not a digit and is not reported.
        (7000, pkt(16, false, 160), None),
        (7000, pkt(16, true, 800), None),
        // 'D' across the timestamp wrap.
        (u32::MAX - 100, pkt(15, false, 160), Some('D')),
        (u32::MAX - 100, pkt(15, true, 800), None),
    ];
    let mut rx = DtmfReceiver::new();
    for (i, (ts, payload, expect)) in stream.iter().enumerate() {
        let got = rx.on_packet(*ts, payload).expect("valid payload");
        assert_eq!(got.map(|d| d.digit), *expect, "packet {i}");
        if let Some(d) = got {
            assert_eq!(d.timestamp, *ts);
            assert_eq!(Some(d.event), digit_to_event(d.digit));
        }
    }
    assert_eq!(
        rx.on_packet(9000, &[1, 2]),
        Err(DtmfError::TooShort { len: 2 })
    );
}

#[test]
fn sender_packet_sequences() {
    // (digit, duration, expected (marker, end, duration) list)
    type Expect = Vec<(bool, bool, u16)>;
    let cases: Vec<(char, u16, Expect)> = vec![
        (
            '5',
            800,
            vec![
                (true, false, 160),
                (false, false, 320),
                (false, false, 480),
                (false, false, 640),
                (false, true, 800),
                (false, true, 800),
                (false, true, 800),
            ],
        ),
        (
            '#',
            400,
            vec![
                (true, false, 160),
                (false, false, 320),
                (false, true, 400),
                (false, true, 400),
                (false, true, 400),
            ],
        ),
        (
            'a',
            100,
            vec![
                (true, false, 100),
                (false, true, 100),
                (false, true, 100),
                (false, true, 100),
            ],
        ),
    ];
    for (digit, duration, expect) in cases {
        let pkts = digit_packets(digit, duration, DEFAULT_VOLUME).expect("valid digit");
        let got: Expect = pkts
            .iter()
            .map(|p| (p.marker, p.event.end, p.event.duration))
            .collect();
        assert_eq!(got, expect, "{digit}");
        for p in &pkts {
            assert_eq!(p.event.digit(), Some(digit.to_ascii_uppercase()));
            assert_eq!(p.event.volume, DEFAULT_VOLUME);
            assert_eq!(TelephoneEvent::parse(&p.payload()), Ok(p.event));
        }
    }
    // The longest event does not overflow.
    let pkts = digit_packets('0', u16::MAX, 0).expect("valid");
    assert_eq!(pkts.last().map(|p| p.event.duration), Some(u16::MAX));
}

#[test]
fn sender_rejects_bad_input() {
    let cases = [
        ('x', 800, 10, DtmfError::NotADigit('x')),
        ('1', 800, 64, DtmfError::VolumeOutOfRange(64)),
        ('1', 0, 10, DtmfError::ZeroDuration),
    ];
    for (d, dur, vol, err) in cases {
        assert_eq!(digit_packets(d, dur, vol), Err(err));
    }
}

#[test]
fn sent_sequence_is_received_as_one_digit() {
    let mut rx = DtmfReceiver::new();
    let mut digits = Vec::new();
    for (i, d) in "0123456789*#ABCD".chars().enumerate() {
        let ts = 160 * 100 * i as u32;
        for p in digit_packets(d, DEFAULT_DURATION, DEFAULT_VOLUME).expect("valid") {
            if let Some(r) = rx.on_packet(ts, &p.payload()).expect("valid") {
                digits.push(r.digit);
            }
        }
    }
    assert_eq!(digits.iter().collect::<String>(), "0123456789*#ABCD");
}
