use super::*;

/// A DELIVER carrying the user data of a SUBMIT part, to read our own parts back.
fn as_deliver(part: &SubmitPart) -> String {
    let b = unhex(&part.hex).expect("hex");
    // 00 | first | MR | DA len, type, digits | PID | DCS | VP | UDL UD...
    let first = b[1];
    let da_digits = usize::from(b[3]);
    let after_da = 5 + da_digits.div_ceil(2);
    let dcs = b[after_da + 1];
    let ud = &b[after_da + 3..];
    let mut d = vec![0x00, (first & 0x40) | 0x04, 0x04, 0x91, 0x55, 0x11];
    d.extend_from_slice(&[0x00, dcs]);
    d.extend_from_slice(&[0x62, 0x21, 0x30, 0x21, 0x43, 0x65, 0x00]);
    d.extend_from_slice(ud);
    hex(&d)
}

fn read(hex: &str) -> Deliver {
    match parse(hex) {
        Ok(Received::Deliver(d)) => d,
        other => panic!("{other:?}"),
    }
}

#[test]
fn submit_matches_the_known_pdu() {
    // The classic example: "hellohello" to +46708251358, relative validity 0xAA.
    let parts = submit(&Submit {
        to: "+46708251358",
        text: "hellohello",
        status_report: false,
        validity: 0xAA,
        reference: 0,
    })
    .expect("encodes");
    assert_eq!(
        parts,
        vec![SubmitPart {
            hex: "0011000B916407281553F80000AA0AE8329BFD4697D9EC37".into(),
            tpdu_len: 23,
        }]
    );
    // A national number, a status report asked, UCS-2 text.
    let p = &submit(&Submit {
        to: "11987654321",
        text: "Olá",
        status_report: true,
        validity: 169,
        reference: 0,
    })
    .expect("encodes")[0];
    assert_eq!(p.hex, "0031000B811189674523F10008A906004F006C00E1");
    assert_eq!(p.tpdu_len, p.hex.len() / 2 - 1);
}

#[test]
fn deliver_matches_the_known_pdu() {
    let d = read("07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37");
    assert_eq!(d.from, "27838890001");
    assert_eq!(d.timestamp, "99-03-29 15:16:59+08");
    assert_eq!(d.text, "hellohello");
    assert_eq!(d.concat, None);
}

#[test]
fn status_report_matches_the_known_pdu() {
    let r = parse("0006D60B911326880736F4111011719551401110117195714000").expect("reads");
    assert_eq!(
        r,
        Received::Status(StatusReport {
            reference: 0xD6,
            to: "+31628870634".into(),
            status: 0,
        })
    );
    if let Received::Status(s) = r {
        assert!(s.delivered() && !s.failed());
    }
}

#[test]
fn long_texts_split_and_read_back() {
    // 200 GSM 7-bit characters with a € (two septets) where a naive split would cut it.
    let mut text = "x".repeat(152);
    text.push('€');
    text.push_str(&"y".repeat(47));
    let parts = submit(&Submit {
        to: "+5511987650000",
        text: &text,
        status_report: false,
        validity: 169,
        reference: 7,
    })
    .expect("encodes");
    assert_eq!(parts.len(), 2);
    let a = read(&as_deliver(&parts[0]));
    let b = read(&as_deliver(&parts[1]));
    assert_eq!(
        a.concat,
        Some(Concat {
            reference: 7,
            total: 2,
            seq: 1
        })
    );
    assert_eq!(
        b.concat,
        Some(Concat {
            reference: 7,
            total: 2,
            seq: 2
        })
    );
    assert_eq!(
        a.text,
        "x".repeat(152),
        "the escape went whole to the next part"
    );
    assert_eq!(format!("{}{}", a.text, b.text), text);

    // UCS-2: 150 characters, one outside the BMP, in 67-unit parts.
    let mut text: String = "ação ".repeat(30);
    text.insert(66, '😀');
    let parts = submit(&Submit {
        to: "+5511987650000",
        text: &text,
        status_report: false,
        validity: 169,
        reference: 9,
    })
    .expect("encodes");
    assert_eq!(parts.len(), 3);
    let back: String = parts.iter().map(|p| read(&as_deliver(p)).text).collect();
    assert_eq!(back, text, "no surrogate pair split");
    assert!(parts.iter().all(|p| p.tpdu_len <= 140 + 16));
}

#[test]
fn alphanumeric_senders_and_bad_input() {
    // From "Vivo" (alphanumeric, TON 101), DCS 0, text "Oi".
    let name = gsm7::pack(&gsm7::encode("Vivo").expect("gsm"), 0);
    let mut b = vec![0x00, 0x04, (name.len() * 2) as u8, 0xD0];
    b.extend_from_slice(&name);
    b.extend_from_slice(&[0x00, 0x00, 0x62, 0x21, 0x30, 0x21, 0x43, 0x65, 0x00, 0x02]);
    b.extend_from_slice(&gsm7::pack(&gsm7::encode("Oi").expect("gsm"), 0));
    let d = read(&hex(&b));
    assert_eq!((d.from.as_str(), d.text.as_str()), ("Vivo", "Oi"));
    for bad in [
        "",
        "0",
        "ZZ",
        "00",
        "0004",
        "07917283010010F5040BC8723888",
        "000100",
    ] {
        assert!(parse(bad).is_err(), "{bad:?}");
    }
    let s = |to: &'static str, text: &'static str| Submit {
        to,
        text,
        status_report: false,
        validity: 169,
        reference: 0,
    };
    assert_eq!(
        submit(&s("12a", "x")),
        Err(PduError::BadNumber("12a".into()))
    );
    assert_eq!(submit(&s("+", "x")), Err(PduError::BadNumber("+".into())));
    assert_eq!(submit(&s("123", "")), Err(PduError::Empty));
}

#[test]
fn data_coding_schemes() {
    for (dcs, want) in [
        (0x00, 0),
        (0x08, 2),
        (0x04, 1),
        (0x18, 2),
        (0xF0, 0),
        (0xF4, 1),
        (0xE0, 2),
        (0xC0, 0),
    ] {
        assert_eq!(alphabet(dcs), want, "{dcs:#x}");
    }
}

#[test]
fn garbage_never_panics() {
    // Every prefix of real PDUs, and pseudo-random bytes after a DELIVER's first octets.
    let real = [
        "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37",
        "0006D60B911326880736F4111011719551401110117195714000",
    ];
    for r in real {
        for n in (0..r.len()).step_by(2) {
            let _ = parse(&r[..n]);
        }
    }
    let mut x: u32 = 0x1234_5678;
    for _ in 0..5_000 {
        let mut b = vec![0x00, 0x44];
        for _ in 0..(x % 60) {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            b.push((x >> 24) as u8);
        }
        let _ = parse(&hex(&b));
        b[1] = 0x02;
        let _ = parse(&hex(&b));
    }
}
