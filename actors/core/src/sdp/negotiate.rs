//! Offer/answer (RFC 3264) for the modem leg: one audio stream, PCMU or PCMA, plus
//! `telephone-event` when the other side offers it.

use std::net::{IpAddr, SocketAddr};

use thiserror::Error;

use super::model::{
    AddressType, Attribute, Connection, Direction, Fmtp, MediaDescription, Origin, RtpMap,
    SessionDescription, Timing,
};
use crate::media::g711::Law;
use crate::media::FRAME_MS;

/// Events answered when the offer gives no `a=fmtp` for telephone-event: the 16 DTMF keys.
pub const DEFAULT_EVENTS: &str = "0-15";

/// Why no media could be agreed. The SIP side answers 488 Not Acceptable Here.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NegotiationError {
    /// No audio stream with a non-zero port.
    #[error("no audio stream offered")]
    NoAudio,
    /// Audio is offered only over a transport other than RTP/AVP (e.g. SRTP).
    #[error("audio offered only over unsupported transport {0}")]
    UnsupportedProtocol(String),
    /// Audio is offered, but neither PCMU nor PCMA.
    #[error("no common codec; offered: {}", .offered.join(", "))]
    NoCommonCodec {
        /// The offered formats, as `<pt>` or `<pt> <encoding>/<clock>`.
        offered: Vec<String>,
    },
    /// The chosen stream's connection line (its own, or the session's it falls back on)
    /// is malformed.
    #[error("audio stream {media_index} has a malformed connection line")]
    MalformedConnection {
        /// Index of the `m=` section.
        media_index: usize,
    },
    /// The chosen stream has no connection address, at media or session level.
    #[error("audio stream {media_index} has no connection address")]
    NoConnection {
        /// Index of the `m=` section.
        media_index: usize,
    },
    /// An answer has a different number of media sections than our offer.
    #[error("answer has {answered} media sections, the offer had {offered}")]
    MediaCountMismatch {
        /// Sections in our offer.
        offered: usize,
        /// Sections in the answer.
        answered: usize,
    },
    /// The answer rejected our audio stream (port 0).
    #[error("the answer rejected the audio stream")]
    Rejected,
}

/// Our side of the modem leg: what goes into our `o=`, `c=` and `m=` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalEndpoint {
    /// `o=` user name.
    pub username: String,
    /// `o=` session id, fixed for the dialog.
    pub session_id: u64,
    /// `o=` session version of the first description; [`LocalSdp`] bumps it afterwards.
    pub session_version: u64,
    /// Our RTP address.
    pub address: IpAddr,
    /// Our RTP port.
    pub port: u16,
    /// Codecs we accept, in our order of preference (used for offers).
    pub codecs: Vec<Law>,
    /// Payload type for telephone-event in our offers; `None` to offer no DTMF events.
    pub telephone_event: Option<u8>,
    /// What we want to do (sendrecv; sendonly to put the other side on hold).
    pub direction: Direction,
    /// Our packet time, in milliseconds.
    pub ptime: u32,
}

impl LocalEndpoint {
    /// Defaults for the gateway: user `e173gw`, version 1, PCMU then PCMA,
    /// telephone-event on 101, sendrecv, 20 ms.
    pub fn new(address: IpAddr, port: u16, session_id: u64) -> Self {
        Self {
            username: "e173gw".to_owned(),
            session_id,
            session_version: 1,
            address,
            port,
            codecs: vec![Law::Ulaw, Law::Alaw],
            telephone_event: Some(101),
            direction: Direction::SendRecv,
            ptime: FRAME_MS,
        }
    }

    fn skeleton(&self) -> SessionDescription {
        SessionDescription {
            origin: Origin {
                username: self.username.clone(),
                session_id: self.session_id,
                session_version: self.session_version,
                address_type: AddressType::of(self.address),
                address: self.address.to_string(),
            },
            session_name: self.username.clone(),
            connection: Some(Connection {
                address: self.address,
            }),
            timing: Timing::default(),
            attributes: Vec::new(),
            other: Vec::new(),
            media: Vec::new(),
        }
    }
}

/// What was agreed for the audio stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// Index of the audio `m=` section.
    pub media_index: usize,
    /// The G.711 law to send and receive.
    pub law: Law,
    /// Its payload type (0 or 8, or a dynamic number mapped to PCMU/PCMA).
    pub payload_type: u8,
    /// Payload type of telephone-event, when both sides have it.
    pub telephone_event: Option<u8>,
    /// Where to send RTP.
    pub remote_rtp: SocketAddr,
    /// What we do on this stream: send RTP only if it `sends()`, expect RTP only if it
    /// `receives()`.
    pub direction: Direction,
    /// The other side's `a=ptime`, if given.
    pub remote_ptime: Option<u32>,
    /// The other side does not want our media (sendonly, inactive or `c=0.0.0.0`).
    pub on_hold: bool,
}

