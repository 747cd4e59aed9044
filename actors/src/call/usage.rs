//! What a finished call adds to the shared state: per-SIM and per-trunk counters and the
//! sticky route of an answered modem call. Runs after the record is made and off the
//! call's path; storage trouble is logged, never fatal. (The inventory's lifetime usage
//! is not here: the record store adds it when it stores the record, so it is counted
//! once and survives a database outage with the record.)

use e173gw_core::ports::Window;
use e173gw_core::record::{CallRecord, RecordTarget};
use tracing::warn;

use super::CallEnv;

/// Accounts for a finished call, on the modem (and SIM) of its record's target: the one
/// that carried the call, not a modem that failed before another one or the agent took it.
pub(super) fn account(env: &CallEnv, r: &CallRecord) {
    let stores = env.seed.stores.clone();
    let sticky_ttl = env.seed.sticky_ttl;
    let at = r.ended_ms;
    let answered = r.answered_ms.is_some();
    let talk_s = r.talk_ms / 1000;
    let trunk = r.trunk.clone();
    let callee = r.callee.clone();
    let modem = match &r.target {
        RecordTarget::Modem { modem, imsi, .. } => Some((modem.clone(), imsi.clone())),
        RecordTarget::None | RecordTarget::Agent { .. } => None,
    };
    actix::spawn(async move {
        let mut errors = Vec::new();
        if let Some(t) = &trunk {
            if let Err(e) = stores
                .counters
                .add(&format!("trunk:{t}:calls"), Window::Day, at, 1)
                .await
            {
                errors.push(e);
            }
        }
        let Some((modem, imsi)) = modem else { return };
        if let Some(imsi) = &imsi {
            for window in [Window::Day, Window::Month] {
                let mut adds = vec![(format!("sim:{imsi}:calls"), 1)];
                if answered {
                    adds.push((format!("sim:{imsi}:answered"), 1));
                    adds.push((format!("sim:{imsi}:seconds"), talk_s as i64));
                }
                for (key, delta) in adds {
                    if let Err(e) = stores.counters.add(&key, window, at, delta).await {
                        errors.push(e);
                    }
                }
            }
        }
        if let (true, Some(ttl)) = (answered, sticky_ttl) {
            if let Err(e) = stores.sticky.set(&callee, &modem, at, ttl).await {
                errors.push(e);
            }
        }
        for e in errors {
            warn!(error = %e, "Usage not fully accounted.");
        }
    });
}
