//! Media end to end: RTP from the caller reaches the modem's audio port as PCM, the
//! modem's audio comes back as RTP, RFC 4733 DTMF becomes AT^DTMF, and hold/unhold by
//! re-INVITE keeps the call.

// RTP is paced against the real clock: the gateway is another process.
#![allow(clippy::disallowed_methods)]

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::gw::{header, in_dialog, invite, sdp_port, Gateway, Options, RawSip};
use e173gw_core::media::dtmf::digit_packets;
use e173gw_core::media::g711::Law;
use e173gw_core::media::rtp::{RtpPacket, RtpSender};
use e173gw_core::media::samples_from_le;
use e173gw_core::media::tone::{dominant_hz, ToneGenerator};

/// Sends `frames` of a tone as PCMU RTP to `to` while collecting what arrives on `rtp`.
fn exchange(
    rtp: &UdpSocket,
    to: SocketAddr,
    sender: &mut RtpSender,
    tone: &mut ToneGenerator,
    frames: usize,
) -> Vec<i16> {
    let mut received = Vec::new();
    let mut out = Vec::new();
    let mut buf = [0u8; 2048];
    let start = Instant::now();
    for n in 0..frames {
        let payload = Law::Ulaw.encode_le(&tone.next_frame_le());
        sender.audio(&payload, &mut out);
        rtp.send_to(&out, to).expect("rtp send");
        while let Ok((len, _)) = rtp.recv_from(&mut buf) {
            if let Ok(p) = RtpPacket::parse(&buf[..len]) {
                if p.header.payload_type == 0 {
                    received.extend(samples_from_le(&Law::Ulaw.decode_le(p.payload)));
                }
            }
        }
        let next = start + Duration::from_millis(20 * (n as u64 + 1));
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    received
}

#[test]
fn audio_both_ways_dtmf_and_hold() {
    let gw = Gateway::start(Options {
        modems: 1,
        ..Options::default()
    });
    let modem_tone = gw.sim("status")["modems"][0]["tone_hz"]
        .as_u64()
        .expect("tone") as u32;
    let c = RawSip::new("127.0.0.1", gw.udp);
    let rtp = UdpSocket::bind("127.0.0.1:0").expect("rtp");
    rtp.set_nonblocking(true).expect("nonblocking");
    let rtp_port = rtp.local_addr().expect("addr").port();
    c.send(&invite(
        c.local(),
        gw.udp,
        "5511912345678",
        "media-1@test",
        "z9hG4bK-m1",
        rtp_port,
    ));
    let (ok, early) = c.recv_until("SIP/2.0 200", Duration::from_secs(10));
    assert!(
        early
            .iter()
            .any(|m| m.starts_with("SIP/2.0 183") && m.contains("m=audio")),
        "early media offered: {early:#?}"
    );
    let gw_rtp = SocketAddr::from(([127, 0, 0, 1], sdp_port(&ok)));
    c.send(&in_dialog("ACK", 1, c.local(), &ok, "z9hG4bK-m1a"));

    let mut sender = RtpSender::new(0x1234_5678, 0, 100, 1000).expect("sender");
    let mut tone = ToneGenerator::new(1000.0, 8000);
    let heard = exchange(&rtp, gw_rtp, &mut sender, &mut tone, 75);
    assert!(
        heard.len() >= 160 * 40,
        "RTP from the modem: {} samples",
        heard.len()
    );
    let hz = dominant_hz(&heard[heard.len() - 160 * 25..], 100, 3500, 10).expect("a tone");
    assert!(
        hz.abs_diff(modem_tone) <= 20,
        "the modem's {modem_tone} Hz came back as {hz} Hz"
    );

    // DTMF '5' as RFC 4733 events (payload type 101), one packet per 20 ms tick.
    let mut out = Vec::new();
    let ts = sender.timestamp();
    for p in digit_packets('5', 800, 10).expect("digit") {
        sender
            .event(101, p.marker, ts, &p.payload(), &mut out)
            .expect("event");
        rtp.send_to(&out, gw_rtp).expect("send");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let call = &gw.sim("status")["modems"][0]["call"];
    assert_eq!(
        call["dtmf"].as_str(),
        Some("5"),
        "the modem got AT^DTMF=1,5: {call}"
    );

    // Hold: sendonly from the caller; the answer says recvonly and the call goes on.
    let hold_sdp = "v=0\r\no=test 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio PORT RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n"
        .replace("PORT", &rtp_port.to_string());
    let reinvite = in_dialog("INVITE", 2, c.local(), &ok, "z9hG4bK-m1h")
        .replace("Content-Length: 0\r\n\r\n", &format!("Contact: <sip:raw@{}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{hold_sdp}", c.local(), hold_sdp.len()));
    c.send(&reinvite);
    let (held, _) = c.recv_until("SIP/2.0 200", Duration::from_secs(5));
    assert!(held.contains("a=recvonly"), "{held}");
    assert_eq!(header(&held, "CSeq"), Some("2 INVITE"));
    c.send(&in_dialog("ACK", 2, c.local(), &ok, "z9hG4bK-m1ha"));
    let unhold_sdp = hold_sdp
        .replace("a=sendonly", "a=sendrecv")
        .replace(" 1 2 IN", " 1 3 IN");
    let reinvite = in_dialog("INVITE", 3, c.local(), &ok, "z9hG4bK-m1u")
        .replace("Content-Length: 0\r\n\r\n", &format!("Contact: <sip:raw@{}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{unhold_sdp}", c.local(), unhold_sdp.len()));
    c.send(&reinvite);
    let (resumed, _) = c.recv_until("SIP/2.0 200", Duration::from_secs(5));
    assert!(resumed.contains("a=sendrecv"), "{resumed}");
    c.send(&in_dialog("ACK", 3, c.local(), &ok, "z9hG4bK-m1ua"));
    let heard = exchange(&rtp, gw_rtp, &mut sender, &mut tone, 25);
    assert!(
        heard.len() >= 160 * 10,
        "audio flows again after unhold: {}",
        heard.len()
    );

    c.send(&in_dialog("BYE", 4, c.local(), &ok, "z9hG4bK-m1b"));
    c.recv_until("SIP/2.0 200", Duration::from_secs(5));
    let r = &gw.wait_records(1, Duration::from_secs(10))[0];
    assert_eq!(r["sip_status"], 200);
    assert_eq!(r["end_reason"], "caller_hangup");
    let last = &gw.wait_modems_idle(Duration::from_secs(5))["modems"][0]["last_call"];
    let rx_hz = last["rx_tone_hz"].as_u64().unwrap_or(0);
    assert!(
        rx_hz.abs_diff(1000) <= 50,
        "the modem heard the caller's 1 kHz: {last}"
    );
    assert!(last["rx_frames"].as_u64().unwrap_or(0) >= 50, "{last}");
}

#[test]
fn maximum_call_duration_ends_both_legs() {
    let gw = Gateway::start(Options {
        modems: 1,
        env: vec![("E173GW_SIP__MAX_CALL_DURATION_S".into(), "1".into())],
        ..Options::default()
    });
    let c = RawSip::new("127.0.0.1", gw.udp);
    c.send(&invite(
        c.local(),
        gw.udp,
        "5511912345678",
        "max-1@test",
        "z9hG4bK-x1",
        40_100,
    ));
    let (ok, _) = c.recv_until("SIP/2.0 200", Duration::from_secs(10));
    c.send(&in_dialog("ACK", 1, c.local(), &ok, "z9hG4bK-x1a"));
    let (bye, _) = c.recv_until("BYE ", Duration::from_secs(5));
    let resp = format!(
        "SIP/2.0 200 OK\r\nVia: {}\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {}\r\nContent-Length: 0\r\n\r\n",
        header(&bye, "Via").unwrap_or_default(),
        header(&bye, "From").unwrap_or_default(),
        header(&bye, "To").unwrap_or_default(),
        header(&bye, "Call-ID").unwrap_or_default(),
        header(&bye, "CSeq").unwrap_or_default()
    );
    c.send(&resp);
    let r = &gw.wait_records(1, Duration::from_secs(10))[0];
    assert_eq!(r["end_reason"], "max_duration");
    gw.wait_modems_idle(Duration::from_secs(5));
}

#[test]
fn caller_that_never_acks_is_hung_up() {
    // T1 of 50 ms: the 200 is retransmitted and, after 64*T1 without ACK, both legs end.
    let gw = Gateway::start(Options {
        modems: 1,
        env: vec![("E173GW_SIP__T1_MS".into(), "50".into())],
        ..Options::default()
    });
    let c = RawSip::new("127.0.0.1", gw.udp);
    c.send(&invite(
        c.local(),
        gw.udp,
        "5511912345678",
        "noack-1@test",
        "z9hG4bK-n1",
        40_300,
    ));
    let (ok, _) = c.recv_until("SIP/2.0 200", Duration::from_secs(10));
    let (bye, seen) = c.recv_until("BYE ", Duration::from_secs(10));
    let retransmitted = seen.iter().filter(|m| m.starts_with("SIP/2.0 200")).count();
    assert!(
        retransmitted >= 3,
        "the 200 was retransmitted while waiting for the ACK: {retransmitted}"
    );
    assert_eq!(header(&bye, "Call-ID"), header(&ok, "Call-ID"));
    let r = &gw.wait_records(1, Duration::from_secs(10))[0];
    assert_eq!(r["end_reason"], "caller_lost");
    gw.wait_modems_idle(Duration::from_secs(5));
}
