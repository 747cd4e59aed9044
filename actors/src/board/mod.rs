//! Operations' view of calls: a call in progress as the API shows it, and the call
//! ladders (SIP messages and AT lines on one timeline). Nothing here is on the call's
//! path: calls in progress are asked for their state only when someone looks (through
//! the ingress), and a call hands its ladder to the [`LadderBook`] once, when it ends.

mod ladders;

use serde::Serialize;

pub use ladders::{LadderBook, Ladders, TRACED_KEEP};

/// A call in progress as operations see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActiveCall {
    /// The SIP Call-ID.
    pub call_id: String,
    /// The trunk it came in on.
    pub trunk: String,
    /// Calling number.
    pub caller: String,
    /// Called number.
    pub callee: String,
    /// When the INVITE arrived (Unix ms).
    pub received_ms: u64,
    /// Current state (`screening`, `routing`, `connecting`, `early`, `answered`,
    /// `confirmed`, `ending`).
    pub state: &'static str,
    /// Since when (Unix ms).
    pub state_since_ms: u64,
    /// The modem it is on, once one is leased.
    pub modem: Option<String>,
}
