//! Sockets: UDP receive loops, TCP listeners and connections. Bytes come to the ingress
//! actor as messages; the actor sends UDP directly and TCP through per-connection writers.

use std::net::SocketAddr;
use std::sync::Arc;

use actix::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tracing::debug;

use e173gw_core::sip::framing::{Limits, StreamFramer};

/// A datagram arrived.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub(crate) struct Datagram {
    pub(crate) from: SocketAddr,
    pub(crate) bytes: Vec<u8>,
}

/// A whole message arrived on a TCP connection.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub(crate) struct StreamMessage {
    pub(crate) from: SocketAddr,
    pub(crate) bytes: Vec<u8>,
}

/// A TCP connection is up; `tx` writes to it.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub(crate) struct ConnOpened {
    pub(crate) peer: SocketAddr,
    pub(crate) tx: mpsc::UnboundedSender<Vec<u8>>,
}

/// A TCP connection closed (or could not be opened, or sent bad framing).
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub(crate) struct ConnClosed {
    pub(crate) peer: SocketAddr,
    pub(crate) reason: String,
}

/// Binds a UDP socket with large buffers (bursts of thousands of messages per second
/// must not overflow the kernel queue while the actor is busy).
pub(crate) fn bind_udp(addr: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    let _ = s.set_recv_buffer_size(8 << 20);
    let _ = s.set_send_buffer_size(4 << 20);
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    Ok(s.into())
}

/// Binds a TCP listener.
pub(crate) fn bind_tcp(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    s.listen(1024)?;
    Ok(s.into())
}

/// Receives datagrams until the socket fails.
pub(crate) fn spawn_udp_reader<A>(
    sock: Arc<UdpSocket>,
    addr: Addr<A>,
) -> tokio::task::JoinHandle<()>
where
    A: Actor<Context = Context<A>> + Handler<Datagram>,
{
    actix::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        loop {
            match sock.recv_from(&mut buf).await {
                Ok((n, from)) => addr.do_send(Datagram {
                    from,
                    bytes: buf[..n].to_vec(),
                }),
                Err(e) => {
                    // ICMP port-unreachable from an earlier send shows up here on some
                    // systems; it is not fatal for a listening socket.
                    debug!(error = %e, "UDP receive error.");
                }
            }
        }
    })
}

/// Accepts TCP connections and serves each.
pub(crate) fn spawn_tcp_listener<A>(
    listener: TcpListener,
    limits: Limits,
    addr: Addr<A>,
) -> tokio::task::JoinHandle<()>
where
    A: Actor<Context = Context<A>>
        + Handler<StreamMessage>
        + Handler<ConnOpened>
        + Handler<ConnClosed>,
{
    actix::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => serve_connection(stream, peer, limits, addr.clone()),
                Err(e) => {
                    debug!(error = %e, "TCP accept error.");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    })
}

/// Connects to `peer` and serves the connection (outgoing TCP, e.g. to the agent).
pub(crate) fn spawn_connect<A>(peer: SocketAddr, limits: Limits, addr: Addr<A>)
where
    A: Actor<Context = Context<A>>
        + Handler<StreamMessage>
        + Handler<ConnOpened>
        + Handler<ConnClosed>,
{
    actix::spawn(async move {
        match tokio::time::timeout(std::time::Duration::from_secs(5), TcpStream::connect(peer))
            .await
        {
            Ok(Ok(stream)) => serve_connection(stream, peer, limits, addr),
            Ok(Err(e)) => addr.do_send(ConnClosed {
                peer,
                reason: format!("connect: {e}"),
            }),
            Err(_) => addr.do_send(ConnClosed {
                peer,
                reason: "connect timed out".into(),
            }),
        }
    });
}

fn serve_connection<A>(stream: TcpStream, peer: SocketAddr, limits: Limits, addr: Addr<A>)
where
    A: Actor<Context = Context<A>>
        + Handler<StreamMessage>
        + Handler<ConnOpened>
        + Handler<ConnClosed>,
{
    let _ = stream.set_nodelay(true);
    let (mut r, mut w) = stream.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    addr.do_send(ConnOpened { peer, tx });
    actix::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if w.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    actix::spawn(async move {
        let mut framer = StreamFramer::new(limits);
        let mut buf = vec![0u8; 16 * 1024];
        let reason = loop {
            match r.read(&mut buf).await {
                Ok(0) => break "closed by peer".to_string(),
                Ok(n) => {
                    framer.push(&buf[..n]);
                    loop {
                        match framer.next_message() {
                            Ok(Some(bytes)) => addr.do_send(StreamMessage { from: peer, bytes }),
                            Ok(None) => break,
                            Err(e) => {
                                addr.do_send(ConnClosed {
                                    peer,
                                    reason: format!("bad framing: {e}"),
                                });
                                return;
                            }
                        }
                    }
                }
                Err(e) => break e.to_string(),
            }
        };
        addr.do_send(ConnClosed { peer, reason });
    });
}
