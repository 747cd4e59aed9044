//! RTCP (RFC 3550 section 6) on the trunk leg: the compound packet the gateway sends
//! (a sender report with one report block for the stream it receives, then SDES CNAME),
//! and what it reads from the peer's reports (their sender info, and their report on the
//! stream the gateway sends: loss and jitter as the far end sees them, and the round trip).

/// One report block (RFC 3550 6.4.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportBlock {
    /// The stream reported on.
    pub ssrc: u32,
    /// Lost since the last report, /256.
    pub fraction_lost: u8,
    /// Lost in all (24 bits).
    pub cumulative_lost: u32,
    /// Extended highest sequence number received.
    pub highest_seq: u32,
    /// Interarrival jitter, RTP clock units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP time of the last SR received.
    pub lsr: u32,
    /// Delay since that SR, 1/65536 s.
    pub dlsr: u32,
}

/// What the gateway says of its own stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SenderInfo {
    /// Our SSRC.
    pub ssrc: u32,
    /// NTP time now (seconds since 1900 << 32 | fraction).
    pub ntp: u64,
    /// The RTP timestamp of the same instant.
    pub rtp_ts: u32,
    /// Packets sent.
    pub packets: u32,
    /// Payload octets sent.
    pub octets: u32,
}

/// Seconds from 1900 (NTP) to 1970 (Unix).
const NTP_UNIX: u64 = 2_208_988_800;

/// NTP time of a Unix time in µs.
pub fn ntp_of_unix_us(us: u64) -> u64 {
    let secs = us / 1_000_000 + NTP_UNIX;
    let frac = ((us % 1_000_000) << 32) / 1_000_000;
    (secs << 32) | frac
}

fn push_block(out: &mut Vec<u8>, b: &ReportBlock) {
    out.extend_from_slice(&b.ssrc.to_be_bytes());
    out.push(b.fraction_lost);
    out.extend_from_slice(&b.cumulative_lost.to_be_bytes()[1..]);
    out.extend_from_slice(&b.highest_seq.to_be_bytes());
    out.extend_from_slice(&b.jitter.to_be_bytes());
    out.extend_from_slice(&b.lsr.to_be_bytes());
    out.extend_from_slice(&b.dlsr.to_be_bytes());
}

/// A compound packet: SR (or RR when nothing was sent yet) with `block`, then SDES with
/// `cname`.
pub fn compound(
    me: &SenderInfo,
    sent_any: bool,
    block: Option<&ReportBlock>,
    cname: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(96);
    let rc = u8::from(block.is_some());
    let start = out.len();
    out.push(0x80 | rc);
    out.push(if sent_any { 200 } else { 201 });
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&me.ssrc.to_be_bytes());
    if sent_any {
        out.extend_from_slice(&me.ntp.to_be_bytes());
        out.extend_from_slice(&me.rtp_ts.to_be_bytes());
        out.extend_from_slice(&me.packets.to_be_bytes());
        out.extend_from_slice(&me.octets.to_be_bytes());
    }
    if let Some(b) = block {
        push_block(&mut out, b);
    }
    set_length(&mut out, start);
    // SDES: one chunk, CNAME, END, padded to a word.
    let start = out.len();
    out.extend_from_slice(&[0x81, 202, 0, 0]);
    out.extend_from_slice(&me.ssrc.to_be_bytes());
    let name = &cname.as_bytes()[..cname.len().min(255)];
    out.push(1);
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    out.push(0);
    while (out.len() - start) % 4 != 0 {
        out.push(0);
    }
    set_length(&mut out, start);
    out
}

fn set_length(out: &mut [u8], start: usize) {
    let words = ((out.len() - start) / 4).saturating_sub(1) as u16;
    if let Some(l) = out.get_mut(start + 2..start + 4) {
        l.copy_from_slice(&words.to_be_bytes());
    }
}

