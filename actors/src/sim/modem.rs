//! The actor of one simulated modem: pty IO around the pure [`Device`].
//!
//! Idle, it wakes only for the device's next deadline (periodic `^RSSI`/`^BOOT`) and when
//! the gateway writes. During a call with `AT^DDSETEX=2` (an incoming one once answered) it
//! writes one 320-byte tone frame every 20 ms (missed ticks are skipped, never burst) and
//! records what the host sends.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use actix::prelude::*;
use serde_json::{json, Value};
use tokio::time::{Instant, MissedTickBehavior};

use super::device::{Device, DeviceEvent};
use super::pty::{remove_link, replace_link, PtyPort};
use super::tone::{RxMeter, RxReport, ToneGen};
use super::SimError;

/// Amplitude of the identifying tone.
const TONE_AMPLITUDE: i16 = 8000;

/// A control operation on one modem; answered with its status afterwards, or why not.
#[derive(Debug, Clone, PartialEq, Eq, Message)]
#[rtype(result = "Result<Value, String>")]
pub(crate) enum ModemOp {
    /// Report only.
    Status,
    /// Close the ptys and remove the links.
    Unplug,
    /// New ptys (new `/dev/pts` names), power-up state; optionally under a new name.
    Replug(Option<String>),
    /// Drop commands unanswered, keep URCs.
    Freeze,
    /// Answer commands again.
    Thaw,
    /// Write this many random bytes on the AT port.
    Garbage(usize),
    /// Take the SIM out.
    SimRemove,
    /// Put a SIM in, optionally another IMSI/ICCID.
    SimInsert(Option<String>, Option<String>),
    /// New signal quality.
    Signal(u8),
    /// Reboot (`AT+CFUN=1,1`).
    Reboot,
    /// The remote party hangs up (or an incoming caller gives up).
    Hangup,
    /// A message from `from` arrives (stored in SIM slots, `+CMTI`); UCS-2 forced or not.
    Sms {
        /// The sender: digits with an optional `+`, or an alphanumeric name.
        from: String,
        /// The text.
        text: String,
        /// UCS-2 even when the text fits the GSM alphabet.
        ucs2: bool,
    },
    /// Every `AT+CMGS` fails with `+CMS ERROR: 500`, or not.
    SmsFail(bool),
    /// What USSD replies quote as `{balance}`.
    Balance(String),
    /// An incoming call from this number, after this many milliseconds.
    Ring(String, u64),
    /// Unplug and stop the actor (simulator shutdown).
    Stop,
}

/// IO-side counters.
#[derive(Debug, Clone, Default, serde::Serialize)]
struct IoCounters {
    at_bytes_in: u64,
    at_bytes_out: u64,
    at_bytes_dropped: u64,
    audio_frames_out: u64,
    audio_bytes_dropped: u64,
    audio_bytes_discarded: u64,
    garbage_bytes: u64,
    unplugs: u64,
}

#[derive(Debug)]
struct Ports {
    at: PtyPort,
    audio: PtyPort,
    readers: [SpawnHandle; 2],
}

/// Bytes from the AT master.
#[derive(Debug)]
struct AtRead(u64, std::io::Result<Vec<u8>>);
/// Bytes from the audio master.
#[derive(Debug)]
struct AudioRead(u64, std::io::Result<Vec<u8>>);
/// Time for the next audio frame.
#[derive(Debug)]
struct AudioTick;

/// Opens the AT and audio ptys of modem `name` and points `DIR/<name>.at` and
/// `DIR/<name>.audio` at them.
pub(crate) fn open_ports(dir: &Path, name: &str) -> Result<(PtyPort, PtyPort), SimError> {
    let at = PtyPort::open()?;
    let audio = PtyPort::open()?;
    replace_link(&dir.join(format!("{name}.at")), at.path())?;
    replace_link(&dir.join(format!("{name}.audio")), audio.path())?;
    Ok((at, audio))
}

/// One simulated modem.
#[derive(Debug)]
pub(crate) struct SimModem {
    dir: PathBuf,
    device: Device,
    epoch: Instant,
    ports: Option<Ports>,
    pending: Option<(PtyPort, PtyPort)>,
    generation: u64,
    tone: ToneGen,
    rx: Option<RxMeter>,
    last_rx: Option<RxReport>,
    rec: Option<File>,
    deadline: Option<(u64, SpawnHandle)>,
    audio_tick: Option<SpawnHandle>,
    io: IoCounters,
    rng: u64,
}

