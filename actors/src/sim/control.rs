//! Fault injection at run time: the control socket `DIR/control.sock`.
//!
//! One text command per line, one JSON line back: `{"ok":true,...}` or
//! `{"ok":false,"error":"..."}`. Commands:
//!
//! | command | effect |
//! |---|---|
//! | `status [m]` | every modem (or one): paths, identity, state, call, last call, counters |
//! | `unplug m` | close the ptys (the gateway's reads fail) and remove the links |
//! | `replug m [as n]` | new ptys and links (under the new name `n`), power-up state |
//! | `freeze m` / `thaw m` | drop commands unanswered but keep URCs / answer again |
//! | `garbage m [n]` | write `n` (default 64) random bytes, binary and partial lines |
//! | `sim-remove m` | `^SIMST:255`, the call ends, CIMI/CPIN fail |
//! | `sim-insert m [imsi=..] [iccid=..]` | `^SIMST:1`, optionally another SIM |
//! | `signal m rssi` | `^RSSI`; 0 or 99 lose the network (and the call) |
//! | `reboot m` | as `AT+CFUN=1,1` |
//! | `hangup m` | the remote party hangs up (an incoming caller gives up) |
//! | `sms m from text...` | a message arrives: SIM slots, `+CMTI` (GSM 7-bit when it fits) |
//! | `sms m from ucs2 text...` | the same, always UCS-2 |
//! | `sms-fail m on\|off` | every `AT+CMGS` fails with `+CMS ERROR: 500`, or not |
//! | `balance m amount` | what USSD replies quote as `{balance}` (e.g. `0,50`) |
//! | `ring m number [after=ms]` | an incoming call: `RING`/`+CLIP`, answered with `ATA` |
//!
//! The text of `sms` is the rest of the line (inner spaces kept, trailing ones not); the sender is
//! digits with an optional `+`, or a name of up to 11 letters and digits (`Vivo`).
//!
//! Per-modem commands answer `{"ok":true,"modem":{...status...}}`; `status` answers
//! `{"ok":true,"modems":[...]}`.

use std::path::Path;
use std::sync::{Arc, Mutex};

use actix::prelude::*;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use super::modem::{ModemOp, SimModem};
use super::{SimError, SimModemInfo};

mod parse;

pub(crate) use parse::{parse_control, ControlCmd};

/// Longest control line accepted.
const MAX_LINE: usize = 4096;

fn fail(e: impl std::fmt::Display) -> Value {
    json!({ "ok": false, "error": e.to_string() })
}

/// One control line, answered with one JSON value.
#[derive(Debug, Message)]
#[rtype(result = "Value")]
pub(crate) struct ControlLine(pub(crate) String);

/// Stop every modem, then the controller.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct Shutdown;

/// Knows the modems by name and runs control commands one at a time.
#[derive(Debug)]
pub(crate) struct Controller {
    modems: Vec<(String, Addr<SimModem>)>,
    infos: Arc<Mutex<Vec<SimModemInfo>>>,
}

impl Controller {
    /// A controller over `modems`, keeping `infos` (shared with the handle) up to date.
    pub(crate) fn new(
        modems: Vec<(String, Addr<SimModem>)>,
        infos: Arc<Mutex<Vec<SimModemInfo>>>,
    ) -> Self {
        Self { modems, infos }
    }

    fn find(&self, name: &str) -> Option<Addr<SimModem>> {
        self.modems
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, a)| a.clone())
    }

    /// Records a modem's new name, paths and IMSI from its status.
    fn update(&mut self, old: &str, status: &Value) {
        let s = |k: &str| status.get(k).and_then(Value::as_str).map(str::to_string);
        let Some(name) = s("name") else {
            return;
        };
        if let Some(entry) = self.modems.iter_mut().find(|(n, _)| n == old) {
            entry.0 = name.clone();
        }
        let mut infos = self
            .infos
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(i) = infos.iter_mut().find(|i| i.name == old) {
            i.name = name;
            if let (Some(at), Some(audio)) = (s("at"), s("audio")) {
                i.at = at.into();
                i.audio = audio.into();
            }
            if let Some(imsi) = s("imsi") {
                i.imsi = imsi;
            }
        }
    }
}

impl Actor for Controller {
    type Context = Context<Self>;
}

impl Handler<ControlLine> for Controller {
    type Result = AtomicResponse<Self, Value>;

