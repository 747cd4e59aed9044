//! Dialog state (RFC 3261 §12) for the two legs of a B2BUA call, and the requests built
//! from it: BYE, ACK for a 2xx, re-INVITE, and the out-of-dialog INVITE of a new leg.

use super::build::header;
use super::headers::{self, contact_uri, cseq, name_addr_uri, record_route};
use super::{Header, Headers, Method, Peer, Request, Response, Uri, Version};

/// Where our own messages say they come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Local {
    /// `host:port` for Via sent-by (IPv6 in brackets).
    pub sent_by: String,
    /// Transport token for Via.
    pub transport: super::Transport,
    /// Our Contact URI.
    pub contact: String,
}

impl Local {
    fn via(&self, branch: &str) -> Header {
        header(
            "Via",
            format!(
                "SIP/2.0/{} {};branch={branch};rport",
                self.transport, self.sent_by
            ),
        )
    }
}

/// How this gateway addresses itself in SIP, per transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSip {
    /// For UDP.
    pub udp: Option<Local>,
    /// For TCP.
    pub tcp: Option<Local>,
    /// Host written in From and SDP.
    pub host: String,
}

fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

impl LocalSip {
    /// From the bound listeners; `advertise` replaces unspecified addresses.
    pub fn from_listeners(
        advertise: Option<&str>,
        udp: &[std::net::SocketAddr],
        tcp: &[std::net::SocketAddr],
    ) -> Self {
        let pick = |a: &std::net::SocketAddr| -> String {
            match advertise {
                Some(h) => h.to_string(),
                None if a.ip().is_unspecified() => "127.0.0.1".to_string(),
                None => a.ip().to_string(),
            }
        };
        let local = |a: &std::net::SocketAddr, t: super::Transport| {
            let hp = host_port(&pick(a), a.port());
            let contact = match t {
                super::Transport::Udp => format!("sip:e173gw@{hp}"),
                super::Transport::Tcp => format!("sip:e173gw@{hp};transport=tcp"),
            };
            Local {
                sent_by: hp,
                transport: t,
                contact,
            }
        };
        let host = udp
            .first()
            .or(tcp.first())
            .map_or_else(|| "127.0.0.1".to_string(), pick);
        Self {
            udp: udp.first().map(|a| local(a, super::Transport::Udp)),
            tcp: tcp.first().map(|a| local(a, super::Transport::Tcp)),
            host,
        }
    }

    /// Our addressing for a transport (falls back to the other one).
    pub fn for_transport(&self, t: super::Transport) -> Local {
        let (first, second) = match t {
            super::Transport::Udp => (&self.udp, &self.tcp),
            super::Transport::Tcp => (&self.tcp, &self.udp),
        };
        first
            .clone()
            .or_else(|| second.clone())
            .unwrap_or_else(|| Local {
                sent_by: "127.0.0.1:5060".into(),
                transport: t,
                contact: "sip:e173gw@127.0.0.1:5060".into(),
            })
    }
}

/// One side of a dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    /// Call-ID.
    pub call_id: String,
    /// Our tag.
    pub local_tag: String,
    /// The other side's tag.
    pub remote_tag: String,
    /// Our URI as a name-addr value without tag (`<sip:...>`).
    pub local_uri: String,
    /// The other side's name-addr without tag.
    pub remote_uri: String,
    /// Where in-dialog requests are addressed (the other side's Contact).
    pub remote_target: String,
    /// Route set, first hop first.
    pub route_set: Vec<String>,
    /// Our next CSeq.
    pub local_cseq: u32,
    /// Highest CSeq seen from the other side.
    pub remote_cseq: u32,
    /// Where requests are sent.
    pub peer: Peer,
}

fn strip_tag(v: &str) -> String {
    match v
        .find(";tag=")
        .or_else(|| v.to_ascii_lowercase().find(";tag="))
    {
        Some(i) => {
            let rest = &v[i + 5..];
            let end = rest.find(';').map_or(v.len(), |j| i + 5 + j);
            format!("{}{}", &v[..i], &v[end..])
        }
        None => v.to_string(),
    }
}

impl Dialog {
    /// Our side as UAS of an incoming INVITE (the trunk leg). `peer` is where the trunk
    /// sends from: in-dialog requests go there, never to an address the message names.
    pub fn uas(invite: &Request, local_tag: &str, peer: Peer) -> Option<Self> {
        let h = &invite.headers;
        Some(Self {
            call_id: headers::call_id(h)?.to_string(),
            local_tag: local_tag.to_string(),
            remote_tag: headers::from_tag(h)?.to_string(),
            local_uri: strip_tag(headers::to(h)?),
            remote_uri: strip_tag(headers::from(h)?),
            remote_target: contact_uri(h)
                .unwrap_or_else(|| name_addr_uri(headers::from(h).unwrap_or_default()))
                .to_string(),
            route_set: record_route(h),
            local_cseq: 1,
            remote_cseq: cseq(h)?.seq,
            peer,
        })
    }