/// An answer to a remote offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The answer SDP to send (pass it through [`LocalSdp::publish`] for the version).
    pub sdp: SessionDescription,
    /// What it agrees to.
    pub negotiated: Negotiated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Audio(Law),
    TelephoneEvent,
}

fn format_of(m: &MediaDescription, pt: u8) -> Option<Format> {
    match m.rtpmap(pt) {
        Some(map) if map.is_8k_mono("PCMU") => Some(Format::Audio(Law::Ulaw)),
        Some(map) if map.is_8k_mono("PCMA") => Some(Format::Audio(Law::Alaw)),
        Some(map) if map.is_8k_mono("telephone-event") => Some(Format::TelephoneEvent),
        Some(_) => None,
        None => Law::from_payload_type(pt).map(Format::Audio),
    }
}

/// The first format of `m`, in its order, that is one of `laws`; and the
/// telephone-event payload type, if any.
fn pick(m: &MediaDescription, laws: &[Law]) -> (Option<(Law, u8)>, Option<u8>) {
    let mut audio = None;
    let mut te = None;
    for pt in m.payload_types() {
        match format_of(m, pt) {
            Some(Format::Audio(law)) if audio.is_none() && laws.contains(&law) => {
                audio = Some((law, pt));
            }
            Some(Format::TelephoneEvent) if te.is_none() => te = Some(pt),
            _ => {}
        }
    }
    (audio, te)
}

fn describe_formats(m: &MediaDescription) -> Vec<String> {
    m.formats
        .iter()
        .map(|f| {
            let map = f.parse::<u8>().ok().and_then(|pt| m.rtpmap(pt));
            match map {
                Some(r) => format!("{f} {}/{}", r.encoding, r.clock_rate),
                None => f.clone(),
            }
        })
        .collect()
}

/// Answers a remote offer: the first audio stream over RTP/AVP that has PCMU or PCMA
/// (taken in the offer's order, among `local.codecs`) is accepted, with telephone-event
/// if offered; every other stream is rejected with port 0. The answer's direction is the
/// offer's reversed (sendonly → recvonly, inactive → inactive), limited by
/// `local.direction`.
pub fn answer(
    offer: &SessionDescription,
    local: &LocalEndpoint,
) -> Result<Answer, NegotiationError> {
    let mut chosen = None;
    let mut no_codec = None;
    let mut bad_protocol = None;
    for (i, m) in offer.media.iter().enumerate() {
        if !m.media.eq_ignore_ascii_case("audio") || m.port == 0 {
            continue;
        }
        if !m.is_rtp_avp() {
            bad_protocol.get_or_insert_with(|| m.protocol.clone());
            continue;
        }
        match pick(m, &local.codecs) {
            (Some(codec), te) => {
                let te = te.filter(|_| local.telephone_event.is_some());
                chosen = Some((i, m, codec, te));
                break;
            }
            (None, _) => {
                no_codec.get_or_insert_with(|| describe_formats(m));
            }
        }
    }
    let Some((index, m, (law, pt), te)) = chosen else {
        return Err(match (no_codec, bad_protocol) {
            (Some(offered), _) => NegotiationError::NoCommonCodec { offered },
            (None, Some(p)) => NegotiationError::UnsupportedProtocol(p),
            (None, None) => NegotiationError::NoAudio,
        });
    };
    let raw_c = |other: &[super::model::OtherLine]| other.iter().any(|l| l.kind == 'c');
    let malformed = match m.connection {
        Some(_) => false,
        None => raw_c(&m.other) || (offer.connection.is_none() && raw_c(&offer.other)),
    };
    if malformed {
        return Err(NegotiationError::MalformedConnection { media_index: index });
    }
    let connection = offer
        .connection_of(m)
        .ok_or(NegotiationError::NoConnection { media_index: index })?;
    let offered = offer.effective_direction(m);
    let direction = offered.reversed().intersect(local.direction);

    let mut sdp = local.skeleton();
    for (i, om) in offer.media.iter().enumerate() {
        if i == index {
            let events = te.map(|te| {
                let params = m.fmtp(&te.to_string()).unwrap_or(DEFAULT_EVENTS);
                (te, params.to_owned())
            });
            sdp.media.push(audio_section(
                &m.protocol,
                local,
                &[(law, pt)],
                events,
                direction,
            ));
        } else {
            let first = om
                .formats
                .first()
                .cloned()
                .unwrap_or_else(|| "0".to_owned());
            sdp.media.push(MediaDescription::new(
                &om.media,
                0,
                &om.protocol,
                vec![first],
            ));
        }
    }
    Ok(Answer {
        sdp,
        negotiated: Negotiated {
            media_index: index,
            law,
            payload_type: pt,
            telephone_event: te,
            remote_rtp: SocketAddr::new(connection.address, m.port),
            direction,
            remote_ptime: m.ptime(),
            on_hold: !offered.receives(),
        },
    })
}