    fn handle(&mut self, ControlLine(line): ControlLine, _ctx: &mut Self::Context) -> Self::Result {
        let cmd = match parse_control(&line) {
            Ok(c) => c,
            Err(e) => return AtomicResponse::new(Box::pin(fut::ready(fail(e)))),
        };
        tracing::debug!(command = %line.trim(), "Simulator control command.");
        match cmd {
            ControlCmd::Status(one) => {
                let addrs: Vec<Addr<SimModem>> = match &one {
                    None => self.modems.iter().map(|(_, a)| a.clone()).collect(),
                    Some(m) => match self.find(m) {
                        Some(a) => vec![a],
                        None => {
                            return AtomicResponse::new(Box::pin(fut::ready(fail(format!(
                                "no modem {m:?}"
                            )))))
                        }
                    },
                };
                let f = async move {
                    let mut out = Vec::new();
                    for a in addrs {
                        match a.send(ModemOp::Status).await {
                            Ok(Ok(v)) => out.push(v),
                            Ok(Err(e)) => return fail(e),
                            Err(e) => return fail(e),
                        }
                    }
                    json!({ "ok": true, "modems": out })
                };
                AtomicResponse::new(Box::pin(f.into_actor(self)))
            }
            ControlCmd::Modem(name, op) => {
                let Some(addr) = self.find(&name) else {
                    return AtomicResponse::new(Box::pin(fut::ready(fail(format!(
                        "no modem {name:?}"
                    )))));
                };
                if let ModemOp::Replug(Some(new)) = &op {
                    if *new != name && self.find(new).is_some() {
                        return AtomicResponse::new(Box::pin(fut::ready(fail(format!(
                            "modem {new:?} exists"
                        )))));
                    }
                }
                let f = async move { addr.send(op).await };
                AtomicResponse::new(Box::pin(f.into_actor(self).map(move |r, act, _| match r {
                    Ok(Ok(status)) => {
                        act.update(&name, &status);
                        json!({ "ok": true, "modem": status })
                    }
                    Ok(Err(e)) => fail(e),
                    Err(e) => fail(e),
                })))
            }
        }
    }
}

impl Handler<Shutdown> for Controller {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, _: Shutdown, _ctx: &mut Self::Context) -> Self::Result {
        let addrs: Vec<Addr<SimModem>> = self.modems.iter().map(|(_, a)| a.clone()).collect();
        let f = async move {
            for a in addrs {
                // A modem that is already gone has nothing left to clean up.
                let _ = a.send(ModemOp::Stop).await;
            }
        };
        AtomicResponse::new(Box::pin(f.into_actor(self).map(|(), _, ctx| ctx.stop())))
    }
}

/// Accepts control connections until the task is aborted.
pub(crate) async fn serve(listener: UnixListener, controller: Addr<Controller>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                actix::spawn(connection(stream, controller.clone()));
            }
            Err(e) => {
                tracing::warn!(error = %e, "Simulator control socket accept failed.");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

async fn connection(stream: UnixStream, controller: Addr<Controller>) {
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    let mut line = String::new();
    loop {
        line.clear();
        let mut limited = (&mut r).take(MAX_LINE as u64);
        match limited.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if line.trim().is_empty() {
            continue;
        }
        let reply = match controller.send(ControlLine(line.clone())).await {
            Ok(v) => v,
            Err(e) => fail(format!("simulator stopped: {e}")),
        };
        let mut text = reply.to_string();
        text.push('\n');
        if w.write_all(text.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Sends one command line to the simulator running in `dir` and returns its JSON reply
/// (which may say `"ok": false`).
pub async fn control(dir: &Path, line: &str) -> Result<Value, SimError> {
    let path = dir.join("control.sock");
    let err = |source| SimError::Control {
        path: path.clone(),
        source,
    };
    let stream = UnixStream::connect(&path).await.map_err(err)?;
    let (r, mut w) = stream.into_split();
    let mut msg = line.trim().replace('\n', " ");
    msg.push('\n');
    w.write_all(msg.as_bytes()).await.map_err(err)?;
    let mut reply = String::new();
    BufReader::new(r).read_line(&mut reply).await.map_err(err)?;
    if reply.is_empty() {
        return Err(SimError::BadReply(
            "connection closed without a reply".into(),
        ));
    }
    serde_json::from_str(&reply).map_err(|e| SimError::BadReply(e.to_string()))
}
