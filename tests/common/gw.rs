//! A gateway process with simulated modems, SIPp runs against it, and what it recorded.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use std::time::{Duration, Instant};

use serde_json::Value;

use super::sipp::sipp;
use super::{root, Running};

/// How to start a gateway for a test.
#[derive(Debug, Clone)]
pub struct Options {
    /// Simulated modems.
    pub modems: usize,
    /// Simulator scenario (TOML text).
    pub scenario: Option<String>,
    /// Sources of the test trunk.
    pub trunk_sources: String,
    /// Extra TOML appended to the config.
    pub extra: String,
    /// Also listen on TCP.
    pub tcp: bool,
    /// The trunk's target: "modems" or "agent".
    pub target: String,
    /// Environment overrides.
    pub env: Vec<(String, String)>,
    /// The UDP SIP listener (`ip:port`; port 0 picks one).
    pub udp_listen: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            modems: 2,
            scenario: None,
            trunk_sources: "\"127.0.0.0/8\"".into(),
            extra: String::new(),
            tcp: false,
            target: "modems".into(),
            env: Vec::new(),
            udp_listen: "127.0.0.1:0".into(),
        }
    }
}

/// A running gateway.
pub struct Gateway {
    pub run: Running,
    pub dir: tempfile::TempDir,
    pub udp: SocketAddr,
    pub tcp: Option<SocketAddr>,
    pub sim_dir: PathBuf,
    pub records_path: PathBuf,
    /// The operations HTTP server.
    pub http: SocketAddr,
    env: Vec<(String, String)>,
    modems: usize,
}

fn http_addr(seen: &[String]) -> SocketAddr {
    seen.iter()
        .filter(|l| l.contains("HTTP server ready"))
        .find_map(|l| addr_of(l))
        .expect("HTTP server address in the log")
}

fn addr_of(line: &str) -> Option<SocketAddr> {
    let v: Value = serde_json::from_str(line).ok()?;
    v.get("addr")?.as_str()?.parse().ok()
}