    /// Our side as UAC, from the INVITE we sent and a response with a To tag.
    pub fn uac(invite: &Request, resp: &Response, peer: Peer) -> Option<Self> {
        let (ih, rh) = (&invite.headers, &resp.headers);
        let mut routes = record_route(rh);
        routes.reverse();
        Some(Self {
            call_id: headers::call_id(ih)?.to_string(),
            local_tag: headers::from_tag(ih)?.to_string(),
            remote_tag: headers::to_tag(rh)?.to_string(),
            local_uri: strip_tag(headers::from(ih)?),
            remote_uri: strip_tag(headers::to(ih)?),
            remote_target: contact_uri(rh).map_or_else(|| invite.uri.to_string(), str::to_string),
            route_set: routes,
            local_cseq: cseq(ih)?.seq,
            remote_cseq: 0,
            peer,
        })
    }

    /// A new request in this dialog (BYE, re-INVITE, UPDATE, INFO...), with the next CSeq.
    pub fn request(&mut self, method: Method, branch: &str, local: &Local) -> Request {
        self.local_cseq += 1;
        self.build(method, self.local_cseq, branch, local)
    }

    /// The ACK for a 2xx to the INVITE with CSeq `invite_cseq`.
    pub fn ack(&self, invite_cseq: u32, branch: &str, local: &Local) -> Request {
        self.build(Method::Ack, invite_cseq, branch, local)
    }

    fn build(&self, method: Method, seq: u32, branch: &str, local: &Local) -> Request {
        let mut h = Headers::default();
        h.push(local.via(branch));
        h.push(header("Max-Forwards", "70"));
        h.push(header(
            "From",
            format!("{};tag={}", self.local_uri, self.local_tag),
        ));
        h.push(header(
            "To",
            format!("{};tag={}", self.remote_uri, self.remote_tag),
        ));
        h.push(header("Call-ID", self.call_id.clone()));
        h.push(header("CSeq", format!("{seq} {method}")));
        for r in &self.route_set {
            h.push(header("Route", r.clone()));
        }
        if matches!(method, Method::Invite | Method::Update) {
            h.push(header("Contact", format!("<{}>", local.contact)));
        }
        h.push(header("Content-Length", "0"));
        Request {
            method,
            uri: parse_uri(&self.remote_target),
            version: Version::V2,
            headers: h,
            body: Vec::new(),
        }
    }

    /// Checks an in-dialog request's CSeq: it must grow (ACK and CANCEL repeat the
    /// INVITE's). Returns false for an out-of-order request (answer 500).
    pub fn accept_remote_cseq(&mut self, method: &Method, seq: u32) -> bool {
        if matches!(method, Method::Ack | Method::Cancel) {
            return true;
        }
        if seq <= self.remote_cseq {
            return false;
        }
        self.remote_cseq = seq;
        true
    }

    /// Updates the remote target from a target-refresh request or response.
    pub fn refresh_target(&mut self, h: &Headers) {
        if let Some(c) = contact_uri(h) {
            self.remote_target = c.to_string();
        }
    }
}

/// Parses a URI we built or copied; falls back to a harmless placeholder that routing
/// never uses (the request goes to the dialog's `peer`).
pub fn parse_uri(s: &str) -> Uri {
    Uri::try_from(s).unwrap_or_else(|_| Uri::try_from("sip:invalid").unwrap_or_default())
}

/// Everything that goes into the INVITE of a new outgoing leg.
#[derive(Debug, Clone)]
pub struct NewLeg<'a> {
    /// Request-URI (the agent's URI).
    pub target: &'a str,
    /// Call-ID of the new leg.
    pub call_id: &'a str,
    /// Our From tag.
    pub from_tag: &'a str,
    /// Caller number or name, for From's user part.
    pub caller: &'a str,
    /// Our host for From.
    pub from_host: &'a str,
    /// Via branch.
    pub branch: &'a str,
    /// Max-Forwards (the incoming value minus one).
    pub max_forwards: u32,
    /// Body (the caller's SDP, relayed) and its type.
    pub body: Option<(&'a str, Vec<u8>)>,
    /// Extra headers (name, value), e.g. why the agent gets the call.
    pub extra: &'a [(String, String)],
}

