//! SDP offer/answer of the modem leg (the RTP socket itself belongs to the owner).

use std::net::{IpAddr, Ipv4Addr};

use crate::sdp::{
    accept_answer, answer, offer, LocalEndpoint, LocalSdp, Negotiated, NegotiationError, SdpError,
    SessionDescription,
};

/// Why an SDP body was not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// The body is not SDP the gateway can read.
    #[error("bad SDP: {0}")]
    Sdp(#[from] SdpError),
    /// Nothing usable is offered (the caller gets 488).
    #[error("{0}")]
    Codec(#[from] NegotiationError),
}

impl MediaError {
    /// The status for the caller.
    pub fn status(&self) -> u16 {
        match self {
            Self::Sdp(_) | Self::Codec(NegotiationError::MalformedConnection { .. }) => 400,
            Self::Codec(_) => 488,
        }
    }
}

/// Whether an offer could be bridged to a modem (checked before any modem is leased).
pub fn check_offer(body: &[u8]) -> Result<(), MediaError> {
    let remote = SessionDescription::parse_bytes(body)?;
    let probe = LocalEndpoint::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0, 0);
    answer(&remote, &probe)?;
    Ok(())
}

/// Our side of the modem leg's SDP.
#[derive(Debug, Clone)]
pub(super) struct MediaNeg {
    endpoint: LocalEndpoint,
    local: LocalSdp,
    negotiated: Option<Negotiated>,
}

impl MediaNeg {
    pub(super) fn new(addr: IpAddr, port: u16, session_id: u64) -> Self {
        Self {
            endpoint: LocalEndpoint::new(addr, port, session_id),
            local: LocalSdp::new(),
            negotiated: None,
        }
    }

    /// Answers an offer (the INVITE's or a re-INVITE's): our SDP and what it agrees to.
    pub(super) fn answer(&mut self, body: &[u8]) -> Result<(Vec<u8>, Negotiated), MediaError> {
        let remote = SessionDescription::parse_bytes(body)?;
        let a = answer(&remote, &self.endpoint)?;
        let sdp = self.local.publish(a.sdp);
        self.negotiated = Some(a.negotiated.clone());
        Ok((sdp.to_string().into_bytes(), a.negotiated))
    }

    /// Our offer, for an INVITE that had none (the answer comes in the ACK).
    pub(super) fn offer(&mut self) -> Vec<u8> {
        self.local
            .publish(offer(&self.endpoint))
            .to_string()
            .into_bytes()
    }

    /// The answer to our offer.
    pub(super) fn take_answer(&mut self, body: &[u8]) -> Result<Negotiated, MediaError> {
        let remote = SessionDescription::parse_bytes(body)?;
        let n = accept_answer(&self.endpoint, &remote)?;
        self.negotiated = Some(n.clone());
        Ok(n)
    }

    /// Whether an answer to our offer is still awaited.
    pub(super) fn awaits_answer(&self) -> bool {
        self.negotiated.is_none()
    }

    /// Our current SDP.
    pub(super) fn sdp(&self) -> Option<Vec<u8>> {
        self.local.current().map(|s| s.to_string().into_bytes())
    }
}
