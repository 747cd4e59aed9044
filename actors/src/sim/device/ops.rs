//! Faults and state changes driven from outside the AT port: the control socket's
//! `freeze`, `sim-remove`, `signal`, `reboot`, unplug and replug, and the `status` snapshot.
//! (`sms`, `sms-fail`, `balance` and `ring` live with their features.)

use super::{CallStatus, Device, DeviceStatus, Timer};

impl Device {
    /// Stuck or not: a frozen modem drops commands unanswered but keeps sending URCs.
    pub(crate) fn set_frozen(&mut self, frozen: bool) {
        self.frozen = frozen;
        if frozen {
            self.counters.commands_dropped += self.queue.len() as u64;
            self.queue.clear();
            self.busy = false;
            self.drop_pdu();
            self.cancel(|t| matches!(t, Timer::Exec(_) | Timer::SmsSent(_)));
        }
    }

    /// Voice enabled or not (scenario start state).
    pub(crate) fn set_voice(&mut self, voice: bool) {
        self.voice = voice;
    }

    /// Takes the SIM out: `^SIMST:255`, registration lost, a call ends.
    pub(crate) fn remove_sim(&mut self, now: u64) {
        if !self.sim {
            return;
        }
        let before = self.reg_stat();
        self.sim = false;
        self.urc("^SIMST:255");
        if self.call.is_some() {
            self.end_call(now, 106, None, "sim_removed");
        }
        self.reg_changed(before);
    }

    /// Puts a SIM in, optionally another one (a SIM swap): `^SIMST:1`.
    pub(crate) fn insert_sim(&mut self, imsi: Option<String>, iccid: Option<String>) {
        if let Some(i) = imsi {
            if i != self.id.imsi {
                // Another SIM: other stored messages.
                self.sms.clear_slots();
            }
            self.id.imsi = i;
        }
        if let Some(i) = iccid {
            self.id.iccid = i;
        }
        let before = self.reg_stat();
        self.sim = true;
        self.urc("^SIMST:1");
        self.reg_changed(before);
    }

    /// Sets the SIM state without URCs (scenario start state).
    pub(crate) fn set_sim_present(&mut self, present: bool) {
        self.sim = present;
    }

    /// New signal quality: `^RSSI` now; 0 or 99 lose the network (and the call).
    pub(crate) fn set_rssi(&mut self, now: u64, rssi: u8) {
        let before = self.reg_stat();
        self.rssi = rssi;
        if !self.rebooting {
            self.urc(&format!("^RSSI:{rssi}"));
            self.cancel(|t| matches!(t, Timer::Rssi));
            if self.timing.rssi_interval_ms > 0 {
                self.schedule(now + self.timing.rssi_interval_ms, Timer::Rssi);
            }
        }
        if self.call.is_some() && self.reg_stat() != 1 {
            self.end_call(now, 106, None, "signal_lost");
        }
        self.reg_changed(before);
    }

    /// Reboots: the call is dropped without `^CEND`, commands are ignored for
    /// `reboot_ms`, then settings reset and `^BOOT ^SIMST ^SRVST ^RSSI` follow.
    pub(crate) fn reboot(&mut self, now: u64) {
        self.counters.reboots += 1;
        self.drop_call("reboot");
        self.rebooting = true;
        self.frozen = false;
        self.busy = false;
        self.counters.commands_dropped += self.queue.len() as u64;
        self.queue.clear();
        self.line.clear();
        self.drop_pdu();
        self.ussd.session = None;
        self.timers.clear();
        self.schedule(now + self.timing.reboot_ms, Timer::RebootDone);
    }

    pub(super) fn reboot_done(&mut self, now: u64) {
        self.rebooting = false;
        self.reset_settings();
        self.urc(&self.boot_line());
        self.urc(if self.sim { "^SIMST:1" } else { "^SIMST:255" });
        self.urc(if self.registered() {
            "^SRVST:2"
        } else {
            "^SRVST:0"
        });
        self.urc(&format!("^RSSI:{}", self.rssi));
        self.start_periodic(now);
    }

    pub(super) fn reset_settings(&mut self) {
        self.echo = true;
        self.cmee = 0;
        self.creg_n = 0;
        self.cops_fmt = 0;
        self.clip = false;
        self.crc = false;
        self.sms.cmgf = 0;
    }

    /// Power-up after a replug: settings reset, no call, nothing pending, not frozen.
    pub(crate) fn power_up(&mut self, now: u64) {
        self.drop_call("unplugged");
        self.rebooting = false;
        self.frozen = false;
        self.busy = false;
        self.queue.clear();
        self.line.clear();
        self.drop_pdu();
        self.ussd.session = None;
        self.timers.clear();
        self.out.clear();
        self.reset_settings();
        self.start_periodic(now);
    }

    /// The device vanished: the call is gone, nothing runs until [`Device::power_up`].
    pub(crate) fn unplug(&mut self) {
        self.drop_call("unplugged");
        self.timers.clear();
        self.queue.clear();
        self.line.clear();
        self.drop_pdu();
        self.ussd.session = None;
        self.busy = false;
        self.out.clear();
    }

    /// A snapshot for `status`.
    pub(crate) fn status(&self) -> DeviceStatus {
        DeviceStatus {
            state: if self.rebooting {
                "rebooting"
            } else if self.frozen {
                "frozen"
            } else {
                "ready"
            },
            registered: self.registered(),
            reg_stat: self.reg_stat(),
            rssi: self.rssi,
            sim: if self.sim { "present" } else { "absent" },
            frozen: self.frozen,
            voice: self.voice,
            echo: self.echo,
            cmee: self.cmee,
            creg_n: self.creg_n,
            clip: self.clip,
            crc: self.crc,
            sms: self.sms.status(),
            sms_sent: self.sms.sent(),
            ussd: self.ussd_status(),
            call: self.call.as_ref().map(|c| CallStatus {
                number: c.number.clone(),
                direction: c.direction(),
                stat: c.stat,
                audio: c.audio,
                dtmf: c.dtmf.clone(),
            }),
            last_call: self.last_call.clone(),
            counters: self.counters.clone(),
        }
    }
}
