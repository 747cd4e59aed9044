//! Routing policy, as plain functions over snapshots of the modems, and the decision a
//! call gets back ([`Route`]).
//!
//! Until the routing rules exist this is the placeholder the router applies: the sticky
//! route's modem when it is free, else the first free modem, in id order, that the call
//! has not tried yet.

pub mod policy;

use std::time::Duration;

use crate::at::session::ModemIdentity;
use crate::domain::ModemId;
use crate::sip::Peer;

/// Where the AI voice agent is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentTarget {
    /// Its URI.
    pub uri: String,
    /// Where to send.
    pub peer: Peer,
    /// How long it may ring before the call is cancelled.
    pub answer_timeout: Duration,
}

/// Where a call goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Dial on this modem; it is leased to the call until released.
    Modem {
        /// Modem id.
        id: ModemId,
        /// Its identity, for the record.
        identity: ModemIdentity,
    },
    /// Send the call to the AI voice agent.
    Agent {
        /// The agent.
        agent: AgentTarget,
        /// Why, for the agent's headers.
        reason: String,
    },
    /// No route: answer the caller with this status.
    Reject {
        /// SIP status.
        status: u16,
        /// Why.
        reason: String,
    },
}

/// What the policy needs to know about a modem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate<'a> {
    /// Modem id.
    pub id: &'a str,
    /// The modem can place a call now.
    pub available: bool,
    /// Another call holds it (handed out, not yet dialling).
    pub leased: bool,
}

/// `prefer` (a sticky route) when it is free and not excluded, else [`first_free`].
pub fn pick<'a>(
    candidates: &[Candidate<'a>],
    exclude: &[String],
    prefer: Option<&str>,
) -> Option<&'a str> {
    let free = |c: &&Candidate<'a>| c.available && !c.leased && !exclude.iter().any(|e| e == c.id);
    prefer
        .and_then(|p| {
            candidates
                .iter()
                .filter(free)
                .find(|c| c.id == p)
                .map(|c| c.id)
        })
        .or_else(|| first_free(candidates, exclude))
}

/// The first available, unleased modem not in `exclude`.
pub fn first_free<'a>(candidates: &[Candidate<'a>], exclude: &[String]) -> Option<&'a str> {
    candidates
        .iter()
        .filter(|c| c.available && !c.leased && !exclude.iter().any(|e| e == c.id))
        .map(|c| c.id)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_free_table() {
        let c = |id, available, leased| Candidate {
            id,
            available,
            leased,
        };
        let mods = [
            c("m2", true, false),
            c("m1", true, true),
            c("m3", false, false),
            c("m0", true, false),
        ];
        let cases: [(&[&str], Option<&str>); 4] = [
            (&[], Some("m0")),
            (&["m0"], Some("m2")),
            (&["m0", "m2"], None),
            (&["x"], Some("m0")),
        ];
        for (exclude, want) in cases {
            let ex: Vec<String> = exclude.iter().map(|s| s.to_string()).collect();
            assert_eq!(first_free(&mods, &ex), want, "{exclude:?}");
        }
        assert_eq!(first_free(&[], &[]), None);
    }

    #[test]
    fn sticky_preference_table() {
        let c = |id, available, leased| Candidate {
            id,
            available,
            leased,
        };
        let mods = [
            c("m0", true, false),
            c("m1", true, false),
            c("m2", false, false),
            c("m3", true, true),
        ];
        let cases: [(Option<&str>, &[&str], Option<&str>); 6] = [
            (Some("m1"), &[], Some("m1")),
            (Some("m2"), &[], Some("m0")),
            (Some("m3"), &[], Some("m0")),
            (Some("m1"), &["m1"], Some("m0")),
            (Some("gone"), &[], Some("m0")),
            (None, &[], Some("m0")),
        ];
        for (prefer, exclude, want) in cases {
            let ex: Vec<String> = exclude.iter().map(|s| s.to_string()).collect();
            assert_eq!(pick(&mods, &ex, prefer), want, "{prefer:?} {exclude:?}");
        }
    }
}
