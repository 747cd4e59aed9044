//! The media bridge of a modem call: one RTP socket, G.711 on the SIP side, 16-bit PCM
//! frames on the modem side, a jitter buffer paced by the call's 20 ms tick, and RFC 4733
//! DTMF turned into digits for the modem. What the two sides agreed (codec, address,
//! direction) comes from the call session's SDP offer/answer.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use actix::prelude::*;
use tokio::net::UdpSocket;

use e173gw_core::config::sip::MediaConfig;
use e173gw_core::media::dtmf::DtmfReceiver;
use e173gw_core::media::jitter::{JitterBuffer, JitterConfig, Playout};
use e173gw_core::media::quality::{self, MediaQuality, OneWay, Reception, Side};
use e173gw_core::media::rtcp;
use e173gw_core::media::rtp::{is_rtcp, RtpPacket, RtpSender};
use e173gw_core::sdp::Negotiated;

/// RTP (or RTCP) arrived on a call's media sockets.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub(crate) struct RtpIn {
    pub(crate) bytes: Vec<u8>,
}

/// Reads datagrams from `sock` and hands each to `sink` until the socket fails.
fn forward(sock: Arc<UdpSocket>, sink: Recipient<RtpIn>) -> tokio::task::JoinHandle<()> {
    actix::spawn(async move {
        let mut buf = vec![0u8; 2048];
        while let Ok((n, _)) = sock.recv_from(&mut buf).await {
            sink.do_send(RtpIn {
                bytes: buf[..n].to_vec(),
            });
        }
    })
}

/// Hands out RTP ports from the configured range, round robin.
#[derive(Debug)]
pub struct PortPool {
    min: u16,
    max: u16,
    next: Mutex<u16>,
}

impl PortPool {
    /// A pool over `[min, max]` (even ports only).
    pub fn new(min: u16, max: u16) -> Self {
        Self {
            min: min + (min % 2),
            max,
            next: Mutex::new(min + (min % 2)),
        }
    }

    /// Binds a UDP socket on the next free even port.
    pub(crate) async fn bind(&self, ip: IpAddr) -> std::io::Result<UdpSocket> {
        let span = usize::from((self.max - self.min) / 2 + 1);
        for _ in 0..span {
            let port = {
                let mut n = self
                    .next
                    .lock()
                    .map_err(|_| std::io::Error::other("port pool poisoned"))?;
                let p = *n;
                *n = if p + 2 > self.max { self.min } else { p + 2 };
                p
            };
            if let Ok(s) = UdpSocket::bind(SocketAddr::new(ip, port)).await {
                return Ok(s);
            }
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            "no free RTP port in the range",
        ))
    }
}

/// One call's media.
pub(crate) struct MediaSession {
    sock: Arc<UdpSocket>,
    port: u16,
    neg: Option<Negotiated>,
    sender: Option<RtpSender>,
    jitter: JitterBuffer,
    dtmf: DtmfReceiver,
    out: Vec<u8>,
    recv_task: tokio::task::JoinHandle<()>,
    /// RTCP on the next port up, when it could be bound.
    rtcp: Option<(Arc<UdpSocket>, tokio::task::JoinHandle<()>)>,
    rtcp_every_us: u64,
    next_rtcp_us: u64,
    /// RTP packets sent and received.
    pub(crate) sent: u64,
    pub(crate) received: u64,
    octets_sent: u64,
    reception: Reception,
    one_way: OneWay,
    quality: MediaQuality,
    /// Where times are counted from.
    epoch: tokio::time::Instant,
}

impl std::fmt::Debug for MediaSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaSession")
            .field("port", &self.port)
            .finish()
    }
}

impl Drop for MediaSession {
    fn drop(&mut self) {
        self.recv_task.abort();
        if let Some((_, t)) = &self.rtcp {
            t.abort();
        }
    }
}

/// An SDP session id for our `o=` line.
pub(crate) fn session_id(port: u16) -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    t ^ (u64::from(port) << 40)
}