/// The INVITE of a new leg, CSeq 1.
pub fn new_invite(leg: &NewLeg<'_>, local: &Local) -> Request {
    let mut h = Headers::default();
    h.push(local.via(leg.branch));
    h.push(header("Max-Forwards", leg.max_forwards.to_string()));
    let user: String = leg
        .caller
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "+-_.!~*'()".contains(*c))
        .collect();
    let user = if user.is_empty() {
        "anonymous".to_string()
    } else {
        user
    };
    h.push(header(
        "From",
        format!("<sip:{user}@{}>;tag={}", leg.from_host, leg.from_tag),
    ));
    h.push(header("To", format!("<{}>", leg.target)));
    h.push(header("Call-ID", leg.call_id));
    h.push(header("CSeq", "1 INVITE"));
    h.push(header("Contact", format!("<{}>", local.contact)));
    h.push(header("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE"));
    for (n, v) in leg.extra {
        let v: String = v.chars().filter(|c| !c.is_control()).collect();
        h.push(header(n, v));
    }
    let mut body = Vec::new();
    match &leg.body {
        Some((ct, b)) => super::build::set_body(&mut h, &mut body, ct, b.clone()),
        None => h.push(header("Content-Length", "0")),
    }
    Request {
        method: Method::Invite,
        uri: parse_uri(leg.target),
        version: Version::V2,
        headers: h,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> Local {
        Local {
            sent_by: "127.0.0.1:5060".into(),
            transport: super::super::Transport::Udp,
            contact: "sip:gw@127.0.0.1:5060".into(),
        }
    }

    fn peer() -> Peer {
        Peer {
            addr: "127.0.0.1:5070".parse().unwrap(),
            transport: super::super::Transport::Udp,
        }
    }

    #[test]
    fn uas_dialog_builds_bye_to_the_trunk() {
        let inv = Request::try_from(
            "INVITE sip:100@gw SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\nFrom: \"A\" <sip:a@t>;tag=ft\r\n\
             To: <sip:100@gw>\r\nCall-ID: c1\r\nCSeq: 5 INVITE\r\nContact: <sip:a@127.0.0.1:5070>\r\n\
             Record-Route: <sip:p1;lr>, <sip:p2;lr>\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap();
        let mut d = Dialog::uas(&inv, "lt", peer()).unwrap();
        assert_eq!(d.remote_cseq, 5);
        assert_eq!(d.route_set, vec!["<sip:p1;lr>", "<sip:p2;lr>"]);
        let bye = d.request(Method::Bye, "z9hG4bKb", &local());
        let text = String::from_utf8(bye.to_bytes()).unwrap();
        assert!(
            text.starts_with("BYE sip:a@127.0.0.1:5070 SIP/2.0\r\n"),
            "{text}"
        );
        assert!(text.contains("From: <sip:100@gw>;tag=lt\r\n"), "{text}");
        assert!(text.contains("To: \"A\" <sip:a@t>;tag=ft\r\n"), "{text}");
        assert!(text.contains("CSeq: 2 BYE\r\n"));
        assert!(text.contains("Route: <sip:p1;lr>\r\nRoute: <sip:p2;lr>\r\n"));
        assert!(!d.accept_remote_cseq(&Method::Bye, 5));
        assert!(d.accept_remote_cseq(&Method::Bye, 6));
        assert!(d.accept_remote_cseq(&Method::Ack, 1));
    }

    #[test]
    fn uac_dialog_from_invite_and_200() {
        let extra = vec![("X-E173GW-Reason".to_string(), "no modem\r\n".to_string())];
        let inv = new_invite(
            &NewLeg {
                target: "sip:agent@127.0.0.1:5070",
                call_id: "b2",
                from_tag: "bt",
                caller: "+5511 (9)",
                from_host: "127.0.0.1",
                branch: "z9hG4bKi",
                max_forwards: 69,
                body: Some(("application/sdp", b"v=0\r\n".to_vec())),
                extra: &extra,
            },
            &local(),
        );
        let text = String::from_utf8(inv.to_bytes()).unwrap();
        assert!(
            text.contains("From: <sip:+5511(9)@127.0.0.1>;tag=bt\r\n"),
            "{text}"
        );
        assert!(text.contains("X-E173GW-Reason: no modem\r\n"), "{text}");
        assert!(
            text.contains("Content-Length: 5\r\n") && text.ends_with("\r\n\r\nv=0\r\n"),
            "{text}"
        );
        let ok = Response::try_from(
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKi\r\nFrom: <sip:x@127.0.0.1>;tag=bt\r\n\
             To: <sip:agent@127.0.0.1:5070>;tag=at\r\nCall-ID: b2\r\nCSeq: 1 INVITE\r\nContact: <sip:agent@127.0.0.1:5071>\r\n\
             Record-Route: <sip:r1;lr>, <sip:r2;lr>\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap();
        let mut d = Dialog::uac(&inv, &ok, peer()).unwrap();
        assert_eq!(d.route_set, vec!["<sip:r2;lr>", "<sip:r1;lr>"]);
        let ack = String::from_utf8(d.ack(1, "z9hG4bKa", &local()).to_bytes()).unwrap();
        assert!(
            ack.starts_with("ACK sip:agent@127.0.0.1:5071 SIP/2.0\r\n")
                && ack.contains("CSeq: 1 ACK\r\n"),
            "{ack}"
        );
        let bye =
            String::from_utf8(d.request(Method::Bye, "z9hG4bKc", &local()).to_bytes()).unwrap();
        assert!(
            bye.contains("CSeq: 2 BYE\r\n")
                && bye.contains("To: <sip:agent@127.0.0.1:5070>;tag=at\r\n"),
            "{bye}"
        );
    }

    #[test]
    fn strip_tag_keeps_other_params() {
        assert_eq!(strip_tag("<sip:a@b>;tag=1;x=2"), "<sip:a@b>;x=2");
        assert_eq!(strip_tag("<sip:a@b>;tag=1"), "<sip:a@b>");
        assert_eq!(strip_tag("<sip:a@b>"), "<sip:a@b>");
    }
}