impl SimModem {
    /// A modem around `device`, on `ports` (from [`open_ports`]).
    pub(crate) fn new(dir: &Path, mut device: Device, ports: (PtyPort, PtyPort)) -> Self {
        let seed = 0x9E37_79B9_7F4A_7C15 ^ (device.identity().index as u64 + 1);
        // Device time 0 is `epoch` below: now.
        device.set_wall_clock(0, crate::wall_ms());
        Self {
            dir: dir.to_path_buf(),
            tone: ToneGen::new(device.identity().tone_hz, TONE_AMPLITUDE),
            device,
            epoch: Instant::now(),
            ports: None,
            pending: Some(ports),
            generation: 0,
            rx: None,
            last_rx: None,
            rec: None,
            deadline: None,
            audio_tick: None,
            io: IoCounters::default(),
            rng: seed,
        }
    }

    fn name(&self) -> &str {
        &self.device.identity().name
    }

    fn link(&self, suffix: &str) -> PathBuf {
        self.dir.join(format!("{}.{suffix}", self.name()))
    }

    fn now(&self) -> u64 {
        Instant::now()
            .saturating_duration_since(self.epoch)
            .as_millis() as u64
    }

    /// Starts reading both ptys.
    fn attach(&mut self, ctx: &mut Context<Self>, (at, audio): (PtyPort, PtyPort)) {
        self.generation += 1;
        let g = self.generation;
        let r1 = ctx.add_stream(futures_util::StreamExt::map(at.reader(), move |r| {
            AtRead(g, r)
        }));
        let r2 = ctx.add_stream(futures_util::StreamExt::map(audio.reader(), move |r| {
            AudioRead(g, r)
        }));
        tracing::info!(modem = %self.name(), at = %at.path().display(), audio = %audio.path().display(), "Simulated modem plugged in.");
        self.ports = Some(Ports {
            at,
            audio,
            readers: [r1, r2],
        });
    }

    fn unplug(&mut self, ctx: &mut Context<Self>) {
        self.device.unplug();
        if let Some(p) = self.ports.take() {
            for h in p.readers {
                ctx.cancel_future(h);
            }
            self.io.unplugs += 1;
            tracing::info!(modem = %self.name(), "Simulated modem unplugged.");
        }
        remove_link(&self.link("at"));
        remove_link(&self.link("audio"));
        self.sync(ctx);
    }

    /// Applies everything the device produced: output, events, audio, the next wake-up.
    fn sync(&mut self, ctx: &mut Context<Self>) {
        let out = self.device.take_output();
        if let (false, Some(p)) = (out.is_empty(), &self.ports) {
            let dropped = p.at.write_or_drop(&out);
            self.io.at_bytes_out += (out.len() - dropped) as u64;
            self.io.at_bytes_dropped += dropped as u64;
        }
        while let Some(ev) = self.device.pop_event() {
            self.on_event(ev);
        }
        let want_audio = self.device.audio_active() && self.ports.is_some();
        match (&self.audio_tick, want_audio) {
            (None, true) => {
                let mut iv = tokio::time::interval(Duration::from_millis(20));
                iv.set_missed_tick_behavior(MissedTickBehavior::Skip);
                let ticks = futures_util::stream::unfold(iv, |mut iv| async move {
                    iv.tick().await;
                    Some((AudioTick, iv))
                });
                self.audio_tick = Some(ctx.add_stream(ticks));
            }
            (Some(h), false) => {
                ctx.cancel_future(*h);
                self.audio_tick = None;
            }
            _ => {}
        }
        let next = self.device.next_deadline();
        if self.deadline.as_ref().map(|d| d.0) != next {
            if let Some((_, h)) = self.deadline.take() {
                ctx.cancel_future(h);
            }
            if let Some(at) = next {
                let delay = Duration::from_millis(at.saturating_sub(self.now()));
                let h = ctx.run_later(delay, |act, ctx| {
                    act.deadline = None;
                    let now = act.now();
                    act.device.poll(now);
                    act.sync(ctx);
                });
                self.deadline = Some((at, h));
            }
        }
    }