impl MediaSession {
    /// Binds a socket from the pool (and RTCP on the next port, when free); what
    /// arrives on them goes to `sink`.
    pub(crate) async fn bind(
        pool: &PortPool,
        cfg: &MediaConfig,
        sink: Recipient<RtpIn>,
    ) -> std::io::Result<Self> {
        let jitter = JitterBuffer::new(JitterConfig {
            target_depth: cfg.jitter_frames,
            max_depth: (cfg.jitter_frames * 4).max(8),
        })
        .map_err(|e| std::io::Error::other(e.to_string()))?;
        let sock = Arc::new(pool.bind(cfg.bind).await?);
        let port = sock.local_addr()?.port();
        let recv_task = forward(sock.clone(), sink.clone());
        let rtcp = if cfg.rtcp_interval_s > 0 {
            match UdpSocket::bind(SocketAddr::new(cfg.bind, port.wrapping_add(1))).await {
                Ok(r) => {
                    let r = Arc::new(r);
                    let t = forward(r.clone(), sink);
                    Some((r, t))
                }
                Err(_) => None,
            }
        } else {
            None
        };
        let every = cfg.rtcp_interval_s * 1_000_000;
        Ok(Self {
            sock,
            port,
            neg: None,
            sender: None,
            jitter,
            dtmf: DtmfReceiver::new(),
            out: Vec::with_capacity(200),
            recv_task,
            rtcp,
            rtcp_every_us: every,
            next_rtcp_us: every,
            sent: 0,
            received: 0,
            octets_sent: 0,
            reception: Reception::default(),
            one_way: OneWay::new(cfg.one_way_audio_s * 1000),
            quality: MediaQuality::default(),
            epoch: tokio::time::Instant::now(),
        })
    }

