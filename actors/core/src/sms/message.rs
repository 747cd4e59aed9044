//! What the gateway keeps of each SMS (sent or received) and of each SIM's balance: the
//! rows of the message store, their states and the queries on them.

use serde::{Deserialize, Serialize};

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmsDirection {
    /// Sent through a modem.
    Outbound,
    /// Received on a SIM.
    Inbound,
}

impl SmsDirection {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Outbound => "outbound",
            Self::Inbound => "inbound",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "outbound" => Some(Self::Outbound),
            "inbound" => Some(Self::Inbound),
            _ => None,
        }
    }
}

/// Where a message is. Outbound: queued -> sending -> sent -> delivered (a status report
/// said so) or failed. Inbound: received -> delivered (every target took it) or failed
/// (a target refused it for good; the message is kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmsState {
    /// Waiting for its modem's turn.
    Queued,
    /// Handed to the modem.
    Sending,
    /// Every part was taken by the network.
    Sent,
    /// Outbound: the recipient got it. Inbound: handed to every target.
    Delivered,
    /// Outbound: refused or out of retries. Inbound: a target refused it for good.
    Failed,
    /// Inbound: kept, not yet handed to every target.
    Received,
}

impl SmsState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Received => "received",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Queued,
            Self::Sending,
            Self::Sent,
            Self::Delivered,
            Self::Failed,
            Self::Received,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }

    /// Nothing more will happen to it.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Delivered | Self::Failed)
    }
}

/// One SMS, sent or received. Stored whole; the store indexes id, direction, state,
/// number and time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsRecord {
    /// Unique id (`sms-...`).
    pub id: String,
    /// Which way.
    pub direction: SmsDirection,
    /// The other party: the recipient of an outbound message, the sender of an inbound one.
    pub number: String,
    /// The text (a long text whole).
    pub text: String,
    /// The modem that sent or received it.
    pub modem: Option<String>,
    /// The SIM.
    pub imsi: Option<String>,
    /// Where it is.
    pub state: SmsState,
    /// Parts (1 for a short text).
    pub parts: u8,
    /// Message references the network gave each part sent (`+CMGS: <mr>`).
    #[serde(default)]
    pub references: Vec<u8>,
    /// Ask for a status report (outbound).
    #[serde(default)]
    pub status_report: bool,
    /// Attempts so far (outbound sends, inbound deliveries).
    #[serde(default)]
    pub attempts: u32,
    /// The last error.
    #[serde(default)]
    pub error: Option<String>,
    /// Where it came from (`api`, `sip:<trunk>`) or, inbound, the service centre time stamp.
    #[serde(default)]
    pub origin: String,
    /// Inbound: targets that took it (`sip`, `webhook`).
    #[serde(default)]
    pub delivered_to: Vec<String>,
    /// Created (Unix ms).
    pub created_ms: u64,
    /// Last change (Unix ms).
    pub updated_ms: u64,
}

/// A search over stored messages, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SmsQuery {
    /// Only this direction.
    pub direction: Option<SmsDirection>,
    /// Only these states.
    pub states: Vec<SmsState>,
    /// Only this number.
    pub number: Option<String>,
    /// At most this many (0 = 100).
    pub limit: u32,
}

/// A SIM's balance, as last read from a USSD reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimBalance {
    /// The SIM.
    pub imsi: String,
    /// The modem it was in.
    pub modem: String,
    /// Amount in cents (negative when in debt).
    pub cents: i64,
    /// Expiry as written in the reply.
    pub expiry: Option<String>,
    /// The reply.
    pub reply: String,
    /// When it was read (Unix ms).
    pub at_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in [
            SmsState::Queued,
            SmsState::Sending,
            SmsState::Sent,
            SmsState::Delivered,
            SmsState::Failed,
            SmsState::Received,
        ] {
            assert_eq!(SmsState::parse(s.as_str()), Some(s));
        }
        for d in [SmsDirection::Outbound, SmsDirection::Inbound] {
            assert_eq!(SmsDirection::parse(d.as_str()), Some(d));
        }
        assert_eq!(SmsState::parse("lost"), None);
        assert!(SmsState::Delivered.is_final() && !SmsState::Sent.is_final());
    }
}
