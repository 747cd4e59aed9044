//! `/api/modems`: this node's modems with their SIM, signal, registration, state and its
//! reason, limits used and left, counters and last error; and the operator actions
//! (reset, disable, enable, rest the SIM).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use e173gw_actors::modem::{LinkState, ResetKind};
use e173gw_actors::routing::{AdminAction, AdminError, AdminModem, ListSims, SimRow};
use e173gw_core::at::session::{SimState, Unavailable};
use e173gw_core::domain::ModemId;

use super::ApiError;
use crate::http::auth::Writer;
use crate::http::Sources;

/// Limits as numbers (absent: no limit).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Limits {
    /// Calls per day.
    pub calls_per_day: Option<u32>,
    /// Minutes per day.
    pub minutes_per_day: Option<u32>,
    /// Calls per month.
    pub calls_per_month: Option<u32>,
    /// Minutes per month.
    pub minutes_per_month: Option<u32>,
}

/// Counters of the modem's serial session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Counters {
    /// Calls dialled since the gateway started.
    pub calls: u64,
    /// Calls answered.
    pub answered: u64,
    /// Talk time, s.
    pub talk_seconds: u64,
    /// AT commands written.
    pub commands: u64,
    /// AT commands that timed out.
    pub timeouts: u64,
    /// AT commands answered with an error.
    pub errors: u64,
    /// Garbage seen on the AT port.
    pub garbage: u64,
    /// Resets performed.
    pub resets: u64,
    /// Audio frames read from the modem.
    pub audio_frames_in: u64,
    /// Audio frames written to the modem.
    pub audio_frames_out: u64,
}

/// A modem as operations see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ModemView {
    /// Modem id.
    pub id: String,
    /// Profile name.
    pub profile: String,
    /// `available`, `in_call`, `disabled`, `quarantined`, `rested`, `leased`,
    /// `initializing`, `failed`, `no_sim`, `sim_locked`, `no_voice`, `unregistered`,
    /// `unplugged`, `wrong_device`.
    pub state: String,
    /// Why it is in that state, in words.
    pub reason: String,
    /// Routing would give it the next call it fits.
    pub routable: bool,
    /// AT port.
    pub at_port: Option<String>,
    /// Audio port.
    pub audio_port: Option<String>,
    /// Manufacturer and model.
    pub model: Option<String>,
    /// Firmware.
    pub firmware: Option<String>,
    /// IMEI.
    pub imei: Option<String>,
    /// IMSI of the SIM.
    pub imsi: Option<String>,
    /// ICCID of the SIM.
    pub iccid: Option<String>,
    /// The SIM's own number, when it knows it.
    pub own_number: Option<String>,
    /// `unknown`, `ready`, `locked`, `absent`.
    pub sim: String,
    /// The SIM's operator as routing names it.
    pub operator: Option<String>,
    /// The network registered on (its name).
    pub network: Option<String>,
    /// Signal, dBm.
    pub signal_dbm: Option<i16>,
    /// Raw RSSI 0..31.
    pub rssi: Option<u8>,
    /// `registered_home`, `registered_roaming`, `searching`, `denied`, ...
    pub registration: Option<String>,
    /// The call's phase on the modem (`dialing`, `alerting`, `active`, `hanging_up`).
    pub call: Option<String>,
    /// Calls today (the limits' day).
    pub calls_today: u32,
    /// Minutes today.
    pub minutes_today: u32,
    /// Calls this month.
    pub calls_month: u32,
    /// Minutes this month.
    pub minutes_month: u32,
    /// The SIM's limits.
    pub limits: Limits,
    /// What is left of each limit.
    pub left: Limits,
    /// Rested until (Unix ms).
    pub rested_until_ms: Option<u64>,
    /// Counters.
    pub counters: Counters,
    /// Recovery rung (0 = healthy).
    pub recovery_rung: u32,
    /// The last fault, in words.
    pub last_error: Option<String>,
}

/// A serialisable enum's name (`snake_case`, as the types say).
fn name_of(v: &impl Serialize) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Object(o)) => o
            .get("reason")
            .and_then(|r| r.as_str())
            .unwrap_or("unknown")
            .to_string(),
        _ => "unknown".into(),
    }
}

