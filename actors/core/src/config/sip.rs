//! `[sip]`, `[[trunk]]`, `[agent]`, `[media]`, `[records]` and `[routing]`: the SIP side.

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use super::Problem;
use crate::sip::Transport;

/// `[sip]`: listeners, timers, limits and what to do with strangers.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SipConfig {
    /// Listeners as `udp:<addr>:<port>` or `tcp:<addr>:<port>` (IPv6 in brackets:
    /// `udp:[::1]:5060`). Port 0 picks a free port (tests).
    pub listen: Vec<String>,
    /// Host (IP or name) written in our Via, Contact and SDP when a listener is bound to
    /// an unspecified address. Default: the listener's address, or 127.0.0.1.
    pub advertise: Option<String>,
    /// Short name of this node in branches and Call-IDs (loop detection, several nodes).
    pub node_id: String,
    /// RFC 3261 T1 (round-trip estimate), milliseconds.
    pub t1_ms: u64,
    /// RFC 3261 T2 (longest retransmission interval), milliseconds.
    pub t2_ms: u64,
    /// RFC 3261 T4 (how long a message may stay in the network), milliseconds.
    pub t4_ms: u64,
    /// Largest message accepted, bytes.
    pub max_message_bytes: usize,
    /// Largest header part accepted, bytes.
    pub max_header_bytes: usize,
    /// Largest body accepted, bytes.
    pub max_body_bytes: usize,
    /// Requests from a source no trunk allows: `reject` (403) or `drop` (silence).
    pub unknown_source: UnknownSource,
    /// Longest call, seconds; then both legs get BYE.
    pub max_call_duration_s: u64,
    /// Per-source flood limit for every source, trunk or not: requests per second.
    pub flood_rate: u32,
    /// Per-source flood limit: burst size.
    pub flood_burst: u32,
    /// Status for an INVITE whose callee is not a number a modem can dial
    /// (`sip:alice@host`): 484 (Address Incomplete) or 404 (Not Found). Answered before
    /// the call takes a modem or an RTP port.
    pub undialable_status: u16,
    /// Value of `Server` (responses) and `User-Agent` (requests) the gateway sends; empty
    /// sends neither. Sources no trunk allows never see it.
    pub user_agent: String,
}

impl Default for SipConfig {
    fn default() -> Self {
        Self {
            listen: vec!["udp:0.0.0.0:5060".into(), "tcp:0.0.0.0:5060".into()],
            advertise: None,
            node_id: "n1".into(),
            t1_ms: 500,
            t2_ms: 4000,
            t4_ms: 5000,
            max_message_bytes: 65_535,
            max_header_bytes: 16 * 1024,
            max_body_bytes: 32 * 1024,
            unknown_source: UnknownSource::Reject,
            max_call_duration_s: 3600,
            flood_rate: 200,
            flood_burst: 400,
            undialable_status: 484,
            user_agent: "e173gw".into(),
        }
    }
}

/// What happens to requests from sources no trunk allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownSource {
    /// Answer 403 Forbidden.
    Reject,
    /// Send nothing.
    Drop,
}

/// A parsed listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listen {
    /// Transport.
    pub transport: Transport,
    /// Address and port.
    pub addr: SocketAddr,
}

/// Parses `udp:1.2.3.4:5060` / `tcp:[::1]:5060`.
pub fn parse_listen(s: &str) -> Result<Listen, String> {
    let (t, addr) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?} is not transport:address:port"))?;
    let transport = match t.to_ascii_lowercase().as_str() {
        "udp" => Transport::Udp,
        "tcp" => Transport::Tcp,
        other => return Err(format!("transport {other:?} is not udp or tcp")),
    };
    let addr: SocketAddr = addr
        .parse()
        .map_err(|_| format!("{addr:?} is not address:port"))?;
    Ok(Listen { transport, addr })
}

