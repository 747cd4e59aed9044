//! Call quality end to end: the caller's RTP reaches the gateway clean, with loss and
//! jitter injected, or not at all; the call record's quality (loss, jitter, MOS, one-way
//! audio) and the metrics follow, and the gateway sends RTCP reports on the trunk leg.

// RTP is paced against the real clock: the gateway is another process.
#![allow(clippy::disallowed_methods)]

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::gw::{in_dialog, invite, sdp_port, Gateway, Options, RawSip};
use e173gw_core::media::g711::Law;
use e173gw_core::media::rtcp;
use e173gw_core::media::rtp::RtpSender;
use e173gw_core::media::tone::ToneGenerator;
use serde_json::Value;

/// An RTP socket on an even port with its RTCP socket on the next one.
fn rtp_pair() -> (UdpSocket, UdpSocket) {
    for _ in 0..50 {
        let rtp = UdpSocket::bind("127.0.0.1:0").expect("rtp");
        let port = rtp.local_addr().expect("addr").port();
        if port % 2 != 0 || port == u16::MAX {
            continue;
        }
        if let Ok(rtcp) = UdpSocket::bind(("127.0.0.1", port + 1)) {
            rtp.set_nonblocking(true).expect("nonblocking");
            rtcp.set_nonblocking(true).expect("nonblocking");
            return (rtp, rtcp);
        }
    }
    panic!("no free RTP/RTCP port pair");
}

/// How the caller's stream is spoiled.
struct Spoil {
    /// Packets not sent.
    drop: fn(usize) -> bool,
    /// Extra delay of each packet, ms.
    late_ms: fn(usize) -> u64,
    /// After this many packets, nothing more is sent.
    stop_after: usize,
}

const CLEAN: Spoil = Spoil {
    drop: |_| false,
    late_ms: |_| 0,
    stop_after: usize::MAX,
};