/// The modem's state and its reason, most telling first: an operator's or the gateway's
/// hold, then the link, then the session's own reason, then routing's.
pub fn modem_state(r: &SimRow, now_ms: u64) -> (&'static str, String) {
    if let Some(why) = &r.disabled {
        return ("disabled", format!("disabled by an operator: {why}"));
    }
    if let Some(why) = &r.quarantined {
        return ("quarantined", why.clone());
    }
    match r.status.link {
        LinkState::Unbound => return ("unplugged", "waiting for the device to appear".into()),
        LinkState::Gone => {
            let why = r.status.last_fault.clone().unwrap_or_default();
            return (
                "unplugged",
                format!("ports lost or not openable; retrying ({why})"),
            );
        }
        LinkState::WrongDevice => {
            return (
                "wrong_device",
                "the ports hold a device with another IMEI".into(),
            )
        }
        LinkState::Open => {}
    }
    if let Err(u) = &r.status.session.available {
        return match u {
            Unavailable::Closed => ("unplugged", "the AT port is closed".into()),
            Unavailable::Initializing => ("initializing", "running the init sequence".into()),
            Unavailable::Failed(why) => ("failed", format!("recovering: {why}")),
            Unavailable::Sim(SimState::Absent) => ("no_sim", "no SIM inserted".into()),
            Unavailable::Sim(SimState::Locked) => {
                ("sim_locked", "the SIM asks for a PIN or PUK".into())
            }
            Unavailable::Sim(_) => ("initializing", "SIM state not known yet".into()),
            Unavailable::NoVoice => ("no_voice", "the firmware has no voice support".into()),
            Unavailable::NotRegistered => (
                "unregistered",
                format!(
                    "not registered ({})",
                    r.status
                        .session
                        .registration
                        .as_ref()
                        .map_or("no report yet".into(), |g| name_of(&g.state))
                ),
            ),
            Unavailable::InCall => ("in_call", "a call is up on it".into()),
        };
    }
    if let Some((until, why)) = r.rested.as_ref().filter(|(u, _)| *u > now_ms) {
        let left = until.saturating_sub(now_ms).div_ceil(1000);
        return ("rested", format!("{why} ({left} s left)"));
    }
    if r.leased {
        return ("leased", "given to a call being set up".into());
    }
    ("available", "registered and idle".into())
}

impl ModemView {
    /// The view of one modem.
    pub fn of(r: &SimRow, now_ms: u64) -> Self {
        let s = &r.status.session;
        let (state, reason) = modem_state(r, now_ms);
        let l = &r.limits;
        let id = &s.identity;
        let st = &s.stats;
        let [calls_day, minutes_day, calls_month, minutes_month] =
            r.limits_left().map(|(_, left)| left);
        Self {
            id: r.status.id.to_string(),
            profile: r.status.profile.clone(),
            state: state.into(),
            reason,
            routable: r.routable(),
            at_port: r.status.ports.as_ref().map(|p| p.at.display().to_string()),
            audio_port: r
                .status
                .ports
                .as_ref()
                .map(|p| p.audio.display().to_string()),
            model: match (&id.manufacturer, &id.model) {
                (Some(a), Some(b)) => Some(format!("{a} {b}")),
                (a, b) => a.clone().or_else(|| b.clone()),
            },
            firmware: id.firmware.clone(),
            imei: id.imei.as_ref().map(ToString::to_string),
            imsi: id.imsi.as_ref().map(ToString::to_string),
            iccid: id.iccid.as_ref().map(ToString::to_string),
            own_number: id.own_number.clone(),
            sim: name_of(&s.sim),
            operator: r.operator.clone(),
            network: s.operator.name.clone(),
            signal_dbm: r.signal().and_then(|g| g.dbm()),
            rssi: r.signal().map(|g| g.rssi).filter(|v| *v <= 31),
            registration: s.registration.as_ref().map(|g| name_of(&g.state)),
            call: s.call.map(|c| name_of(&c)),
            calls_today: r.calls_today,
            minutes_today: r.minutes_today,
            calls_month: r.calls_month,
            minutes_month: r.minutes_month,
            limits: Limits {
                calls_per_day: l.calls_per_day,
                minutes_per_day: l.minutes_per_day,
                calls_per_month: l.calls_per_month,
                minutes_per_month: l.minutes_per_month,
            },
            left: Limits {
                calls_per_day: calls_day,
                minutes_per_day: minutes_day,
                calls_per_month: calls_month,
                minutes_per_month: minutes_month,
            },
            rested_until_ms: r.rested.as_ref().map(|(u, _)| *u).filter(|u| *u > now_ms),
            counters: Counters {
                calls: st.calls,
                answered: st.answered,
                talk_seconds: st.talk_seconds,
                commands: st.commands,
                timeouts: st.timeouts,
                errors: st.errors,
                garbage: st.garbage,
                resets: r.status.resets,
                audio_frames_in: r.status.audio.frames_in,
                audio_frames_out: r.status.audio.frames_out,
            },
            recovery_rung: r.status.recovery_rung,
            last_error: r.status.last_fault.clone(),
        }
    }
}

/// Every modem of this node.
#[utoipa::path(get, path = "/api/modems", tag = "modems",
    responses((status = 200, description = "The modems, by id", body = [ModemView])))]
