//! The AT commands the simulated E173 answers (DIALECT.md §2, §3, §4). SMS, USSD and
//! the incoming-call settings are answered in their own modules.

use e173gw_core::config::sim::Outcome;

use super::sms::SMSC;
use super::Device;

/// How a command failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fail {
    /// Always a plain `ERROR`.
    Plain,
    /// `+CME ERROR: <n>` (or `ERROR` under `AT+CMEE=0`).
    Cme(u16),
    /// An unknown command: `ERROR`, or `COMMAND NOT SUPPORT` on some modems.
    Unknown,
    /// `+CMS ERROR: <n>` (SMS commands; numeric whatever `AT+CMEE` says).
    Cms(u16),
}

/// What to do after the final result is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum After {
    Nothing,
    /// End the call as a local hang-up (`^CEND:1,<dur>,29,16`).
    LocalHangup,
    /// Reboot (`AT+CFUN=1,1`).
    Reboot,
    /// No final result: write the SMS prompt `\r\n> ` and collect a PDU of this TPDU length.
    Prompt(usize),
    /// `ATA` accepted: `^CONN:1,0`.
    Answer,
    /// Send this URC.
    Urc(String),
}

/// Info lines, or why the command failed.
pub(super) type Answer = Result<Vec<String>, Fail>;

fn cme_text(code: u16) -> &'static str {
    match code {
        3 => "operation not allowed",
        4 => "operation not supported",
        10 => "SIM not inserted",
        13 => "SIM failure",
        30 => "no network service",
        50 => "incorrect parameters",
        _ => "unknown",
    }
}

/// Splits `AT<a>;<b>;...` into command bodies; `ATD...;` stays whole.
fn split_commands(cmd: &str) -> Vec<String> {
    let body = cmd.get(2..).unwrap_or("").trim();
    if body.to_ascii_uppercase().starts_with('D') {
        return vec![body.to_string()];
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in body.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ';' if !quoted => out.push(std::mem::take(&mut cur).trim().to_string()),
            _ => cur.push(c),
        }
    }
    let last = cur.trim().to_string();
    if !last.is_empty() || out.is_empty() {
        out.push(last);
    }
    out
}

pub(super) fn arg(body: &str, prefix: &str) -> Option<String> {
    body.get(prefix.len()..)
        .filter(|_| body.starts_with(prefix))
        .map(str::to_string)
}

impl Device {
    /// Runs one command line and writes its answer.
    pub(super) fn execute(&mut self, now: u64, cmd: &str) {
        self.counters.commands += 1;
        let mut lines = Vec::new();
        let mut result = Ok(());
        let mut after = After::Nothing;
        for body in split_commands(cmd) {
            match self.command(now, &body, &mut after) {
                Ok(l) => lines.extend(l),
                Err(f) => {
                    result = Err(f);
                    break;
                }
            }
        }
        // Info lines form one block: `\r\n<a>\r\n<b>\r\n`, then `\r\nOK\r\n`.
        if !lines.is_empty() {
            self.line_out(&lines.join("\r\n"));
        }
        if let After::Prompt(n) = after {
            if result.is_ok() {
                // No final result yet: the prompt, then the PDU.
                self.prompt(now, n);
                return;
            }
            after = After::Nothing;
        }
        if cmd.to_ascii_uppercase().contains("+CMGS=") {
            // Refused: no PDU is collected.
            self.drop_pdu();
        }
        let fin = match result {
            Ok(()) => "OK".to_string(),
            Err(Fail::Plain) => "ERROR".into(),
            Err(Fail::Unknown) if self.id.command_not_support => "COMMAND NOT SUPPORT".into(),
            Err(Fail::Unknown) => "ERROR".into(),
            Err(Fail::Cms(c)) => format!("+CMS ERROR: {c}"),
            Err(Fail::Cme(c)) => match self.cmee {
                0 => "ERROR".into(),
                1 => format!("+CME ERROR: {c}"),
                _ => format!("+CME ERROR: {}", cme_text(c)),
            },
        };
        self.line_out(&fin);
        match after {
            After::Nothing => {}
            After::LocalHangup => self.end_call(now, 29, Some(16), "local_hangup"),
            After::Reboot => self.reboot(now),
            After::Answer => self.answer_now(now),
            After::Urc(line) => self.urc(&line),
            After::Prompt(_) => {}
        }
    }

    fn need_sim(&self) -> Result<(), Fail> {
        if self.sim {
            Ok(())
        } else {
            Err(Fail::Cme(10))
        }
    }