impl Gateway {
    pub fn start(o: Options) -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path();
        let sim_dir = d.join("sim");
        let records_path = d.join("records.jsonl");
        let scenario = match &o.scenario {
            Some(text) => {
                let p = d.join("scenario.toml");
                std::fs::write(&p, text).expect("scenario");
                format!("scenario = \"{}\"\n", p.display())
            }
            None => String::new(),
        };
        let listen = if o.tcp {
            format!("[\"udp:{}\", \"tcp:127.0.0.1:0\"]", o.udp_listen)
        } else {
            format!("[\"udp:{}\"]", o.udp_listen)
        };
        let text = format!(
            r#"
[log]
level = "info"
[sip]
listen = {listen}
[[trunk]]
name = "test"
sources = [{sources}]
target = "{target}"
[records]
jsonl_path = "{records}"
log = false
[media]
bind = "127.0.0.1"
[http]
listen = "127.0.0.1:0"
[modems]
profiles_dir = "{profiles}"
[modems.discovery]
mode = "glob"
at_glob = "{sim}/*.at"
scan_interval_ms = 200
[sim]
enabled = {sim_on}
dir = "{sim}"
count = {count}
orig_ms = 50
conf_ms = 150
answer_after_ms = 300
ring_ms = 1500
fail_after_ms = 100
rssi_interval_ms = 2000
{scenario}
{extra}
"#,
            sources = o.trunk_sources,
            target = o.target,
            records = records_path.display(),
            profiles = root().join("modem-profiles").display(),
            sim = sim_dir.display(),
            sim_on = o.modems > 0,
            count = o.modems.max(1),
            extra = o.extra,
        );
        let cfg = d.join("gw.toml");
        std::fs::write(&cfg, text).expect("config");
        let env: Vec<(&str, &str)> = o
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut run = Running::start(&["run", "--config", cfg.to_str().expect("utf8")], &env);
        run.wait_for(
            "SIP listener ready.",
            if o.tcp { 2 } else { 1 },
            Duration::from_secs(30),
        );
        let udp = run
            .seen
            .iter()
            .filter(|l| l.contains("SIP listener ready.") && l.contains("\"udp\""))
            .find_map(|l| addr_of(l))
            .expect("udp addr");
        run.wait_for("HTTP server ready", 1, Duration::from_secs(10));
        let http = http_addr(&run.seen);
        let tcp = run
            .seen
            .iter()
            .filter(|l| l.contains("SIP listener ready.") && l.contains("\"tcp\""))
            .find_map(|l| addr_of(l));
        if o.modems > 0 {
            run.wait_for("Modem ready.", o.modems, Duration::from_secs(30));
        }
        Self {
            run,
            dir,
            udp,
            tcp,
            sim_dir,
            records_path,
            http,
            env: o.env,
            modems: o.modems,
        }
    }

    /// GET `path` from the HTTP server: (status, body).
    pub fn http_get(&self, path: &str) -> (u16, String) {
        http_get(self.http, path)
    }

    /// One sample of the metrics page (`name` with its labels, as printed).
    pub fn metric(&self, name: &str) -> Option<f64> {
        let (_, body) = self.http_get("/metrics");
        body.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    }

    /// SIGKILL: no shutdown, no flush, as a crash.
    pub fn kill9(&mut self) {
        let _ = self.run.child.kill();
        let _ = self.run.child.wait();
    }

    /// Starts the gateway again on the same config, spool and database; returns the new
    /// process's log lines up to readiness.
    pub fn restart(&mut self) {
        let cfg = self.dir.path().join("gw.toml");
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.run = Running::start(&["run", "--config", cfg.to_str().expect("utf8")], &env);
        self.run
            .wait_for("SIP listener ready.", 1, Duration::from_secs(30));
        self.udp = self
            .run
            .seen
            .iter()
            .filter(|l| l.contains("SIP listener ready.") && l.contains("\"udp\""))
            .find_map(|l| addr_of(l))
            .expect("udp addr");
        self.run
            .wait_for("HTTP server ready", 1, Duration::from_secs(10));
        self.http = http_addr(&self.run.seen);
        if self.modems > 0 {
            self.run
                .wait_for("Modem ready.", self.modems, Duration::from_secs(30));
        }
    }

    /// Every record written so far.
    pub fn records(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.records_path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Waits until at least `n` records exist.
    pub fn wait_records(&self, n: usize, within: Duration) -> Vec<Value> {
        let deadline = Instant::now() + within;
        loop {
            let r = self.records();
            if r.len() >= n || Instant::now() >= deadline {
                return r;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A simulator control command.
    pub fn sim(&self, cmd: &str) -> Value {
        let mut s = UnixStream::connect(self.sim_dir.join("control.sock")).expect("control socket");
        s.set_read_timeout(Some(Duration::from_secs(5))).ok();
        writeln!(s, "{cmd}").expect("write");
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line).expect("read");
        serde_json::from_str(&line).expect("json reply")
    }

    /// Waits until simulated modem `name` has a call up (dialled, ringing or answered).
    pub fn wait_sim_call(&self, name: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let st = self.sim(&format!("status {name}"));
            if !st["modems"][0]["call"].is_null() {
                return;
            }
            assert!(Instant::now() < deadline, "{name} never dialled: {st}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until no simulated modem has a call up.
    pub fn wait_modems_idle(&self, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let st = self.sim("status");
            let busy = st["modems"]
                .as_array()
                .map_or(0, |m| m.iter().filter(|x| !x["call"].is_null()).count());
            if busy == 0 {
                return st;
            }
            assert!(Instant::now() < deadline, "modems still in a call: {st}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A free UDP port on 127.0.0.1 (also free on TCP, checked).
pub fn free_port() -> u16 {
    loop {
        let u = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let port = u.local_addr().expect("addr").port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
            && UdpSocket::bind(("127.0.0.1", port + 2)).is_ok()
        {
            return port;
        }
    }
}

/// A hand-driven SIP client over UDP, for exact sequences SIPp cannot script.
pub struct RawSip {
    pub sock: UdpSocket,
    pub gw: SocketAddr,
}

impl RawSip {
    /// A socket on `127.0.0.1` (or another loopback address) talking to `gw`.
    pub fn new(local_ip: &str, gw: SocketAddr) -> Self {
        let sock = UdpSocket::bind((local_ip, 0)).expect("bind");
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        Self { sock, gw }
    }

    pub fn local(&self) -> SocketAddr {
        self.sock.local_addr().expect("addr")
    }

    pub fn send(&self, text: &str) {
        self.sock.send_to(text.as_bytes(), self.gw).expect("send");
    }

    pub fn send_bytes(&self, b: &[u8]) {
        self.sock.send_to(b, self.gw).expect("send");
    }

    /// Every message received within `within`.
    pub fn recv_for(&self, within: Duration) -> Vec<String> {
        let deadline = Instant::now() + within;
        let mut out = Vec::new();
        let mut buf = [0u8; 65_536];
        while Instant::now() < deadline {
            if let Ok((n, _)) = self.sock.recv_from(&mut buf) {
                out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        }
        out
    }

    /// Receives until a message starts with `prefix` (or panics after `within`).
    pub fn recv_until(&self, prefix: &str, within: Duration) -> (String, Vec<String>) {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        let mut buf = [0u8; 65_536];
        while Instant::now() < deadline {
            if let Ok((n, _)) = self.sock.recv_from(&mut buf) {
                let m = String::from_utf8_lossy(&buf[..n]).into_owned();
                if m.starts_with(prefix) {
                    return (m, seen);
                }
                seen.push(m);
            }
        }
        panic!("no {prefix:?} within {within:?}; got {seen:#?}");
    }
}

/// The strings of a JSON array (a record's `verdict` or `route` lines); none if it is
/// not one.
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// The first line of a message.
pub fn status_line(m: &str) -> &str {
    m.lines().next().unwrap_or_default()
}

/// A header's value in a raw message.
pub fn header<'a>(m: &'a str, name: &str) -> Option<&'a str> {
    m.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// An INVITE from `local` with an SDP offer pointing RTP at `rtp_port`.
pub fn invite(
    local: SocketAddr,
    gw: SocketAddr,
    number: &str,
    call_id: &str,
    branch: &str,
    rtp_port: u16,
) -> String {
    let sdp = format!(
        "v=0\r\no=test 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {rtp_port} RTP/AVP 0 101\r\n\
         a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"
    );
    format!(
        "INVITE sip:{number}@{gw} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={branch};rport\r\nFrom: <sip:5511977776666@{local}>;tag=raw1\r\n\
         To: <sip:{number}@{gw}>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:raw@{local}>\r\nMax-Forwards: 70\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
}

/// An in-dialog request (ACK for 2xx, BYE) after `ok` (the 200 to our INVITE).
pub fn in_dialog(method: &str, cseq: u32, local: SocketAddr, ok: &str, branch: &str) -> String {
    let to = header(ok, "To").unwrap_or_default();
    let call_id = header(ok, "Call-ID").unwrap_or_default();
    let target = header(ok, "Contact")
        .unwrap_or_default()
        .trim_matches(['<', '>'])
        .to_string();
    format!(
        "{method} {target} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={branch};rport\r\nFrom: <sip:5511977776666@{local}>;tag=raw1\r\n\
         To: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
}

impl Gateway {
    /// Runs one SIPp call with scenario `sc` to `number` (plus `args`), asserts SIPp
    /// succeeded, and returns the call's record.
    pub fn one_call(&self, sc: &Path, number: &str, args: &[&str]) -> Value {
        let before = self.records().len();
        let mut all = vec!["-sf", sc.to_str().expect("utf8"), "-s", number, "-m", "1"];
        all.extend_from_slice(args);
        let target = if args.contains(&"t1") {
            self.tcp.expect("tcp listener")
        } else {
            self.udp
        };
        let out = sipp(&all, target);
        assert!(out.status.success(), "sipp {all:?} failed");
        let recs = self.wait_records(before + 1, Duration::from_secs(10));
        recs.into_iter().nth(before).expect("a record for the call")
    }
}

/// A plain HTTP/1.1 GET over TCP: (status, body).
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let (status, _, body) = http_request(addr, "GET", path, &[], "");
    (status, body)
}

/// A plain HTTP/1.1 request over TCP: (status, head, body).
pub fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    use std::io::Read;
    let mut s =
        std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).expect("write");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read");
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status code");
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .map(|(h, b)| (h.to_string(), b.to_string()))
        .unwrap_or_default();
    (status, head, body)
}

/// The audio port of the SDP in a SIP message.
pub fn sdp_port(msg: &str) -> u16 {
    msg.lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .expect("m=audio in SDP")
}
