//! The call's two state machines and their history.

use std::time::Instant;

use crate::record::{Machine, Transition};

/// Where the call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallState {
    /// Waiting for the screening's verdict.
    Screening,
    /// Waiting for the router.
    Routing,
    /// A leg is being set up: RTP bound and dialling, or the agent's INVITE sent.
    Connecting,
    /// The callee is alerting, or early media flows (18x sent to the caller).
    Early,
    /// 200 OK sent to the caller; waiting for the ACK.
    Answered,
    /// The caller ACKed: the call is up.
    Confirmed,
    /// Hanging up: waiting for the legs to confirm.
    Ending,
    /// The record is made; the call lingers for retransmissions.
    Ended,
}

impl CallState {
    /// Name in the history.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Screening => "screening",
            Self::Routing => "routing",
            Self::Connecting => "connecting",
            Self::Early => "early",
            Self::Answered => "answered",
            Self::Confirmed => "confirmed",
            Self::Ending => "ending",
            Self::Ended => "ended",
        }
    }

    /// Whether the caller has been answered 200 (and the call not ended yet).
    pub fn is_up(self) -> bool {
        matches!(self, Self::Answered | Self::Confirmed)
    }
}

/// The caller's dialog, as its UAS (RFC 3261 §12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DialogState {
    /// Only 100 Trying sent: no dialog yet.
    Trying,
    /// A provisional response with our tag went out.
    Early,
    /// Our 2xx went out.
    Confirmed,
    /// A final error response went out, or a BYE ended the dialog.
    Terminated,
}

impl DialogState {
    /// Name in the history.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trying => "trying",
            Self::Early => "early",
            Self::Confirmed => "confirmed",
            Self::Terminated => "terminated",
        }
    }
}

/// Both machines and the record of their moves.
#[derive(Debug, Clone)]
pub(super) struct Machines {
    pub(super) call: CallState,
    pub(super) dialog: DialogState,
    pub(super) history: Vec<Transition>,
    start: Instant,
}

impl Machines {
    pub(super) fn new(start: Instant) -> Self {
        Self {
            call: CallState::Routing,
            dialog: DialogState::Trying,
            history: Vec::with_capacity(8),
            start,
        }
    }

    fn at_ms(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.start).as_millis()).unwrap_or(u64::MAX)
    }

    /// Moves the call machine (no entry when it stays).
    pub(super) fn call_to(&mut self, to: CallState, now: Instant, event: &'static str) {
        if self.call == to {
            return;
        }
        self.history.push(Transition {
            at_ms: self.at_ms(now),
            machine: Machine::Call,
            from: self.call.as_str().into(),
            to: to.as_str().into(),
            event: event.into(),
        });
        self.call = to;
    }

    /// Moves the dialog machine (no entry when it stays; nothing leaves Terminated).
    pub(super) fn dialog_to(&mut self, to: DialogState, now: Instant, event: &'static str) {
        if self.dialog == to || self.dialog == DialogState::Terminated {
            return;
        }
        self.history.push(Transition {
            at_ms: self.at_ms(now),
            machine: Machine::Dialog,
            from: self.dialog.as_str().into(),
            to: to.as_str().into(),
            event: event.into(),
        });
        self.dialog = to;
    }
}