    fn on_event(&mut self, ev: DeviceEvent) {
        match ev {
            DeviceEvent::CallStarted { number, incoming } => {
                tracing::info!(modem = %self.name(), %number, incoming, "Simulated call started.");
                self.rx = Some(RxMeter::default());
                let path = self.dir.join(format!("{}.rx.pcm", self.name()));
                self.rec = File::create(&path)
                    .map_err(|e| tracing::warn!(path = %path.display(), error = %e, "Cannot record host audio."))
                    .ok();
            }
            DeviceEvent::CallEnded {
                number,
                incoming,
                outcome,
                duration_s,
            } => {
                tracing::info!(modem = %self.name(), %number, incoming, outcome, duration_s, "Simulated call ended.");
                self.last_rx = self.rx.take().map(|m| m.report());
                self.rec = None;
            }
        }
    }

    fn status(&self) -> Value {
        let id = self.device.identity();
        let st = self.device.status();
        let mut v = serde_json::to_value(&st).unwrap_or(Value::Null);
        let plugged = self.ports.is_some();
        let extra = json!({
            "name": id.name,
            "at": self.link("at"),
            "audio": self.link("audio"),
            "at_dev": self.ports.as_ref().map(|p| p.at.path().to_path_buf()),
            "audio_dev": self.ports.as_ref().map(|p| p.audio.path().to_path_buf()),
            "rx_file": self.dir.join(format!("{}.rx.pcm", id.name)),
            "plugged": plugged,
            "imei": id.imei,
            "imsi": id.imsi,
            "iccid": id.iccid,
            "number": id.number,
            "operator": id.operator,
            "model": id.model,
            "firmware": id.firmware,
            "tone_hz": id.tone_hz,
            "io": self.io,
        });
        if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
            m.extend(e);
            if !plugged {
                m.insert("state".into(), json!("unplugged"));
            }
            let rx = |r: Option<RxReport>| {
                serde_json::to_value(r.unwrap_or_default()).unwrap_or(Value::Null)
            };
            if let Some(Value::Object(c)) = m.get_mut("call") {
                if let Value::Object(r) = rx(self.rx.as_ref().map(RxMeter::report)) {
                    c.extend(r);
                }
            }
            if let Some(Value::Object(c)) = m.get_mut("last_call") {
                if let Value::Object(r) = rx(self.last_rx.clone()) {
                    c.extend(r);
                }
            }
        }
        v
    }

    fn garbage(&mut self, n: usize) -> Vec<u8> {
        const BITS: [&[u8]; 8] = [
            b"\r\n+CRE",
            b"^RSS",
            b"\r\nOK",
            b"\r",
            b"\n",
            b"\r\n^CEN",
            b"G:1,",
            b"\xff\xfe\x00",
        ];
        let mut out = Vec::with_capacity(n + 8);
        while out.len() < n {
            self.rng ^= self.rng << 13;
            self.rng ^= self.rng >> 7;
            self.rng ^= self.rng << 17;
            let r = self.rng;
            if r % 3 == 0 {
                out.extend_from_slice(BITS[(r >> 8) as usize % BITS.len()]);
            } else {
                out.extend_from_slice(&r.to_le_bytes()[..1 + (r >> 60) as usize % 4]);
            }
        }
        out.truncate(n);
        out
    }

    fn op(&mut self, op: ModemOp, ctx: &mut Context<Self>) -> Result<Value, String> {
        let now = self.now();
        let plugged = self.ports.is_some();
        let need_plugged = || {
            if plugged {
                Ok(())
            } else {
                Err("modem is unplugged".to_string())
            }
        };
        match op {
            ModemOp::Status => {}
            ModemOp::Unplug => {
                need_plugged()?;
                self.unplug(ctx);
            }
            ModemOp::Replug(new_name) => {
                if plugged {
                    self.unplug(ctx);
                }
                if let Some(n) = new_name {
                    self.device.rename(&n);
                }
                self.device.power_up(now);
                let ports = open_ports(&self.dir, self.name()).map_err(|e| e.to_string())?;
                self.attach(ctx, ports);
            }
            ModemOp::Freeze => self.device.set_frozen(true),
            ModemOp::Thaw => self.device.set_frozen(false),
            ModemOp::Garbage(n) => {
                need_plugged()?;
                let bytes = self.garbage(n);
                if let Some(p) = &self.ports {
                    let dropped = p.at.write_or_drop(&bytes);
                    self.io.garbage_bytes += (bytes.len() - dropped) as u64;
                }
            }
            ModemOp::SimRemove => self.device.remove_sim(now),
            ModemOp::SimInsert(imsi, iccid) => self.device.insert_sim(imsi, iccid),
            ModemOp::Signal(r) => self.device.set_rssi(now, r),
            ModemOp::Reboot => {
                need_plugged()?;
                self.device.reboot(now);
            }
            ModemOp::Hangup => {
                if !self.device.remote_hangup(now) {
                    return Err("no call in progress".into());
                }
            }
            ModemOp::Sms { from, text, ucs2 } => {
                need_plugged()?;
                let slots = self.device.receive_sms(now, &from, &text, ucs2)?;
                tracing::info!(modem = %self.name(), %from, parts = slots.len(), "Simulated SMS delivered.");
            }
            ModemOp::SmsFail(on) => self.device.set_sms_fail(on),
            ModemOp::Balance(b) => self.device.set_balance(&b),
            ModemOp::Ring(number, after_ms) => {
                need_plugged()?;
                self.device.ring(now, &number, after_ms)?;
            }
            ModemOp::Stop => {
                self.unplug(ctx);
                ctx.stop();
                return Ok(json!({ "name": self.name(), "stopped": true }));
            }
        }
        self.sync(ctx);
        Ok(self.status())
    }
}