/// `[[trunk]]`: a carrier allowed to send calls.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrunkConfig {
    /// Name in logs, records and metrics.
    pub name: String,
    /// Source addresses or CIDRs allowed (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`).
    pub sources: Vec<String>,
    /// Digest credentials the trunk must present (optional).
    #[serde(default)]
    pub auth: Option<TrunkAuth>,
    /// The trunk registers to us (REGISTER accepted with digest auth).
    #[serde(default)]
    pub register: bool,
    /// Most concurrent calls (0 = no limit).
    #[serde(default)]
    pub max_calls: u32,
    /// Most new calls per second (0 = no limit).
    #[serde(default)]
    pub max_cps: u32,
    /// Where this trunk's calls go: `modems` (routed by `[routing]`; the agent when no SIM
    /// can take the call and `routing.agent_when_no_modem`) or `agent`.
    #[serde(default)]
    pub target: Target,
    /// The trunk is a peer e173gw node: its calls name the SIM they are for
    /// (`X-E173GW-Modem`), and they are never sent on to another peer.
    #[serde(default)]
    pub peer: bool,
}

/// Digest credentials.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrunkAuth {
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
    /// Algorithms offered, in order: `MD5`, `SHA-256`.
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<String>,
    /// Nonce lifetime, seconds.
    #[serde(default = "default_nonce_ttl")]
    pub nonce_ttl_s: u64,
}

fn default_algorithms() -> Vec<String> {
    vec!["SHA-256".into(), "MD5".into()]
}

fn default_nonce_ttl() -> u64 {
    300
}

/// Where a trunk's calls go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// A modem.
    #[default]
    Modems,
    /// The AI voice agent.
    Agent,
}

/// `[agent]`: the AI voice agent calls can be sent to.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentConfig {
    /// Its SIP URI, e.g. `sip:agent@127.0.0.1:5070` (empty: no agent).
    pub uri: String,
    /// Transport to reach it.
    pub transport: TransportName,
    /// Seconds the agent may ring before the call is cancelled (480 to the caller).
    pub answer_timeout_s: u64,
    /// Screen the number of a transfer the agent asks for (REFER) like a new call's callee;
    /// off: the agent's word is trusted, the number only routed.
    pub screen_transfers: bool,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            uri: String::new(),
            transport: TransportName::Udp,
            answer_timeout_s: 60,
            screen_transfers: false,
        }
    }
}

/// A transport by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportName {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
}

impl From<TransportName> for Transport {
    fn from(t: TransportName) -> Self {
        match t {
            TransportName::Udp => Transport::Udp,
            TransportName::Tcp => Transport::Tcp,
        }
    }
}

/// `[media]`: RTP for calls bridged to modems.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// Address RTP sockets bind to.
    pub bind: IpAddr,
    /// Address written in SDP (default: `bind`, or the SIP advertise host).
    pub advertise: Option<IpAddr>,
    /// First RTP port (even).
    pub port_min: u16,
    /// Last RTP port.
    pub port_max: u16,
    /// Jitter buffer target depth, frames of 20 ms.
    pub jitter_frames: usize,
    /// One side silent (no RTP, or silence) this long after answer while the other
    /// talks is one-way audio: logged, counted and kept in the record. 0 turns it off.
    pub one_way_audio_s: u64,
    /// How often RTCP reports go to the trunk (RTP port + 1), s; 0 sends none.
    pub rtcp_interval_s: u64,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            bind: IpAddr::from([0, 0, 0, 0]),
            advertise: None,
            port_min: 20_000,
            port_max: 29_999,
            jitter_frames: 3,
            one_way_audio_s: 15,
            rtcp_interval_s: 5,
        }
    }
}

/// `[records]`: where call records go until the storage adapters exist.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecordsConfig {
    /// Append one JSON line per call to this file.
    pub jsonl_path: Option<std::path::PathBuf>,
    /// Also log each record (one JSON line at info level).
    pub log: bool,
}

impl Default for RecordsConfig {
    fn default() -> Self {
        Self {
            jsonl_path: None,
            log: true,
        }
    }
}

pub use super::routing::RoutingConfig;