/// One answered call: `frames` ticks of 20 ms, the caller's tone spoiled as said; then
/// BYE. Returns the record and the RTCP packets the gateway sent.
fn call(gw: &Gateway, id: &str, frames: usize, spoil: &Spoil) -> (Value, Vec<rtcp::Received>) {
    let c = RawSip::new("127.0.0.1", gw.udp);
    let (rtp, rtcp_sock) = rtp_pair();
    let rtp_port = rtp.local_addr().expect("addr").port();
    c.send(&invite(
        c.local(),
        gw.udp,
        "5511912345678",
        id,
        "z9hG4bK-q1",
        rtp_port,
    ));
    let (ok, _) = c.recv_until("SIP/2.0 200", Duration::from_secs(10));
    let to = SocketAddr::from(([127, 0, 0, 1], sdp_port(&ok)));
    c.send(&in_dialog("ACK", 1, c.local(), &ok, "z9hG4bK-q1a"));
    let mut sender = RtpSender::new(0x0bad_cafe, 0, 7, 160).expect("sender");
    let mut tone = ToneGenerator::new(1000.0, 8000);
    let mut out = Vec::new();
    let mut buf = [0u8; 2048];
    let mut reports = Vec::new();
    let mut last_sr: Option<((u32, u64), Instant)> = None;
    let start = Instant::now();
    for n in 0..frames {
        let payload = Law::Ulaw.encode_le(&tone.next_frame_le());
        sender.audio(&payload, &mut out);
        let due = start + Duration::from_millis(20 * n as u64 + (spoil.late_ms)(n));
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        if n < spoil.stop_after && !(spoil.drop)(n) {
            rtp.send_to(&out, to).expect("rtp send");
        }
        if n == 120 {
            // A receiver report on the gateway's stream, referring to its last SR: the
            // far end saw a quarter of it lost.
            if let Some(((ssrc, ntp), at)) = last_sr {
                let held = at.elapsed().as_micros() as u64 * 65_536 / 1_000_000;
                let me = rtcp::SenderInfo {
                    ssrc: 0x0bad_cafe,
                    ..rtcp::SenderInfo::default()
                };
                let block = rtcp::ReportBlock {
                    ssrc,
                    fraction_lost: 64,
                    jitter: 40,
                    lsr: (ntp >> 16) as u32,
                    dlsr: held as u32,
                    ..rtcp::ReportBlock::default()
                };
                let rr = rtcp::compound(&me, false, Some(&block), "caller@test");
                rtcp_sock
                    .send_to(&rr, SocketAddr::new(to.ip(), to.port() + 1))
                    .expect("rtcp send");
            }
        }
        if n == 50 {
            // The caller's own sender report, to the gateway's RTCP port.
            let me = rtcp::SenderInfo {
                ssrc: 0x0bad_cafe,
                ntp: rtcp::ntp_of_unix_us(1_800_000_000_000_000),
                rtp_ts: 160 * 50,
                packets: 50,
                octets: 8000,
            };
            let sr = rtcp::compound(&me, true, None, "caller@test");
            rtcp_sock
                .send_to(&sr, SocketAddr::new(to.ip(), to.port() + 1))
                .expect("rtcp send");
        }
        while rtp.recv_from(&mut buf).is_ok() {}
        while let Ok((len, _)) = rtcp_sock.recv_from(&mut buf) {
            if let Some(r) = rtcp::parse(&buf[..len]) {
                if let Some(sr) = r.sender {
                    last_sr = Some((sr, Instant::now()));
                }
                reports.push(r);
            }
        }
    }
    c.send(&in_dialog("BYE", 2, c.local(), &ok, "z9hG4bK-q1b"));
    c.recv_until("SIP/2.0 200", Duration::from_secs(5));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(r) = gw.records().into_iter().find(|r| r["call_id"] == id) {
            return (r, reports);
        }
        assert!(Instant::now() < deadline, "no record of {id}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn q(r: &Value, k: &str) -> u64 {
    r["quality"][k]
        .as_u64()
        .unwrap_or_else(|| panic!("quality.{k} in {}", r["quality"]))
}

#[test]
fn loss_jitter_and_one_way_audio_show_in_the_record_and_metrics() {
    let gw = Gateway::start(Options {
        modems: 1,
        env: vec![
            ("E173GW_MEDIA__ONE_WAY_AUDIO_S".into(), "2".into()),
            ("E173GW_MEDIA__RTCP_INTERVAL_S".into(), "1".into()),
        ],
        ..Options::default()
    });

    // A clean stream: nothing lost, no jitter, a good score, and RTCP from the gateway
    // that reports on the caller's stream.
    let (clean, reports) = call(&gw, "q-clean@test", 150, &CLEAN);
    assert_eq!(clean["sip_status"], 200, "{clean}");
    assert!(q(&clean, "rtp_received") >= 140, "{}", clean["quality"]);
    assert_eq!(q(&clean, "rtp_lost"), 0, "{}", clean["quality"]);
    assert!(q(&clean, "jitter_us") < 5_000, "{}", clean["quality"]);
    let clean_mos = q(&clean, "mos_x100");
    assert!(clean_mos >= 400, "clean MOS {clean_mos}");
    assert!(
        clean["quality"]["one_way"].is_null(),
        "{}",
        clean["quality"]
    );
    assert!(q(&clean, "rtcp_sent") >= 2, "{}", clean["quality"]);
    assert_eq!(q(&clean, "rtcp_received"), 2, "{}", clean["quality"]);
    // The caller's receiver report on the gateway's stream is kept: its loss (64/256),
    // its jitter (40 units of 125 µs), and a round trip from the gateway's SR.
    assert_eq!(
        q(&clean, "remote_loss_permille"),
        250,
        "{}",
        clean["quality"]
    );
    assert_eq!(q(&clean, "remote_jitter_us"), 5_000, "{}", clean["quality"]);
    assert!(q(&clean, "rtt_ms") < 1_000, "{}", clean["quality"]);
    let ours: Vec<&rtcp::ReportBlock> = reports
        .iter()
        .flat_map(|r| &r.blocks)
        .filter(|b| b.ssrc == 0x0bad_cafe)
        .collect();
    assert!(
        !ours.is_empty(),
        "an RTCP report on the caller's stream: {reports:?}"
    );
    assert!(
        reports.iter().any(|r| r.sender.is_some()),
        "a sender report (the gateway sends the modem's audio): {reports:?}"
    );

    // One packet in ten lost and every other one 15 ms late: the record counts the loss,
    // the jitter shows, and the MOS falls.
    let spoilt = Spoil {
        drop: |n| n % 10 == 5,
        late_ms: |n| if n % 2 == 1 { 15 } else { 0 },
        stop_after: usize::MAX,
    };
    let (bad, _) = call(&gw, "q-lossy@test", 150, &spoilt);
    let loss = q(&bad, "loss_permille");
    assert!(
        (90..=200).contains(&loss),
        "about 10% lost: {}",
        bad["quality"]
    );
    assert!(q(&bad, "rtp_lost") >= 13, "{}", bad["quality"]);
    assert!(q(&bad, "jitter_us") >= 4_000, "{}", bad["quality"]);
    let bad_mos = q(&bad, "mos_x100");
    assert!(
        bad_mos + 100 <= clean_mos && bad_mos < 300,
        "MOS with loss {bad_mos}, clean {clean_mos}"
    );

    // The caller stops sending after half a second while the modem goes on talking:
    // one-way audio, the caller's side silent.
    let mute = Spoil {
        drop: |_| false,
        late_ms: |_| 0,
        stop_after: 25,
    };
    let (one_way, _) = call(&gw, "q-oneway@test", 200, &mute);
    assert_eq!(
        one_way["quality"]["one_way"], "caller",
        "{}",
        one_way["quality"]
    );
    assert!(clean["quality"]["one_way"].is_null());

    eprintln!(
        "quality: clean {}\nquality: 10% loss, 15 ms jitter {}\nquality: caller mute {}",
        clean["quality"], bad["quality"], one_way["quality"]
    );
    assert_eq!(
        gw.metric("e173gw_call_one_way_audio_total{silent=\"caller\"}"),
        Some(1.0)
    );
    assert_eq!(gw.metric("e173gw_call_mos_count"), Some(3.0));
    let lost = gw.metric("e173gw_rtp_packets_lost_total").unwrap_or(0.0);
    assert!(lost >= 13.0, "{lost}");
}
