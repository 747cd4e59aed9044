use super::*;
use crate::ports::days_from_civil;
use crate::sms::pdu::{parse, Concat, Deliver, Received, StatusReport};

fn at(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8, tz: i8) -> SmscTime {
    SmscTime {
        year: y,
        month: mo,
        day: d,
        hour: h,
        minute: mi,
        second: s,
        tz_quarters: tz,
    }
}

fn read(hex: &str) -> Deliver {
    match parse(hex) {
        Ok(Received::Deliver(d)) => d,
        other => panic!("{hex}: {other:?}"),
    }
}

/// The TP-DCS of a DELIVER in hex: after the SMSC, the first octet, the sender and the PID.
fn dcs_of(hex: &str) -> u8 {
    let b: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    let oa = 1 + usize::from(b[0]) + 1;
    b[oa + 2 + usize::from(b[oa]).div_ceil(2) + 1]
}

fn new<'a>(from: &'a str, text: &'a str, ucs2: bool) -> NewDeliver<'a> {
    NewDeliver {
        smsc: "+551181119000",
        from,
        text,
        timestamp: at(2026, 3, 1, 9, 34, 56, -12),
        reference: 77,
        ucs2,
    }
}

#[test]
fn builds_the_known_pdus() {
    // The classic "hellohello" DELIVER, with an international sender type.
    let parts = deliver(&NewDeliver {
        smsc: "+27381000015",
        from: "+27838890001",
        text: "hellohello",
        timestamp: at(1999, 3, 29, 15, 16, 59, 8),
        reference: 0,
        ucs2: false,
    })
    .expect("builds");
    assert_eq!(
        parts,
        vec![WrittenPdu {
            hex: "07917283010010F5040B917238880900F10000993092516195800AE8329BFD4697D9EC37".into(),
            tpdu_len: 28,
        }]
    );
    let r = status_report(&NewStatusReport {
        smsc: "",
        reference: 0xD6,
        to: "+31628870634",
        submitted: at(2011, 1, 11, 17, 59, 15, 4),
        discharged: at(2011, 1, 11, 17, 59, 17, 4),
        status: 0,
    })
    .expect("builds");
    assert_eq!(
        r.hex,
        "0006D60B911326880736F4111011719551401110117195714000"
    );
    assert_eq!(r.tpdu_len, r.hex.len() / 2 - 1);
    assert_eq!(
        parse(&r.hex),
        Ok(Received::Status(StatusReport {
            reference: 0xD6,
            to: "+31628870634".into(),
            status: 0
        }))
    );
}

#[test]
fn parts_read_back_with_the_existing_parser() {
    let long_gsm = "x".repeat(152) + "€" + &"y".repeat(47);
    let mut long_ucs = "ação ".repeat(30);
    long_ucs.insert(66, '😀');
    let cases: Vec<(&str, String, bool, usize, bool)> = vec![
        (
            "+5511912345678",
            "Saldo R$ 3,50 {ok}".into(),
            false,
            1,
            false,
        ),
        ("11912345678", "Olá, tudo bem?".into(), false, 1, true),
        ("Vivo", "Seu saldo e R$ 0,50".into(), false, 1, false),
        ("TIMBRASIL01", "hi".into(), true, 1, true),
        ("+5511912345678", long_gsm, false, 2, false),
        ("+5511912345678", long_ucs, false, 3, true),
        ("+5511912345678", "z".repeat(160), false, 1, false),
        ("+5511912345678", "z".repeat(161), false, 2, false),
        ("+5511912345678", "z".repeat(70), true, 1, true),
        ("+5511912345678", "z".repeat(71), true, 2, true),
    ];
    for (from, text, force, n, ucs2) in cases {
        let parts = deliver(&new(from, &text, force)).expect("builds");
        assert_eq!(parts.len(), n, "{text}");
        let mut back = String::new();
        for (i, p) in parts.iter().enumerate() {
            assert!(p.hex.starts_with("0791551118110900"), "{}", p.hex);
            assert_eq!(p.tpdu_len, p.hex.len() / 2 - 8);
            let d = read(&p.hex);
            assert_eq!(d.from, from);
            assert_eq!(d.timestamp, "26-03-01 09:34:56-12");
            let want = (n > 1).then_some(Concat {
                reference: 77,
                total: n as u8,
                seq: i as u8 + 1,
            });
            assert_eq!(d.concat, want);
            assert_eq!(dcs_of(&p.hex) == 0x08, ucs2, "{text}");
            back.push_str(&d.text);
        }
        assert_eq!(back, text);
    }
}

#[test]
fn time_stamps_from_the_clock() {
    let ms = |y, mo, d, h: u64, mi: u64, s: u64| {
        (days_from_civil(y, mo, d) as u64 * 86_400 + h * 3600 + mi * 60 + s) * 1000
    };
    assert_eq!(SmscTime::from_unix_ms(0, 0), at(1970, 1, 1, 0, 0, 0, 0));
    assert_eq!(
        SmscTime::from_unix_ms(ms(2026, 3, 1, 1, 2, 3) + 999, -12),
        at(2026, 2, 28, 22, 2, 3, -12)
    );
    assert_eq!(
        SmscTime::from_unix_ms(ms(2024, 2, 29, 23, 59, 59), 4),
        at(2024, 3, 1, 0, 59, 59, 4)
    );
    let d = read(
        &deliver(&NewDeliver {
            timestamp: SmscTime::from_unix_ms(ms(2026, 12, 31, 23, 0, 0), 22),
            ..new("123", "x", false)
        })
        .expect("builds")[0]
            .hex,
    );
    assert_eq!(d.timestamp, "27-01-01 04:30:00+22");
}

#[test]
fn refuses_what_cannot_travel() {
    for (from, text, smsc) in [
        ("+", "x", ""),
        ("+12a3", "x", ""),
        ("ABCDEFGHIJKL", "x", ""),
        ("日本", "x", ""),
        ("123", "", ""),
        ("123", "x", "+55x"),
    ] {
        let d = NewDeliver {
            smsc,
            ..new(from, text, false)
        };
        assert!(deliver(&d).is_err(), "{from:?} {text:?} {smsc:?}");
    }
    assert_eq!(
        deliver(&new("1", &"日".repeat(67 * 256), false)),
        Err(PduError::TooLong(256))
    );
    let r = NewStatusReport {
        smsc: "",
        reference: 1,
        to: "Vivo",
        submitted: at(2026, 1, 1, 0, 0, 0, 0),
        discharged: at(2026, 1, 1, 0, 0, 0, 0),
        status: 0,
    };
    assert!(status_report(&r).is_err(), "a report goes to a number");
    let d = NewDeliver {
        smsc: "",
        ..new("123", "x", false)
    };
    assert!(deliver(&d).expect("builds")[0].hex.starts_with("0004"));
}