pub(super) async fn list(src: web::Data<Sources>) -> Result<HttpResponse, ApiError> {
    let now = e173gw_actors::wall_ms();
    let rows = src.router.send(ListSims).await?;
    let v: Vec<ModemView> = rows.iter().map(|r| ModemView::of(r, now)).collect();
    Ok(HttpResponse::Ok().json(v))
}

fn modem_id(id: &str) -> Result<ModemId, ApiError> {
    ModemId::parse(id).map_err(|e| ApiError::BadRequest(format!("modem id {id:?}: {e}")))
}

/// One modem.
#[utoipa::path(get, path = "/api/modems/{id}", tag = "modems",
    params(("id" = String, Path, description = "Modem id")),
    responses((status = 200, body = ModemView), (status = 404, body = super::ErrorBody)))]
pub(super) async fn detail(
    src: web::Data<Sources>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = modem_id(&id)?;
    let now = e173gw_actors::wall_ms();
    let rows = src.router.send(ListSims).await?;
    rows.iter()
        .find(|r| r.status.id == id)
        .map(|r| HttpResponse::Ok().json(ModemView::of(r, now)))
        .ok_or_else(|| ApiError::NotFound(format!("no modem {id} on this node")))
}

/// The body of an action (all fields optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ActionBody {
    /// `reset`: `soft` (init again, the default), `reopen` (close and reopen the ports)
    /// or `reboot` (`AT+CFUN=1,1`).
    kind: Option<String>,
    /// `rest`: seconds (1..=604800; default 600).
    seconds: Option<u32>,
    /// `disable`, `rest`: why, for the log and "why this SIM".
    reason: Option<String>,
}

const MAX_REST_S: u32 = 7 * 24 * 3600;

/// The action an API call names.
fn action(name: &str, b: ActionBody) -> Result<AdminAction, ApiError> {
    let reason = b.reason.unwrap_or_default();
    if reason.len() > 200 {
        return Err(ApiError::BadRequest(
            "reason: at most 200 characters".into(),
        ));
    }
    let reason_or = |d: &str| {
        if reason.trim().is_empty() {
            d.to_string()
        } else {
            reason.trim().to_string()
        }
    };
    Ok(match name {
        "reset" => AdminAction::Reset(match b.kind.as_deref().unwrap_or("soft") {
            "soft" => ResetKind::Soft,
            "reopen" => ResetKind::Reopen,
            "reboot" => ResetKind::Reboot,
            k => {
                return Err(ApiError::BadRequest(format!(
                    "kind {k:?}: must be soft, reopen or reboot"
                )))
            }
        }),
        "disable" => AdminAction::Disable {
            reason: reason_or("no reason given"),
        },
        "enable" => AdminAction::Enable,
        "rest" => {
            let seconds = b.seconds.unwrap_or(600);
            if !(1..=MAX_REST_S).contains(&seconds) {
                return Err(ApiError::BadRequest(format!(
                    "seconds: must be 1..={MAX_REST_S}"
                )));
            }
            AdminAction::Rest {
                seconds,
                reason: format!("rested by an operator: {}", reason_or("no reason given")),
            }
        }
        a => {
            return Err(ApiError::NotFound(format!(
                "no action {a:?}: reset, disable, enable or rest"
            )))
        }
    })
}

/// An operator action: `reset`, `disable`, `enable` or `rest`. Answers the modem after it.
#[utoipa::path(post, path = "/api/modems/{id}/{action}", tag = "modems",
    params(("id" = String, Path, description = "Modem id"),
           ("action" = String, Path, description = "reset, disable, enable or rest")),
    request_body(content = ActionBody, description = "Optional: kind (reset), seconds (rest), reason"),
    security(("bearer" = [])),
    responses((status = 200, body = ModemView), (status = 400, body = super::ErrorBody),
              (status = 401, body = super::ErrorBody), (status = 403, body = super::ErrorBody),
              (status = 404, body = super::ErrorBody)))]
pub(super) async fn act(
    who: Writer,
    src: web::Data<Sources>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (id, name) = path.into_inner();
    let id = modem_id(&id)?;
    let a = action(&name, super::json_or_default(&body)?)?;
    let detail = format!("{a:?}");
    let row = src
        .router
        .send(AdminModem {
            id: id.clone(),
            action: a,
        })
        .await?
        .map_err(|e| match e {
            AdminError::NoSuchModem(m) => ApiError::NotFound(format!("no modem {m} on this node")),
        })?;
    who.audit(&format!("modem {id} {name}"), &detail);
    Ok(HttpResponse::Ok().json(ModemView::of(&row, e173gw_actors::wall_ms())))
}

#[cfg(test)]
mod tests;
