//! `[[peer]]`: other e173gw nodes on the same PostgreSQL and Redis whose SIMs this node
//! may route calls to. Each is checked with SIP `OPTIONS`.

use serde::{Deserialize, Serialize};

use super::Problem;
use crate::routing::node::HealthRule;

/// One peer node.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// Its node id (its `sip.node_id`).
    pub name: String,
    /// Its SIP address, e.g. `sip:10.0.0.2:5060` (UDP; a literal IP).
    pub uri: String,
    /// Time between two checks, ms.
    #[serde(default = "interval")]
    pub options_interval_ms: u64,
    /// How long a check waits for the answer, ms.
    #[serde(default = "timeout")]
    pub timeout_ms: u64,
    /// Failed checks in a row that take the peer out of rotation.
    #[serde(default = "two")]
    pub down_after: u32,
    /// Good checks in a row that bring it back.
    #[serde(default = "two")]
    pub up_after: u32,
}

fn interval() -> u64 {
    150
}
fn timeout() -> u64 {
    250
}
fn two() -> u32 {
    2
}

impl PeerConfig {
    /// The up/down thresholds.
    pub fn rule(&self) -> HealthRule {
        HealthRule {
            down_after: self.down_after,
            up_after: self.up_after,
        }
    }
}

/// Checks the peers; `node_id` is this node's.
pub fn validate(peers: &[PeerConfig], node_id: &str) -> Vec<Problem> {
    let mut p = Vec::new();
    for (i, c) in peers.iter().enumerate() {
        let key = |k: &str| format!("peer[{i}].{k}");
        if c.name.is_empty()
            || c.name == node_id
            || peers[..i].iter().any(|o| o.name == c.name)
            || !c
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
        {
            p.push(Problem::new(
                key("name"),
                "must be a unique node id of [A-Za-z0-9_-], not this node's sip.node_id",
            ));
        }
        if crate::sip::headers::uri_target(&c.uri).is_none() {
            p.push(Problem::new(key("uri"), "must be sip:<ip>:<port>"));
        }
        if !(20..=60_000).contains(&c.options_interval_ms) {
            p.push(Problem::new(
                key("options_interval_ms"),
                "must be 20..=60000",
            ));
        }
        if !(20..=10_000).contains(&c.timeout_ms) {
            p.push(Problem::new(key("timeout_ms"), "must be 20..=10000"));
        }
        if c.down_after == 0 || c.up_after == 0 {
            p.push(Problem::new(
                key("down_after"),
                "down_after and up_after must be at least 1",
            ));
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_are_checked_key_by_key() {
        #[derive(Deserialize)]
        struct W {
            peer: Vec<PeerConfig>,
        }
        let w: W = toml::from_str(
            r#"
            [[peer]]
            name = "b"
            uri = "sip:127.0.0.2:5060"
            [[peer]]
            name = "b"
            uri = "sip:nohost"
            options_interval_ms = 5
            [[peer]]
            name = "n1"
            uri = "sip:127.0.0.3:5060"
            down_after = 0
            "#,
        )
        .expect("parses");
        assert_eq!(w.peer[0].options_interval_ms, 150);
        let keys: Vec<String> = validate(&w.peer, "n1").into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "peer[1].name",
                "peer[1].uri",
                "peer[1].options_interval_ms",
                "peer[2].name",
                "peer[2].down_after",
            ]
        );
        assert!(validate(&w.peer[..1], "n1").is_empty());
    }
}