    /// One command body (after `AT`); info lines or a failure.
    fn command(&mut self, now: u64, orig: &str, after: &mut After) -> Answer {
        let body = orig.to_ascii_uppercase();
        let ok = Ok(Vec::new());
        let one = |s: String| Ok(vec![s]);
        match body.as_str() {
            "" => ok,
            "Z" | "Z0" => {
                self.reset_settings();
                ok
            }
            "E" | "E0" => {
                self.echo = false;
                ok
            }
            "E1" => {
                self.echo = true;
                ok
            }
            "I" | "I0" => Ok(vec![
                "Manufacturer: huawei".into(),
                format!("Model: {}", self.id.model),
                format!("Revision: {}", self.id.firmware),
                format!("IMEI: {}", self.id.imei),
                "+GCAP: +CGSM,+DS,+ES".into(),
            ]),
            "+CGMI" | "+GMI" => one("huawei".into()),
            "+CGMM" | "+GMM" => one(self.id.model.clone()),
            "+CGMR" | "+GMR" => one(self.id.firmware.clone()),
            "+CGSN" | "+GSN" => one(self.id.imei.clone()),
            "+CIMI" => self.need_sim().and_then(|()| one(self.id.imsi.clone())),
            "^ICCID?" => {
                self.need_sim()?;
                one(format!("^ICCID: {}", self.reported_iccid()))
            }
            "+CPIN?" => self.need_sim().and_then(|()| one("+CPIN: READY".into())),
            "+CMEE?" => one(format!("+CMEE: {}", self.cmee)),
            "+COPS?" => one(self.cops_line()),
            "+COPS=?" => one(format!(
                "+COPS: (2,\"{}\",\"{}\",\"{}\",2),,(0,1,2,3,4),(0,1,2)",
                self.id.operator,
                self.short_operator(),
                self.id.mcc_mnc
            )),
            "+CREG?" => one(self.creg_line()),
            "+CNUM" if self.sim => {
                let ty = if self.id.number.starts_with('+') {
                    145
                } else {
                    129
                };
                one(format!("+CNUM: \"\",\"{}\",{ty}", self.id.number))
            }
            "+CNUM" => ok,
            "^CVOICE?" if self.voice => one("^CVOICE:0,8000,16,20".into()),
            "^CVOICE?" => Err(Fail::Unknown),
            "+CSCA?" => self
                .need_sim()
                .and_then(|()| one(format!("+CSCA: \"{SMSC}\",145"))),
            "+CSQ" => one(format!("+CSQ: {},99", self.rssi)),
            "+CLCC" => Ok(self.clcc_lines()),
            "+CFUN?" => one("+CFUN: 1".into()),
            "+CLVL?" => one(format!("+CLVL: {}", self.clvl)),
            "A" => self.answer_command(after),
            "+CHUP" | "H" | "H0" => {
                if self.call.is_some() {
                    *after = After::LocalHangup;
                }
                ok
            }
            _ => self.command_with_args(now, orig, &body, after),
        }
    }