fn audio_section(
    protocol: &str,
    local: &LocalEndpoint,
    codecs: &[(Law, u8)],
    events: Option<(u8, String)>,
    direction: Direction,
) -> MediaDescription {
    let mut formats: Vec<String> = codecs.iter().map(|(_, pt)| pt.to_string()).collect();
    let mut attributes: Vec<Attribute> = codecs
        .iter()
        .map(|(law, pt)| Attribute::RtpMap(RtpMap::new(*pt, law.encoding_name(), 8000)))
        .collect();
    if let Some((te, params)) = events {
        formats.push(te.to_string());
        attributes.push(Attribute::RtpMap(RtpMap::new(te, "telephone-event", 8000)));
        attributes.push(Attribute::Fmtp(Fmtp {
            format: te.to_string(),
            params,
        }));
    }
    attributes.push(Attribute::Ptime(local.ptime));
    attributes.push(Attribute::Direction(direction));
    let mut m = MediaDescription::new("audio", local.port, protocol, formats);
    m.attributes = attributes;
    m
}

/// Our offer: one audio stream with `local.codecs` in order and telephone-event.
pub fn offer(local: &LocalEndpoint) -> SessionDescription {
    let mut sdp = local.skeleton();
    let codecs: Vec<(Law, u8)> = local
        .codecs
        .iter()
        .map(|l| (*l, l.payload_type()))
        .collect();
    let events = local
        .telephone_event
        .map(|te| (te, DEFAULT_EVENTS.to_owned()));
    sdp.media.push(audio_section(
        "RTP/AVP",
        local,
        &codecs,
        events,
        local.direction,
    ));
    sdp
}

/// Reads the answer to our [`offer`]: the codec is the answer's first PCMU/PCMA format
/// among `local.codecs`, and our direction is the answer's reversed, limited by
/// `local.direction`.
pub fn accept_answer(
    local: &LocalEndpoint,
    answer: &SessionDescription,
) -> Result<Negotiated, NegotiationError> {
    if answer.media.len() != 1 {
        return Err(NegotiationError::MediaCountMismatch {
            offered: 1,
            answered: answer.media.len(),
        });
    }
    let m = &answer.media[0];
    if m.port == 0 {
        return Err(NegotiationError::Rejected);
    }
    if !m.is_rtp_avp() {
        return Err(NegotiationError::UnsupportedProtocol(m.protocol.clone()));
    }
    let (Some((law, pt)), te) = pick(m, &local.codecs) else {
        return Err(NegotiationError::NoCommonCodec {
            offered: describe_formats(m),
        });
    };
    let connection = answer
        .connection_of(m)
        .ok_or(NegotiationError::NoConnection { media_index: 0 })?;
    let answered = answer.effective_direction(m);
    Ok(Negotiated {
        media_index: 0,
        law,
        payload_type: pt,
        telephone_event: te.filter(|_| local.telephone_event.is_some()),
        remote_rtp: SocketAddr::new(connection.address, m.port),
        direction: answered.reversed().intersect(local.direction),
        remote_ptime: m.ptime(),
        on_hold: !answered.receives(),
    })
}

/// Our current description within one dialog, for re-INVITEs (RFC 3264 §8): the session
/// id never changes, and the version goes up by one exactly when the content changes.
#[derive(Debug, Clone, Default)]
pub struct LocalSdp {
    current: Option<SessionDescription>,
}

impl LocalSdp {
    /// Nothing sent yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The description sent last.
    pub fn current(&self) -> Option<&SessionDescription> {
        self.current.as_ref()
    }

    /// Stamps `sdp` as our next description and returns it. The first one is taken as
    /// is; later ones get the first one's session id, and the previous version if
    /// nothing else differs, the previous version + 1 otherwise.
    pub fn publish(&mut self, mut sdp: SessionDescription) -> SessionDescription {
        if let Some(prev) = &self.current {
            sdp.origin.session_id = prev.origin.session_id;
            let v = prev.origin.session_version;
            sdp.origin.session_version = if sdp.with_version(v) == *prev {
                v
            } else {
                v.wrapping_add(1)
            };
        }
        self.current = Some(sdp.clone());
        sdp
    }
}

#[cfg(test)]
mod tests;
