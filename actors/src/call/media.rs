//! The media bridge of a modem call: one RTP socket, G.711 on the SIP side, 16-bit PCM
//! frames on the modem side, a jitter buffer paced by the call's 20 ms tick, and RFC 4733
//! DTMF turned into digits for the modem. What the two sides agreed (codec, address,
//! direction) comes from the call session's SDP offer/answer.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use actix::prelude::*;
use tokio::net::UdpSocket;

use e173gw_core::media::dtmf::DtmfReceiver;
use e173gw_core::media::jitter::{JitterBuffer, JitterConfig, Playout};
use e173gw_core::media::rtp::{RtpPacket, RtpSender};
use e173gw_core::sdp::Negotiated;

/// RTP arrived on a call's media socket.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub(crate) struct RtpIn {
    pub(crate) bytes: Vec<u8>,
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
    /// RTP packets sent and received.
    pub(crate) sent: u64,
    pub(crate) received: u64,
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
    /// Binds a socket from the pool; RTP arriving on it goes to `sink`.
    pub(crate) async fn bind(
        pool: &PortPool,
        ip: IpAddr,
        jitter_frames: usize,
        sink: Recipient<RtpIn>,
    ) -> std::io::Result<Self> {
        let jitter = JitterBuffer::new(JitterConfig {
            target_depth: jitter_frames,
            max_depth: (jitter_frames * 4).max(8),
        })
        .map_err(|e| std::io::Error::other(e.to_string()))?;
        let sock = Arc::new(pool.bind(ip).await?);
        let port = sock.local_addr()?.port();
        let recv = sock.clone();
        let recv_task = actix::spawn(async move {
            let mut buf = vec![0u8; 2048];
            while let Ok((n, _)) = recv.recv_from(&mut buf).await {
                sink.do_send(RtpIn {
                    bytes: buf[..n].to_vec(),
                });
            }
        });
        Ok(Self {
            sock,
            port,
            neg: None,
            sender: None,
            jitter,
            dtmf: DtmfReceiver::new(),
            out: Vec::with_capacity(200),
            recv_task,
            sent: 0,
            received: 0,
        })
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
        }
    }

    /// RTP from the network: audio into the jitter buffer, DTMF out as digits.
    pub(crate) fn receive(&mut self, bytes: &[u8]) -> Option<char> {
        let neg = self.neg.as_ref()?;
        let pkt = RtpPacket::parse(bytes).ok()?;
        self.received += 1;
        if pkt.header.payload_type == neg.payload_type {
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

    /// The 20 ms tick: the PCM frame to play to the modem, if any.
    pub(crate) fn tick(&mut self) -> Option<Vec<u8>> {
        let law = self.neg.as_ref()?.law;
        match self.jitter.pop() {
            Playout::Frame(f) => Some(law.decode_le(&f.payload)),
            Playout::Gap { .. } | Playout::Waiting => None,
        }
    }
}
