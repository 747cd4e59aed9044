use super::*;
use crate::at::command::Command;
use crate::at::urc::CallEndReport;
use crate::test_util::Lcg;

fn run(expect: Expect, chunks: &[&[u8]]) -> Vec<Frame> {
    let mut d = AtDecoder::new();
    d.expect(expect);
    let mut out = Vec::new();
    for c in chunks {
        d.push(c);
        while let Some(f) = d.decode() {
            out.push(f);
        }
    }
    out
}

fn all(expect: Expect, bytes: &[u8]) -> Vec<Frame> {
    run(expect, &[bytes])
}

/// Every split of the input into two reads decodes to the same frames as one read.
fn split_invariant(expect: &Expect, bytes: &[u8]) {
    let whole = all(expect.clone(), bytes);
    for i in 0..=bytes.len() {
        let (a, b) = bytes.split_at(i);
        assert_eq!(
            run(expect.clone(), &[a, b]),
            whole,
            "split at {i} of {:?}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn final_results() {
    let cases: &[(&[u8], FinalResult)] = &[
        (b"\r\nOK\r\n", FinalResult::Ok),
        (b"\r\nERROR\r\n", FinalResult::Error),
        (b"\r\nCOMMAND NOT SUPPORT\r\n", FinalResult::NotSupported),
        (
            b"\r\n+CME ERROR: 10\r\n",
            FinalResult::CmeError(ErrorCode::Code(10)),
        ),
        (
            b"\r\n+CME ERROR: SIM not inserted\r\n",
            FinalResult::CmeError(ErrorCode::Text("SIM not inserted".into())),
        ),
        (
            b"\r\n+CMS ERROR: 321\r\n",
            FinalResult::CmsError(ErrorCode::Code(321)),
        ),
    ];
    for (bytes, want) in cases {
        assert_eq!(
            all(Expect::default(), bytes),
            vec![Frame::Final(want.clone())]
        );
    }
}

#[test]
fn call_progress_is_final_only_while_dialing() {
    let dial = Command::Dial(crate::domain::DialNumber::parse("100").unwrap()).expect();
    for (text, f) in [
        ("NO CARRIER", FinalResult::NoCarrier),
        ("BUSY", FinalResult::Busy),
        ("NO ANSWER", FinalResult::NoAnswer),
        ("NO DIALTONE", FinalResult::NoDialtone),
    ] {
        let bytes = format!("\r\n{text}\r\n");
        assert_eq!(
            all(dial.clone(), bytes.as_bytes()),
            vec![Frame::Final(f.clone())]
        );
        assert_eq!(
            all(Command::SignalQuery.expect(), bytes.as_bytes()),
            vec![Frame::Urc(Urc::CallProgress(f))],
            "{text} during AT+CSQ is a call event, not the CSQ result"
        );
    }
}

#[test]
fn recorded_init_transcript() {
    // Identity answers credited to their commands; echo recognised.
    let cases: Vec<(Command, &[u8], Vec<Frame>)> = vec![
        (
            Command::Manufacturer,
            b"AT+CGMI\r\r\nhuawei\r\n\r\nOK\r\n",
            vec![
                Frame::Echo("AT+CGMI".into()),
                Frame::Response("huawei".into()),
                Frame::Final(FinalResult::Ok),
            ],
        ),
        (
            Command::Firmware,
            b"\r\n11.126.85.00.209\r\n\r\nOK\r\n",
            vec![
                Frame::Response("11.126.85.00.209".into()),
                Frame::Final(FinalResult::Ok),
            ],
        ),
        (
            Command::SignalQuery,
            b"\r\n+CSQ: 17,99\r\n\r\nOK\r\n",
            vec![
                Frame::Response("+CSQ: 17,99".into()),
                Frame::Final(FinalResult::Ok),
            ],
        ),
        (
            Command::RegQuery,
            b"\r\n+CREG: 2,1,\"00B3\",\"926A\"\r\n\r\nOK\r\n",
            vec![
                Frame::Response("+CREG: 2,1,\"00B3\",\"926A\"".into()),
                Frame::Final(FinalResult::Ok),
            ],
        ),
        (
            Command::ListCalls,
            b"\r\n+CLCC: 1,0,2,0,0,\"0791234567\",129\r\n\r\nOK\r\n",
            vec![
                Frame::Response("+CLCC: 1,0,2,0,0,\"0791234567\",129".into()),
                Frame::Final(FinalResult::Ok),
            ],
        ),
        (
            Command::ListCalls,
            b"\r\nOK\r\n",
            vec![Frame::Final(FinalResult::Ok)],
        ),
    ];
    for (cmd, bytes, want) in cases {
        let e = cmd.expect();
        assert_eq!(all(e.clone(), bytes), want, "{cmd}");
        split_invariant(&e, bytes);
    }
}

#[test]
fn urc_inside_a_response_is_not_credited_to_the_command() {
    // ^RSSI arrives between the firmware line and OK, and before it: never the firmware.
    let bytes =
        b"\r\n^RSSI:14\r\n\r\n11.126.85.00.209\r\n\r\n^BOOT:20952548,0,0,0,72\r\n\r\nOK\r\n";
    let e = Command::Firmware.expect();
    assert_eq!(
        all(e.clone(), bytes),
        vec![
            Frame::Urc(Urc::Rssi(14)),
            Frame::Response("11.126.85.00.209".into()),
            Frame::Urc(Urc::Boot),
            Frame::Final(FinalResult::Ok),
        ]
    );
    split_invariant(&e, bytes);
}

#[test]
fn urc_inside_multiline_clcc() {
    let bytes = b"\r\n+CLCC: 1,0,3,0,0,\"100\",129\r\n\r\n^CONF:1\r\n\r\nOK\r\n";
    let e = Command::ListCalls.expect();
    assert_eq!(
        all(e, bytes),
        vec![
            Frame::Response("+CLCC: 1,0,3,0,0,\"100\",129".into()),
            Frame::Urc(Urc::Conf { idx: 1 }),
            Frame::Final(FinalResult::Ok),
        ]
    );
}

#[test]
fn unprefixed_lines_when_idle_are_garbage() {
    assert_eq!(
        all(Expect::default(), b"\r\nhuawei\r\n"),
        vec![Frame::Garbage("huawei".into())]
    );
}

#[test]
fn crlf_variants() {
    let e = Command::SignalQuery.expect();
    let want = vec![
        Frame::Response("+CSQ: 17,99".into()),
        Frame::Final(FinalResult::Ok),
    ];
    for bytes in [
        &b"\r\n+CSQ: 17,99\r\n\r\nOK\r\n"[..],
        b"\n+CSQ: 17,99\nOK\n",
        b"\r+CSQ: 17,99\rOK\r",
        b"\r\r\n+CSQ: 17,99\r\r\n\r\r\nOK\r\r\n",
        b"+CSQ: 17,99\r\nOK\r\n",
    ] {
        assert_eq!(
            all(e.clone(), bytes),
            want,
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
        split_invariant(&e, bytes);
    }
}

#[test]
fn partial_line_needs_more_bytes() {
    let mut d = AtDecoder::new();
    d.push(b"\r\n+CLIP: \"+7913");
    assert_eq!(d.decode(), None);
    assert!(d.pending() > 0);
    d.push(b"1234567\",145,,,,0\r\n");
    assert_eq!(
        d.decode(),
        Some(Frame::Urc(Urc::Clip {
            number: "+79131234567".into()
        }))
    );
    assert_eq!(d.decode(), None);
}

#[test]
fn sms_prompt_only_when_expected() {
    let prompt = Expect {
        prompt: true,
        ..Expect::default()
    };
    assert_eq!(all(prompt.clone(), b"\r\n> "), vec![Frame::Prompt]);
    assert_eq!(all(prompt, b"\r\n>"), vec![Frame::Prompt]);
    // Without a pending CMGS, "> " is just an unterminated line.
    assert_eq!(all(Expect::default(), b"\r\n> "), vec![]);
}

#[test]
fn garbage_is_reported_and_decoding_goes_on() {
    let mut bytes = vec![0xff, 0xfe, 0x01, 0x02, b'\r', b'\n'];
    bytes.extend_from_slice(b"\x1b[31mjunk\r\n^RSSI:5\r\n\r\nOK\r\n");
    let frames = all(Expect::default(), &bytes);
    assert_eq!(frames.len(), 4, "{frames:?}");
    assert!(matches!(frames[0], Frame::Garbage(_)));
    assert!(matches!(frames[1], Frame::Garbage(_)));
    assert_eq!(frames[2], Frame::Urc(Urc::Rssi(5)));
    assert_eq!(frames[3], Frame::Final(FinalResult::Ok));
}

#[test]
fn overlong_runs_are_dropped() {
    let mut d = AtDecoder::new();
    d.push(&vec![b'x'; MAX_LINE + 10]);
    assert!(matches!(d.decode(), Some(Frame::Garbage(_))));
    assert_eq!(d.pending(), 0);
    d.push(b"\r\nOK\r\n");
    assert_eq!(d.decode(), Some(Frame::Final(FinalResult::Ok)));
    assert_eq!(d.stats().garbage, 1);
}

#[test]
fn nul_bytes_are_ignored() {
    assert_eq!(
        all(Expect::default(), b"\0\0\r\nOK\r\n\0"),
        vec![Frame::Final(FinalResult::Ok)]
    );
}

#[test]
fn full_call_urc_sequence() {
    let bytes =
        b"\r\nOK\r\n\r\n^ORIG:1,0\r\n\r\n^CONF:1\r\n\r\n^CONN:1,0\r\n\r\n^CEND:1,12,104,16\r\n";
    let frames = all(Expect::default(), bytes);
    assert_eq!(
        frames,
        vec![
            Frame::Final(FinalResult::Ok),
            Frame::Urc(Urc::Orig {
                idx: 1,
                call_type: 0
            }),
            Frame::Urc(Urc::Conf { idx: 1 }),
            Frame::Urc(Urc::Conn { idx: 1 }),
            Frame::Urc(Urc::Cend(CallEndReport {
                idx: 1,
                duration_s: 12,
                end_status: 104,
                cc_cause: Some(16)
            })),
        ]
    );
    split_invariant(&Expect::default(), bytes);
}

#[test]
fn buffer_is_compacted() {
    let mut d = AtDecoder::new();
    for _ in 0..10_000 {
        d.push(b"\r\n^RSSI:17\r\n");
        while d.decode().is_some() {}
    }
    assert_eq!(d.pending(), 0);
    assert!(d.buf.capacity() < 4096, "capacity {}", d.buf.capacity());
}

#[test]
fn random_streams_never_panic_or_stall() {
    const PIECES: &[&[u8]] = &[
        b"\r\n",
        b"\r",
        b"\n",
        b"OK",
        b"ERROR",
        b"+CME ERROR: ",
        b"^CEND:1,",
        b"^RSSI:",
        b"AT+CSQ",
        b"> ",
        b"\xff\xfe",
        b"\xe2\x82",
        b"\xac",
        b"\0",
        b"+CLCC: 1,0,",
        b"\"",
        b",",
        b"99",
        b"NO CARRIER",
        b"^ORIG:",
        b"x",
    ];
    let mut rng = Lcg(0x5eed);
    for round in 0..2_000 {
        let mut d = AtDecoder::new();
        let e = match round % 4 {
            0 => Expect::default(),
            1 => Command::Imei.expect(),
            2 => Expect {
                prompt: true,
                dialing: true,
                ..Expect::default()
            },
            _ => Command::ListCalls.expect(),
        };
        d.expect(e);
        for _ in 0..40 {
            let piece = PIECES[(rng.next() as usize) % PIECES.len()];
            d.push(piece);
            let mut guard = 0;
            while d.decode().is_some() {
                guard += 1;
                assert!(guard < 10_000, "decoder loops");
            }
        }
        assert!(d.pending() <= MAX_LINE + 64);
    }
}