impl Actor for SimModem {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if let Some(ports) = self.pending.take() {
            self.attach(ctx, ports);
        }
        self.sync(ctx);
    }
}

impl Handler<ModemOp> for SimModem {
    type Result = Result<Value, String>;

    fn handle(&mut self, op: ModemOp, ctx: &mut Self::Context) -> Self::Result {
        self.op(op, ctx)
    }
}

impl StreamHandler<AtRead> for SimModem {
    fn handle(&mut self, AtRead(g, r): AtRead, ctx: &mut Self::Context) {
        if g != self.generation {
            return;
        }
        match r {
            Ok(bytes) => {
                self.io.at_bytes_in += bytes.len() as u64;
                let now = self.now();
                self.device.poll(now);
                self.device.input(now, &bytes);
                self.sync(ctx);
            }
            Err(e) => {
                tracing::warn!(modem = %self.name(), error = %e, "Reading the AT pty failed.")
            }
        }
    }

    fn finished(&mut self, _ctx: &mut Self::Context) {}
}

impl StreamHandler<AudioRead> for SimModem {
    fn handle(&mut self, AudioRead(g, r): AudioRead, _ctx: &mut Self::Context) {
        if g != self.generation {
            return;
        }
        match r {
            Ok(bytes) if self.device.in_call() => {
                if let Some(m) = &mut self.rx {
                    m.push(&bytes);
                }
                if let Some(f) = &mut self.rec {
                    if let Err(e) = f.write_all(&bytes) {
                        tracing::warn!(modem = %self.name(), error = %e, "Cannot record host audio.");
                        self.rec = None;
                    }
                }
            }
            Ok(bytes) => self.io.audio_bytes_discarded += bytes.len() as u64,
            Err(e) => {
                tracing::warn!(modem = %self.name(), error = %e, "Reading the audio pty failed.")
            }
        }
    }

    fn finished(&mut self, _ctx: &mut Self::Context) {}
}

impl StreamHandler<AudioTick> for SimModem {
    fn handle(&mut self, _: AudioTick, _ctx: &mut Self::Context) {
        let frame = self.tone.frame();
        if let Some(p) = &self.ports {
            let dropped = p.audio.write_or_drop(&frame);
            if dropped == 0 {
                self.io.audio_frames_out += 1;
            }
            self.io.audio_bytes_dropped += dropped as u64;
        }
    }

    fn finished(&mut self, _ctx: &mut Self::Context) {}
}