/// What a received compound packet said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Received {
    /// The sender's SR: its SSRC and NTP time.
    pub sender: Option<(u32, u64)>,
    /// Report blocks, from SRs and RRs.
    pub blocks: Vec<ReportBlock>,
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Reads a compound RTCP packet; `None` when it is not one (bad version, lengths that
/// do not add up).
pub fn parse(buf: &[u8]) -> Option<Received> {
    let mut r = Received::default();
    let mut at = 0;
    if buf.len() < 8 {
        return None;
    }
    while at < buf.len() {
        let h = buf.get(at..at + 4)?;
        if h[0] >> 6 != 2 {
            return None;
        }
        let count = usize::from(h[0] & 0x1f);
        let pt = h[1];
        let len = (usize::from(u16::from_be_bytes([h[2], h[3]])) + 1) * 4;
        let pkt = buf.get(at..at + len)?;
        let blocks_at = match pt {
            200 => {
                let ssrc = be32(pkt, 4)?;
                let ntp = (u64::from(be32(pkt, 8)?) << 32) | u64::from(be32(pkt, 12)?);
                r.sender = Some((ssrc, ntp));
                Some(28)
            }
            201 => Some(8),
            _ => None,
        };
        if let Some(mut b) = blocks_at {
            for _ in 0..count {
                let x = pkt.get(b..b + 24)?;
                r.blocks.push(ReportBlock {
                    ssrc: be32(x, 0)?,
                    fraction_lost: x[4],
                    cumulative_lost: u32::from_be_bytes([0, x[5], x[6], x[7]]),
                    highest_seq: be32(x, 8)?,
                    jitter: be32(x, 12)?,
                    lsr: be32(x, 16)?,
                    dlsr: be32(x, 20)?,
                });
                b += 24;
            }
        }
        at += len;
    }
    Some(r)
}

/// Round trip from a report block (RFC 3550 6.4.1), ms; `None` without an SR reference.
pub fn round_trip_ms(b: &ReportBlock, now_ntp: u64) -> Option<u64> {
    if b.lsr == 0 {
        return None;
    }
    let now = (now_ntp >> 16) as u32;
    let rtt = now.wrapping_sub(b.lsr).wrapping_sub(b.dlsr);
    // 1/65536 s units; a "negative" round trip is a clock step: no figure.
    (rtt < 0x8000_0000).then(|| u64::from(rtt) * 1000 / 65_536)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compound_packet_reads_back() {
        let me = SenderInfo {
            ssrc: 0x1122_3344,
            ntp: ntp_of_unix_us(1_700_000_000_500_000),
            rtp_ts: 160_000,
            packets: 250,
            octets: 40_000,
        };
        let block = ReportBlock {
            ssrc: 0xaabb_ccdd,
            fraction_lost: 25,
            cumulative_lost: 0x01_0203,
            highest_seq: 70_000,
            jitter: 80,
            lsr: 0x1234_5678,
            dlsr: 65_536,
        };
        let pkt = compound(&me, true, Some(&block), "e173gw@node1");
        assert_eq!(pkt.len() % 4, 0);
        assert_eq!(pkt[1], 200);
        let r = parse(&pkt).expect("parses");
        assert_eq!(r.sender, Some((me.ssrc, me.ntp)));
        assert_eq!(r.blocks, vec![block]);
        // Nothing sent yet: a receiver report.
        let rr = compound(&me, false, Some(&block), "x");
        assert_eq!(rr[1], 201);
        let r = parse(&rr).expect("parses");
        assert_eq!((r.sender, r.blocks.len()), (None, 1));
        assert_eq!(
            parse(&compound(&me, false, None, "x")).map(|r| r.blocks.len()),
            Some(0)
        );
    }

    #[test]
    fn bad_packets_are_refused() {
        let me = SenderInfo::default();
        let good = compound(&me, true, None, "c");
        for bad in [
            Vec::new(),
            vec![0x80, 200, 0, 1],
            good[..good.len() - 4].to_vec(),
            {
                let mut v = good.clone();
                v[0] = 0x40;
                v
            },
            {
                let mut v = good.clone();
                v[0] = 0x9f; // 31 report blocks claimed, none there
                v
            },
        ] {
            assert_eq!(parse(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ntp_and_round_trip() {
        let ntp = ntp_of_unix_us(1_500_000);
        assert_eq!(ntp >> 32, NTP_UNIX + 1);
        assert_eq!(ntp & 0xffff_ffff, 1 << 31, "half a second");
        let sent = ntp_of_unix_us(10_000_000);
        let b = ReportBlock {
            lsr: (sent >> 16) as u32,
            dlsr: 65_536 / 10, // the peer held it 100 ms
            ..ReportBlock::default()
        };
        let rtt = round_trip_ms(&b, ntp_of_unix_us(10_150_000)).expect("a figure");
        assert!((49..=51).contains(&rtt), "{rtt}");
        assert_eq!(round_trip_ms(&ReportBlock::default(), ntp), None);
    }
}
