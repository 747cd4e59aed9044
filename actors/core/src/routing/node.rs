//! Peer nodes: e173gw nodes that share one PostgreSQL and one Redis and route calls to
//! each other's SIMs. A node checks each peer with SIP `OPTIONS`; the peer's `200` carries
//! its modems as JSON ([`NodeView`]), so one round trip says both "alive" and "which SIMs
//! are free". [`PeerHealth`] turns the answers into up/down with thresholds.

use serde::{Deserialize, Serialize};

/// `Accept` and `Content-Type` of the node view in `OPTIONS` exchanges.
pub const NODE_VIEW_TYPE: &str = "application/x-e173gw-node+json";

/// Header naming the peer's modem a forwarded call is for.
pub const MODEM_HEADER: &str = "X-E173GW-Modem";

/// A node's modems, as its peers see them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeView {
    /// The node's id (`sip.node_id`).
    pub node: String,
    /// Its modems.
    pub modems: Vec<RemoteModem>,
}

/// One modem of a peer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteModem {
    /// Its id on that node.
    pub id: String,
    /// Its SIM's IMSI.
    pub imsi: Option<String>,
    /// Its SIM's operator (as that node names it).
    pub operator: Option<String>,
    /// Can take a call now (registered, idle, not leased).
    pub free: bool,
}

impl NodeView {
    /// Parses a peer's `OPTIONS` answer body.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let v: Self = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        if v.modems.len() > 4096 {
            return Err("more than 4096 modems".into());
        }
        Ok(v)
    }

    /// The Request-URI of a call forwarded to a peer at `addr` (`#` escaped: it may not
    /// stand in a SIP URI's user part).
    pub fn peer_uri(callee: &str, addr: std::net::SocketAddr) -> String {
        format!("sip:{}@{addr}", callee.replace('#', "%23"))
    }

    /// The id a peer's modem has in this node's routing (`node.modem`).
    pub fn routing_id(node: &str, modem: &str) -> String {
        format!("{node}.{modem}")
    }
}

/// When a peer counts as down or up again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthRule {
    /// Failed checks in a row that take a peer out.
    pub down_after: u32,
    /// Good checks in a row that bring it back.
    pub up_after: u32,
}

/// A peer's health from its `OPTIONS` answers. Starts down: a peer is used once it has
/// answered `up_after` times.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerHealth {
    up: bool,
    fails: u32,
    oks: u32,
}

impl PeerHealth {
    /// Whether the peer is in rotation.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// A check was answered; `Some(true)` when the peer just came up.
    pub fn ok(&mut self, rule: HealthRule) -> Option<bool> {
        self.fails = 0;
        self.oks = self.oks.saturating_add(1);
        (!self.up && self.oks >= rule.up_after.max(1)).then(|| {
            self.up = true;
            true
        })
    }

    /// A check failed (no answer in time, or a bad one); `Some(false)` when the peer
    /// just went down.
    pub fn failed(&mut self, rule: HealthRule) -> Option<bool> {
        self.oks = 0;
        self.fails = self.fails.saturating_add(1);
        (self.up && self.fails >= rule.down_after.max(1)).then(|| {
            self.up = false;
            false
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_take_a_peer_out_and_back() {
        let rule = HealthRule {
            down_after: 2,
            up_after: 2,
        };
        // o: answered, x: failed; the expected changes.
        let cases: [(&str, &[Option<bool>]); 4] = [
            ("oo", &[None, Some(true)]),
            ("ooxx", &[None, Some(true), None, Some(false)]),
            ("ooxoxo", &[None, Some(true), None, None, None, None]),
            (
                "ooxxoxoo",
                &[
                    None,
                    Some(true),
                    None,
                    Some(false),
                    None,
                    None,
                    None,
                    Some(true),
                ],
            ),
        ];
        for (steps, want) in cases {
            let mut h = PeerHealth::default();
            let got: Vec<Option<bool>> = steps
                .chars()
                .map(|c| if c == 'o' { h.ok(rule) } else { h.failed(rule) })
                .collect();
            assert_eq!(got, want, "{steps}");
        }
    }

    #[test]
    fn views_round_trip_and_bad_bodies_are_refused() {
        let v = NodeView {
            node: "b".into(),
            modems: vec![RemoteModem {
                id: "354911021000005".into(),
                imsi: Some("724020001000000".into()),
                operator: Some("TIM".into()),
                free: true,
            }],
        };
        let body = serde_json::to_vec(&v).expect("json");
        assert_eq!(NodeView::parse(&body), Ok(v));
        assert!(NodeView::parse(b"not json").is_err());
        assert!(NodeView::parse(b"{}").is_err());
        assert_eq!(NodeView::routing_id("b", "m1"), "b.m1");
        let addr: std::net::SocketAddr = "127.0.0.3:5060".parse().expect("addr");
        assert_eq!(
            NodeView::peer_uri("+5511912345678", addr),
            "sip:+5511912345678@127.0.0.3:5060"
        );
        assert_eq!(
            NodeView::peer_uri("*100#", addr),
            "sip:*100%23@127.0.0.3:5060"
        );
    }
}