/// Checks the SIP side.
pub fn validate(
    sip: &SipConfig,
    trunks: &[TrunkConfig],
    agent: &AgentConfig,
    media: &MediaConfig,
) -> Vec<Problem> {
    let mut p = Vec::new();
    if sip.listen.is_empty() {
        p.push(Problem::new(
            "sip.listen",
            "at least one listener is needed",
        ));
    }
    for (i, l) in sip.listen.iter().enumerate() {
        if let Err(e) = parse_listen(l) {
            p.push(Problem::new(format!("sip.listen[{i}]"), e));
        }
    }
    if !(1..=60).contains(&sip.node_id.len())
        || !sip
            .node_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        p.push(Problem::new(
            "sip.node_id",
            "1 to 60 letters, digits or '-'",
        ));
    }
    if sip.t1_ms == 0 || sip.t2_ms < sip.t1_ms || sip.t4_ms == 0 {
        p.push(Problem::new(
            "sip.t1_ms",
            "need 0 < t1_ms <= t2_ms and t4_ms > 0",
        ));
    }
    if sip.max_message_bytes < 1024
        || sip.max_header_bytes < 512
        || sip.max_header_bytes > sip.max_message_bytes
    {
        p.push(Problem::new(
            "sip.max_header_bytes",
            "need 512 <= max_header_bytes <= max_message_bytes (>= 1024)",
        ));
    }
    if sip.max_call_duration_s == 0 {
        p.push(Problem::new(
            "sip.max_call_duration_s",
            "must be greater than zero",
        ));
    }
    if sip.flood_rate == 0 || sip.flood_burst < sip.flood_rate {
        p.push(Problem::new(
            "sip.flood_burst",
            "need flood_rate > 0 and flood_burst >= flood_rate",
        ));
    }
    if sip.user_agent.len() > 128 || sip.user_agent.chars().any(|c| c.is_control()) {
        p.push(Problem::new(
            "sip.user_agent",
            "at most 128 printable characters",
        ));
    }
    if !matches!(sip.undialable_status, 404 | 484) {
        p.push(Problem::new("sip.undialable_status", "must be 404 or 484"));
    }
    let mut names = std::collections::HashSet::new();
    for (i, t) in trunks.iter().enumerate() {
        let key = |k: &str| format!("trunk[{i}].{k}");
        if t.name.is_empty() || !names.insert(t.name.clone()) {
            p.push(Problem::new(key("name"), "must be non-empty and unique"));
        }
        if t.sources.is_empty() {
            p.push(Problem::new(key("sources"), "at least one address or CIDR"));
        }
        for (j, s) in t.sources.iter().enumerate() {
            if let Err(e) = crate::sip::acl::Cidr::parse(s) {
                p.push(Problem::new(format!("trunk[{i}].sources[{j}]"), e));
            }
        }
        if let Some(a) = &t.auth {
            if a.username.is_empty() || a.password.is_empty() {
                p.push(Problem::new(
                    key("auth"),
                    "username and password must not be empty",
                ));
            }
            if a.algorithms.is_empty()
                || a.algorithms
                    .iter()
                    .any(|x| !matches!(x.as_str(), "MD5" | "SHA-256"))
            {
                p.push(Problem::new(
                    key("auth.algorithms"),
                    "a non-empty list of \"MD5\" and \"SHA-256\"",
                ));
            }
        }
        if t.register && t.auth.is_none() {
            p.push(Problem::new(
                key("register"),
                "a registering trunk needs auth credentials",
            ));
        }
        if t.target == Target::Agent && agent.uri.is_empty() {
            p.push(Problem::new(key("target"), "\"agent\" needs agent.uri"));
        }
    }
    if agent.answer_timeout_s == 0 {
        p.push(Problem::new(
            "agent.answer_timeout_s",
            "must be greater than zero",
        ));
    }
    if !agent.uri.is_empty() && crate::sip::headers::uri_target(&agent.uri).is_none() {
        p.push(Problem::new(
            "agent.uri",
            "must be sip:[user@]host[:port] with a literal IP address",
        ));
    }
    if media.port_min < 1024 || media.port_max < media.port_min.saturating_add(1) {
        p.push(Problem::new(
            "media.port_min",
            "need 1024 <= port_min < port_max",
        ));
    }
    if !(1..=20).contains(&media.jitter_frames) {
        p.push(Problem::new(
            "media.jitter_frames",
            "must be between 1 and 20",
        ));
    }
    if media.one_way_audio_s > 3600 {
        p.push(Problem::new(
            "media.one_way_audio_s",
            "must be 0 (off) to 3600",
        ));
    }
    if media.rtcp_interval_s > 60 {
        p.push(Problem::new(
            "media.rtcp_interval_s",
            "must be 0 (off) to 60",
        ));
    }
    p
}