    fn command_with_args(&mut self, now: u64, orig: &str, body: &str, after: &mut After) -> Answer {
        let ok = Ok(Vec::new());
        if let Some(num) = orig.strip_prefix(['D', 'd']) {
            return self.dial(now, num);
        }
        if let Some(v) = arg(body, "+CMEE=") {
            self.cmee = match v.trim() {
                "0" => 0,
                "1" => 1,
                "2" => 2,
                _ => return Err(Fail::Cme(50)),
            };
            return ok;
        }
        if let Some(v) = arg(body, "+CREG=") {
            self.creg_n = match v.trim() {
                "0" => 0,
                "1" => 1,
                "2" => 2,
                _ => return Err(Fail::Cme(50)),
            };
            return ok;
        }
        if let Some(v) = arg(body, "+COPS=") {
            let f: Vec<&str> = v.split(',').map(str::trim).collect();
            match (f.first().copied(), f.get(1).copied()) {
                (Some("0"), None) => {}
                (Some("0" | "3"), Some(fmt @ ("0" | "1" | "2"))) => {
                    self.cops_fmt = fmt.parse().unwrap_or(0)
                }
                _ => return Err(Fail::Cme(50)),
            }
            return ok;
        }
        if let Some(v) = arg(body, "^DDSETEX=") {
            if v.trim() == "2" {
                if let Some(c) = &mut self.call {
                    c.audio = true;
                }
            }
            return ok;
        }
        if let Some(v) = arg(body, "^DTMF=") {
            let digit = v.split(',').nth(1).map(str::trim).unwrap_or("");
            let valid = digit.len() == 1
                && digit
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#');
            return match &mut self.call {
                Some(c) if valid => {
                    c.dtmf.push_str(digit);
                    ok
                }
                _ => Err(Fail::Cme(3)),
            };
        }
        if let Some(v) = arg(body, "+CHLD=") {
            let v = v.trim();
            if v == "1" || (v.len() == 2 && v.starts_with('1')) {
                if self.call.is_some() {
                    *after = After::LocalHangup;
                }
            } else if !matches!(
                v,
                "0" | "2" | "3" | "4" | "21" | "22" | "23" | "24" | "25" | "26" | "27"
            ) {
                return Err(Fail::Cme(50));
            }
            return ok;
        }
        if let Some(v) = arg(body, "+CFUN=") {
            let f: Vec<&str> = v.split(',').map(str::trim).collect();
            match f.as_slice() {
                ["1", "1"] => *after = After::Reboot,
                ["0" | "1" | "4"] | ["0" | "1" | "4", "0"] => {}
                _ => return Err(Fail::Cme(50)),
            }
            return ok;
        }
        if let Some(v) = arg(body, "+CLVL=") {
            return match v.trim().parse::<u8>() {
                Ok(n) if n <= 5 => {
                    self.clvl = n;
                    ok
                }
                _ => Err(Fail::Cme(50)),
            };
        }
        if let Some(v) = arg(body, "+CCWA=") {
            let f: Vec<&str> = v.split(',').map(str::trim).collect();
            if f.get(1) == Some(&"2") {
                return Ok(vec![format!("+CCWA: {},1", u8::from(self.ccwa))]);
            }
            if let Some(m) = f.get(1) {
                self.ccwa = *m == "1";
            }
            return ok;
        }
        if body.starts_with("+CUSD=") {
            return self.ussd(now, orig, after);
        }
        if let Some(answer) = self.sms_command(body, after) {
            return answer;
        }
        if let Some(answer) = self.call_setting(body) {
            return answer;
        }
        const SETTERS: [&str; 9] = [
            "+CSSN=",
            "+CSMS=",
            "+CNMI=",
            "^U2DIAG=",
            "^PORTSEL=",
            "+CLIR=",
            "+CSCS=",
            "^CURC=",
            "^SYSCFG=",
        ];
        if SETTERS.iter().any(|p| body.starts_with(p)) {
            return ok;
        }
        Err(Fail::Unknown)
    }

    fn dial(&mut self, now: u64, rest: &str) -> Answer {
        let Some(num) = rest.trim().strip_suffix(';') else {
            // A data call; no modem of ours does that.
            return Err(Fail::Plain);
        };
        let num = num.trim_end_matches(['I', 'i', 'G', 'g']);
        let valid = !num.is_empty()
            && num.len() <= 40
            && num.bytes().enumerate().all(|(i, b)| {
                b.is_ascii_digit()
                    || matches!(b, b'*' | b'#' | b'A'..=b'C')
                    || (b == b'+' && i == 0)
            });
        if !valid {
            return Err(Fail::Cme(50));
        }
        self.need_sim()?;
        if !self.voice {
            return Err(Fail::Plain);
        }
        if !self.registered() {
            return Err(Fail::Cme(30));
        }
        if self.call.is_some() {
            return Err(Fail::Cme(3));
        }
        let plan = self.plan_for(num);
        if plan.outcome == Outcome::Error {
            return Err(Fail::Plain);
        }
        self.start_call(now, num, plan);
        Ok(Vec::new())
    }

    fn short_operator(&self) -> String {
        self.id
            .operator
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string()
    }

    fn cops_line(&self) -> String {
        if !self.registered() {
            return "+COPS: 0".into();
        }
        match self.cops_fmt {
            2 => format!("+COPS: 0,2,\"{}\",2", self.id.mcc_mnc),
            1 => format!("+COPS: 0,1,\"{}\",2", self.short_operator()),
            _ => format!("+COPS: 0,0,\"{}\",2", self.id.operator),
        }
    }

    fn creg_line(&self) -> String {
        let stat = self.reg_stat();
        if self.creg_n == 2 && stat == 1 {
            format!("+CREG: 2,{stat},\"{}\",\"{}\"", self.id.lac, self.id.ci)
        } else {
            format!("+CREG: {},{stat}", self.creg_n)
        }
    }

    /// The ICCID as this firmware reports it (nibble-swapped BCD on some units).
    fn reported_iccid(&self) -> String {
        if !self.id.iccid_swapped {
            return self.id.iccid.clone();
        }
        let mut s = self.id.iccid.clone();
        if s.len() % 2 == 1 {
            s.push('F');
        }
        s.as_bytes()
            .chunks(2)
            .flat_map(|p| p.iter().rev().copied())
            .map(char::from)
            .collect()
    }
}