    fn now_us(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// The bound port.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Bridges with what the SDP exchange agreed (a new codec gets a new RTP stream).
    pub(crate) fn configure(&mut self, neg: Negotiated) {
        let keep = self
            .neg
            .as_ref()
            .is_some_and(|n| n.payload_type == neg.payload_type);
        if !keep {
            let ssrc = (session_id(self.port) as u32) ^ 0x5eed_1234;
            self.sender = RtpSender::new(
                ssrc,
                neg.payload_type,
                (ssrc >> 16) as u16,
                ssrc.rotate_left(7),
            )
            .ok();
        }
        self.neg = Some(neg);
    }

    /// A 20 ms frame from the modem: encode and send it, unless on hold.
    pub(crate) fn send_modem_audio(&mut self, pcm: &[u8]) {
        let (Some(neg), Some(sender)) = (&self.neg, &mut self.sender) else {
            return;
        };
        if !neg.direction.sends() {
            return;
        }
        let payload = neg.law.encode_le(pcm);
        sender.audio(&payload, &mut self.out);
        if self.sock.try_send_to(&self.out, neg.remote_rtp).is_ok() {
            self.sent += 1;
            self.octets_sent += payload.len() as u64;
        }
        let now_ms = self.now_us() / 1000;
        self.one_way.frame(Side::Callee, pcm, now_ms);
    }

    /// RTP from the network: audio into the jitter buffer, DTMF out as digits.
    pub(crate) fn receive(&mut self, bytes: &[u8]) -> Option<char> {
        if is_rtcp(bytes) {
            self.on_rtcp(bytes);
            return None;
        }
        let now_us = self.now_us();
        let neg = self.neg.as_ref()?;
        let pkt = RtpPacket::parse(bytes).ok()?;
        self.received += 1;
        let audio = pkt.header.payload_type == neg.payload_type;
        self.reception.on_packet(
            pkt.header.ssrc,
            pkt.header.sequence,
            audio.then_some(pkt.header.timestamp),
            now_us,
        );
        if audio {
            self.jitter
                .push(pkt.header.sequence, pkt.header.timestamp, pkt.payload);
            None
        } else if Some(pkt.header.payload_type) == neg.telephone_event {
            self.jitter.push_other(pkt.header.sequence);
            self.dtmf
                .on_packet(pkt.header.timestamp, pkt.payload)
                .ok()
                .flatten()
                .map(|d| d.digit)
        } else {
            None
        }
    }

    /// The 20 ms tick: the PCM frame to play to the modem, if any; and, when due, an
    /// RTCP report and the one-way audio check (the silent side, when first found).
    pub(crate) fn tick(&mut self) -> (Option<Vec<u8>>, Option<Side>) {
        let now_us = self.now_us();
        if self.rtcp_every_us > 0 && now_us >= self.next_rtcp_us {
            self.next_rtcp_us = now_us + self.rtcp_every_us;
            self.send_rtcp(now_us);
        }
        let Some((law, both_ways)) = self
            .neg
            .as_ref()
            .map(|n| (n.law, n.direction == e173gw_core::sdp::Direction::SendRecv))
        else {
            return (None, None);
        };
        let frame = match self.jitter.pop() {
            Playout::Frame(f) => Some(law.decode_le(&f.payload)),
            Playout::Gap { .. } | Playout::Waiting => None,
        };
        let now_ms = now_us / 1000;
        if !both_ways {
            // On hold: a silent side is what was agreed.
            self.one_way.hold(now_ms);
        } else if let Some(pcm) = &frame {
            self.one_way.frame(Side::Caller, pcm, now_ms);
        }
        let found = self.one_way.check(now_ms);
        (frame, found)
    }

    /// The call was answered: one-way audio counts from now.
    pub(crate) fn answered(&mut self) {
        let now_ms = self.now_us() / 1000;
        self.one_way.answered(now_ms);
    }

    fn send_rtcp(&mut self, now_us: u64) {
        let (Some((sock, _)), Some(neg)) = (&self.rtcp, &self.neg) else {
            return;
        };
        let to = SocketAddr::new(neg.remote_rtp.ip(), neg.remote_rtp.port().wrapping_add(1));
        let me = match &self.sender {
            Some(s) => rtcp::SenderInfo {
                ssrc: s.ssrc(),
                ntp: rtcp::ntp_of_unix_us(crate::wall_ms() * 1000),
                rtp_ts: s.timestamp(),
                packets: s.packets_sent() as u32,
                octets: self.octets_sent as u32,
            },
            None => return,
        };
        let block = self.reception.report_block(now_us);
        let pkt = rtcp::compound(&me, self.sent > 0, block.as_ref(), "e173gw");
        if sock.try_send_to(&pkt, to).is_ok() {
            self.quality.rtcp_sent += 1;
        }
    }

    fn on_rtcp(&mut self, bytes: &[u8]) {
        let Some(r) = rtcp::parse(bytes) else { return };
        self.quality.rtcp_received += 1;
        if let Some((_, ntp)) = r.sender {
            let now = self.now_us();
            self.reception.on_sender_report(ntp, now);
        }
        // The far end's report on our stream.
        let ours = self.sender.as_ref().map(RtpSender::ssrc);
        if let Some(b) = r.blocks.iter().find(|b| Some(b.ssrc) == ours) {
            self.quality.remote_loss_permille = Some(u32::from(b.fraction_lost) * 1000 / 256);
            self.quality.remote_jitter_us = Some(b.jitter.saturating_mul(125));
            let now_ntp = rtcp::ntp_of_unix_us(crate::wall_ms() * 1000);
            if let Some(rtt) = rtcp::round_trip_ms(b, now_ntp) {
                self.quality.rtt_ms = Some(u32::try_from(rtt).unwrap_or(u32::MAX));
            }
        }
    }

    /// What the media measured so far.
    pub(crate) fn quality(&self) -> MediaQuality {
        let j = self.jitter.stats();
        let expected = self.reception.expected();
        let lost = self.reception.lost();
        let late = j.late + j.duplicates + j.overflow;
        let bad = (lost + late).min(expected);
        let loss_pct = if expected == 0 {
            0.0
        } else {
            bad as f64 * 100.0 / expected as f64
        };
        let jitter_us = self.reception.jitter_us();
        let buffer_ms = (self.jitter.config().target_depth * 20) as f64;
        let delay = quality::delay_ms(buffer_ms, f64::from(jitter_us) / 1000.0);
        let mos = quality::mos(quality::r_factor(loss_pct, delay));
        MediaQuality {
            rtp_received: self.received,
            rtp_sent: self.sent,
            rtp_lost: lost,
            rtp_late: late,
            loss_permille: (bad * 1000).checked_div(expected).unwrap_or(0) as u32,
            jitter_us,
            // No packet from the trunk: no figure (0), rather than a perfect score.
            mos_x100: if expected == 0 {
                0
            } else {
                (mos * 100.0).round() as u16
            },
            one_way: self.one_way.found().map(|s| s.as_str().to_string()),
            ..self.quality.clone()
        }
    }
}
