//! A remote gateway: a peer e173gw node, checked with SIP `OPTIONS` every
//! `options_interval_ms`. Its `200` carries its modems ([`NodeView`]); thresholds
//! ([`PeerHealth`]) turn answers and silences into up and down, and every check's result
//! goes to the router. With the defaults (150 ms between checks, 250 ms to answer, down
//! after 2 misses) a dead peer is out of rotation within 1 s.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tokio::net::UdpSocket;
use tracing::{debug, warn};

use e173gw_core::config::peer::PeerConfig;
use e173gw_core::routing::node::{NodeView, PeerHealth, NODE_VIEW_TYPE};
use e173gw_core::routing::AgentTarget;
use e173gw_core::sip::{Peer, Transport};

use crate::routing::PeerUpdate;

/// The remote gateway actor.
pub struct PeerGateway {
    cfg: PeerConfig,
    node_id: String,
    addr: SocketAddr,
    router: Recipient<PeerUpdate>,
    /// This node's SIP address, the checks' source (peers answer their view only to a
    /// `peer` trunk).
    bind: std::net::IpAddr,
    health: PeerHealth,
    cseq: u32,
    socket: Option<Arc<UdpSocket>>,
    view: NodeView,
}

impl std::fmt::Debug for PeerGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerGateway")
            .field("peer", &self.cfg.name)
            .field("up", &self.health.is_up())
            .finish()
    }
}

/// Why a check failed.
#[derive(Debug, thiserror::Error)]
enum CheckError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("answered {0}")]
    Status(u16),
    #[error("bad answer: {0}")]
    Bad(String),
}

impl PeerGateway {
    /// A checker of peer `cfg` for node `node_id`, sending from `bind` (this node's SIP
    /// address); `None` if the URI has no address (config validation refuses that).
    pub fn new(
        cfg: PeerConfig,
        node_id: String,
        bind: std::net::IpAddr,
        router: Recipient<PeerUpdate>,
    ) -> Option<Self> {
        let addr = e173gw_core::sip::headers::uri_target(&cfg.uri)?;
        Some(Self {
            cfg,
            node_id,
            addr,
            router,
            bind,
            health: PeerHealth::default(),
            cseq: 0,
            socket: None,
            view: NodeView::default(),
        })
    }

    fn target(&self) -> AgentTarget {
        AgentTarget {
            uri: self.cfg.uri.clone(),
            peer: Peer {
                addr: self.addr,
                transport: Transport::Udp,
            },
            answer_timeout: crate::routing::PEER_ANSWER,
        }
    }

    fn check(&mut self, ctx: &mut Context<Self>) {
        self.cseq = self.cseq.wrapping_add(1);
        let (cseq, peer, node) = (self.cseq, self.addr, self.node_id.clone());
        let timeout = Duration::from_millis(self.cfg.timeout_ms);
        let socket = self.socket.clone();
        let expect = self.cfg.name.clone();
        let bind = SocketAddr::new(self.bind, 0);
        async move {
            let socket = match socket {
                Some(s) => s,
                None => Arc::new(UdpSocket::bind(bind).await?),
            };
            let started = tokio::time::Instant::now();
            let result = options_round(&socket, peer, &node, cseq, timeout).await;
            let rtt = started.elapsed();
            let view = result.and_then(|v| {
                if v.node == expect {
                    Ok(v)
                } else {
                    Err(CheckError::Bad(format!(
                        "node id {:?}, expected {expect:?}",
                        v.node
                    )))
                }
            });
            Ok::<_, CheckError>((socket, view, rtt))
        }
        .into_actor(self)
        .map(|res, act, ctx| {
            let (ok, rtt) = match res {
                Ok((socket, view, rtt)) => {
                    act.socket = Some(socket);
                    match view {
                        Ok(v) => {
                            act.view = v;
                            (true, Some(rtt.as_millis() as u64))
                        }
                        Err(e) => {
                            debug!(peer = %act.cfg.name, error = %e, "Peer check failed.");
                            (false, None)
                        }
                    }
                }
                Err(e) => {
                    warn!(peer = %act.cfg.name, error = %e, "Peer check not sent.");
                    (false, None)
                }
            };
            let rule = act.cfg.rule();
            if ok {
                act.health.ok(rule);
            } else {
                act.health.failed(rule);
            }
            let _ = act.router.try_send(PeerUpdate {
                node: act.cfg.name.clone(),
                up: act.health.is_up(),
                target: act.target(),
                view: act.view.clone(),
                rtt_ms: rtt,
            });
            let next = Duration::from_millis(act.cfg.options_interval_ms);
            ctx.run_later(next, |act, ctx| act.check(ctx));
        })
        .spawn(ctx);
    }
}

