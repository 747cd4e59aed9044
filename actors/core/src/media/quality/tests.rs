use super::*;

/// Feeds `n` packets 20 ms apart (160 clock units), leaving out those `drop` says, with
/// each arrival shifted by `late_us(i)`.
fn stream(n: u16, drop: impl Fn(u16) -> bool, late_us: impl Fn(u16) -> u64) -> Reception {
    let mut r = Reception::default();
    for i in 0..n {
        if drop(i) {
            continue;
        }
        let seq = 65_000u16.wrapping_add(i);
        r.on_packet(
            7,
            seq,
            Some(u32::from(i) * 160),
            u64::from(i) * 20_000 + late_us(i),
        );
    }
    r
}

#[test]
fn loss_counts_across_a_sequence_wrap() {
    let r = stream(1000, |i| i % 10 == 3, |_| 0);
    assert_eq!(r.expected(), 1000);
    assert_eq!(r.received(), 900);
    assert_eq!(r.lost(), 100);
    assert_eq!(r.jitter_us(), 0, "a steady stream has no jitter");
}

#[test]
fn jitter_follows_rfc3550() {
    // Every other packet 10 ms late: |D| is 10 ms at each step; J converges to 10 ms.
    let r = stream(2000, |_| false, |i| if i % 2 == 1 { 10_000 } else { 0 });
    let j = r.jitter_us();
    assert!((9_000..=10_000).contains(&j), "{j} µs");
    assert_eq!(r.lost(), 0);
}

#[test]
fn reordering_duplicates_and_new_streams() {
    let mut r = Reception::default();
    for seq in [10u16, 12, 11, 11, 13] {
        r.on_packet(1, seq, None, 0);
    }
    assert_eq!(
        (r.expected(), r.received(), r.lost()),
        (4, 5, 0),
        "a duplicate does not make a loss negative"
    );
    // A big jump once is ignored (a stray); twice in a row is a restarted sender.
    r.on_packet(1, 40_000, None, 0);
    assert_eq!(r.received(), 5);
    r.on_packet(1, 40_001, None, 0);
    assert_eq!(r.received(), 6);
    // A new SSRC starts a new stream; the old one's figures are kept.
    r.on_packet(2, 500, None, 0);
    r.on_packet(2, 502, None, 0);
    assert_eq!(r.expected(), 4 + 1 + 3);
    assert_eq!(
        r.lost(),
        1,
        "the new stream's loss, not hidden by the old one's duplicate"
    );
}

#[test]
fn report_blocks_give_the_fraction_lost_per_interval() {
    let mut r = stream(100, |i| i >= 50 && i % 4 == 0, |_| 0);
    let b = r.report_block(0).expect("a block");
    assert_eq!(b.ssrc, 7);
    assert_eq!(b.cumulative_lost, 12, "52, 56, ... 96");
    assert_eq!(b.fraction_lost, (12 * 256 / 100) as u8);
    assert_eq!(b.highest_seq, 65_000 + 99);
    assert_eq!((b.lsr, b.dlsr), (0, 0));
    // Nothing new since: nothing lost in this interval.
    r.on_sender_report(0x0001_2345_6789_0000, 1_000_000);
    let b = r.report_block(1_500_000).expect("a block");
    assert_eq!(b.fraction_lost, 0);
    assert_eq!(b.lsr, 0x2345_6789);
    assert_eq!(b.dlsr, 32_768, "half a second in 1/65536 s");
    assert!(Reception::default().report_block(0).is_none());
}

#[test]
fn mos_falls_with_loss_and_delay() {
    let clean = mos(r_factor(0.0, delay_ms(60.0, 0.0)));
    assert!((4.3..=4.45).contains(&clean), "{clean}");
    let mut last = clean;
    for loss in [0.5, 1.0, 2.0, 5.0, 10.0, 20.0] {
        let m = mos(r_factor(loss, delay_ms(60.0, 0.0)));
        assert!(m < last, "{loss}% gives {m}, not below {last}");
        last = m;
    }
    assert!(last < 1.5, "20% loss is unusable: {last}");
    assert!(mos(r_factor(0.0, 400.0)) < clean - 0.3, "long delay hurts");
    assert_eq!(mos(-5.0), 1.0);
    assert_eq!(mos(120.0), 4.5);
}

fn tone(amplitude: i16) -> Vec<u8> {
    (0..160)
        .flat_map(|i| (if i % 2 == 0 { amplitude } else { -amplitude }).to_le_bytes())
        .collect()
}

#[test]
fn levels() {
    assert_eq!(level(&tone(1000)), 1000);
    assert_eq!(level(&[]), 0);
    assert_eq!(level(&[1]), 0);
    assert!(level(&tone(100)) < VOICE_LEVEL);
}

#[test]
fn one_way_audio_is_found_after_answer_only() {
    let talk = tone(3000);
    let quiet = tone(10);
    let mut w = OneWay::new(5_000);
    // Before answer the caller's silence does not count (ringback).
    for t in (0..8_000).step_by(20) {
        w.frame(Side::Callee, &talk, t);
        assert_eq!(w.check(t), None);
    }
    w.answered(8_000);
    let mut found = None;
    for t in (8_000..20_000).step_by(20) {
        w.frame(Side::Callee, &talk, t);
        w.frame(Side::Caller, &quiet, t);
        if let Some(s) = w.check(t) {
            found = Some((s, t));
            break;
        }
    }
    assert_eq!(
        found,
        Some((Side::Caller, 13_000)),
        "found when the window is over"
    );
    assert_eq!(w.check(25_000), None, "said once");
    assert_eq!(w.found(), Some(Side::Caller));
}

#[test]
fn a_call_on_hold_is_not_one_way() {
    let talk = tone(3000);
    let mut w = OneWay::new(2_000);
    w.answered(0);
    let mut found = None;
    for t in (0..12_000).step_by(20) {
        w.frame(Side::Callee, &talk, t);
        // The caller talks for a second, then holds the call until 8 s (no RTP from it,
        // as agreed), then stays silent.
        if t < 1_000 {
            w.frame(Side::Caller, &talk, t);
        } else if t < 8_000 {
            w.hold(t);
        }
        if let Some(s) = w.check(t) {
            found.get_or_insert((s, t));
        }
    }
    // Not during the hold: two seconds after it ended.
    assert_eq!(found, Some((Side::Caller, 9_980)));
}

#[test]
fn both_sides_talking_or_both_silent_is_not_one_way() {
    let talk = tone(3000);
    let mut both = OneWay::new(2_000);
    both.answered(0);
    let mut silent = OneWay::new(2_000);
    silent.answered(0);
    for t in (0..10_000).step_by(20) {
        // Each side speaks every other second, as in a conversation.
        let side = if (t / 1000) % 2 == 0 {
            Side::Caller
        } else {
            Side::Callee
        };
        both.frame(side, &talk, t);
        assert_eq!(both.check(t), None, "{t}");
        assert_eq!(
            silent.check(t),
            None,
            "silence both ways is not one-way audio"
        );
    }
    let mut off = OneWay::new(0);
    off.answered(0);
    off.frame(Side::Callee, &talk, 9_990);
    assert_eq!(off.check(10_000), None);
}