/// One `OPTIONS` to the peer and its answer's node view.
async fn options_round(
    socket: &UdpSocket,
    peer: SocketAddr,
    node: &str,
    cseq: u32,
    timeout: Duration,
) -> Result<NodeView, CheckError> {
    let local = socket.local_addr()?;
    let call_id = format!("peer-check-{node}-{}", local.port());
    let branch = format!("z9hG4bKpc{cseq:x}{}", local.port());
    let req = format!(
        "OPTIONS sip:{peer} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={branch};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:{node}@{local}>;tag=pc{}\r\nTo: <sip:{peer}>\r\n\
         Call-ID: {call_id}\r\nCSeq: {cseq} OPTIONS\r\nAccept: {NODE_VIEW_TYPE}\r\n\
         User-Agent: e173gw\r\nContent-Length: 0\r\n\r\n",
        local.port()
    );
    socket.send_to(req.as_bytes(), peer).await?;
    let deadline = tokio::time::Instant::now() + timeout;
    let mut buf = vec![0u8; 65_536];
    loop {
        let (n, from) = tokio::time::timeout_at(deadline, socket.recv_from(&mut buf))
            .await
            .map_err(|_| CheckError::Timeout(timeout))??;
        if from != peer {
            continue;
        }
        match parse_answer(&buf[..n], cseq) {
            Some(r) => return r,
            None => continue, // an answer to an earlier check, or not an answer
        }
    }
}

/// The node view in a `200` to check `cseq`; `None` for another message.
fn parse_answer(msg: &[u8], cseq: u32) -> Option<Result<NodeView, CheckError>> {
    let split = msg.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&msg[..split]).ok()?;
    let body = &msg[split + 4..];
    let mut lines = head.lines();
    let code: u16 = lines
        .next()?
        .strip_prefix("SIP/2.0 ")?
        .get(..3)?
        .parse()
        .ok()?;
    let matches = lines.any(|l| {
        l.split_once(':').is_some_and(|(n, v)| {
            n.trim().eq_ignore_ascii_case("CSeq")
                && v.trim().eq_ignore_ascii_case(&format!("{cseq} OPTIONS"))
        })
    });
    if !matches {
        return None;
    }
    Some(match code {
        200 => NodeView::parse(body).map_err(CheckError::Bad),
        100..=199 => return None,
        c => Err(CheckError::Status(c)),
    })
}

impl Actor for PeerGateway {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.check(ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_matched_to_their_check() {
        let ok = b"SIP/2.0 200 OK\r\nCSeq: 7 OPTIONS\r\nContent-Length: 25\r\n\r\n{\"node\":\"b\",\"modems\":[]}";
        let v = parse_answer(ok, 7).expect("an answer").expect("a view");
        assert_eq!(v.node, "b");
        assert!(parse_answer(ok, 8).is_none(), "an answer to another check");
        let busy = b"SIP/2.0 503 Busy\r\nCSeq: 7 OPTIONS\r\n\r\n";
        assert!(matches!(
            parse_answer(busy, 7),
            Some(Err(CheckError::Status(503)))
        ));
        let empty = b"SIP/2.0 200 OK\r\nCSeq: 7 OPTIONS\r\n\r\n";
        assert!(matches!(
            parse_answer(empty, 7),
            Some(Err(CheckError::Bad(_)))
        ));
        assert!(parse_answer(b"garbage", 7).is_none());
        assert!(parse_answer(b"OPTIONS sip:x SIP/2.0\r\nCSeq: 7 OPTIONS\r\n\r\n", 7).is_none());
    }
}
