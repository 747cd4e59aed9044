//! Received SMS: parts put together, the whole message stored before its parts leave
//! the SIM, status reports matched to what was sent, and delivery to the targets.

use actix::prelude::*;
use tracing::{info, warn};

use e173gw_core::domain::ModemId;
use e173gw_core::ports::StoreError;
use e173gw_core::sms::delivery::retry_delay_ms;
use e173gw_core::sms::message::{SmsDirection, SmsQuery, SmsRecord, SmsState};
use e173gw_core::sms::pdu::Received;
use e173gw_core::sms::reassembly::Whole;

use super::actor::SmsCenter;
use crate::modem::{SmsDeleteStored, SmsStored};
use crate::wall_ms;

/// A received message's id: the same content on the same SIM gets the same id, so a
/// message read twice (its delete lost in a crash) is stored once.
fn inbound_id(imsi: Option<&str>, w: &Whole) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (imsi, &w.from, &w.timestamp, w.reference, w.parts, &w.text).hash(&mut h);
    format!("sms-in-{:016x}", h.finish())
}

impl SmsCenter {
    /// Loads received messages not yet handed to every target (after a restart).
    pub(super) fn load_pending(&mut self, ctx: &mut Context<Self>) {
        let store = self.spec.store.clone();
        let q = SmsQuery {
            direction: Some(SmsDirection::Inbound),
            states: vec![SmsState::Received],
            number: None,
            limit: 10_000,
        };
        ctx.spawn(
            async move { store.find_sms(&q).await }
                .into_actor(self)
                .map(|found, act, ctx| match found {
                    Ok(list) => {
                        for rec in list {
                            act.deliveries.insert(rec.id.clone(), (rec, 0));
                        }
                        act.deliver_due(ctx);
                    }
                    Err(e) => warn!(error = %e, "Cannot load undelivered SMS; will try again."),
                }),
        );
    }

    fn keep_whole(
        &mut self,
        modem: ModemId,
        imsi: Option<String>,
        w: Whole,
        slots: Vec<(ModemId, u16)>,
    ) -> ResponseActFuture<Self, bool> {
        let now = wall_ms();
        let rec = SmsRecord {
            id: inbound_id(imsi.as_deref(), &w),
            direction: SmsDirection::Inbound,
            number: w.from.clone(),
            text: w.text.clone(),
            modem: Some(modem.to_string()),
            imsi,
            state: SmsState::Received,
            parts: w.parts,
            references: Vec::new(),
            status_report: false,
            attempts: 0,
            error: (w.missing > 0)
                .then(|| format!("{} of {} parts never came", w.missing, w.parts)),
            origin: w.timestamp.clone(),
            delivered_to: Vec::new(),
            created_ms: now,
            updated_ms: now,
        };
        let store = self.spec.store.clone();
        Box::pin(
            async move {
                match store.get_sms(&rec.id).await? {
                    Some(old) => Ok::<_, StoreError>((old, false)),
                    None => store.put_sms(&rec).await.map(|()| (rec, true)),
                }
            }
            .into_actor(self)
            .map(move |res, act, ctx| match res {
                Ok((rec, new)) => {
                    if new {
                        info!(sms = %rec.id, from = %rec.number, modem = %modem, parts = rec.parts, "SMS received.");
                        if rec.state == SmsState::Received {
                            act.deliveries.insert(rec.id.clone(), (rec, 0));
                            act.deliver_due(ctx);
                        }
                    }
                    // Other parts of the message leave the SIM now; the last one with the answer.
                    for (m, index) in slots {
                        if let Some(x) = act.modems.get(&m) {
                            x.addr.do_send(SmsDeleteStored { index });
                        }
                    }
                    true
                }
                Err(e) => {
                    warn!(error = %e, "Cannot store a received SMS; it stays on the SIM.");
                    false
                }
            }),
        )
    }

    fn on_report(
        &mut self,
        ctx: &mut Context<Self>,
        imsi: Option<String>,
        reference: u8,
        delivered: bool,
        failed: bool,
    ) {
        let Some(imsi) = imsi else { return };
        let Some(id) = self.reports.get(&(imsi.clone(), reference)).cloned() else {
            info!(imsi = %imsi, reference, "Status report for an SMS not in flight.");
            return;
        };
        if !(delivered || failed) {
            return; // the network is still trying
        }
        self.reports.remove(&(imsi, reference));
        let Some(out) = self.outgoing.get_mut(&id) else {
            return;
        };
        if delivered {
            out.delivered += 1;
        }
        if !out.settled(failed) {
            return; // other parts still to send or to report
        }
        out.rec.state = if failed {
            SmsState::Failed
        } else {
            SmsState::Delivered
        };
        if failed {
            out.rec.error = Some("the network could not deliver it".into());
        }
        out.rec.updated_ms = wall_ms();
        let rec = out.rec.clone();
        info!(sms = %id, state = rec.state.as_str(), "SMS status report.");
        if rec.state.is_final() {
            self.reports.retain(|_, v| *v != id);
            self.outgoing.remove(&id);
        }
        self.save(&rec, ctx);
    }

    /// Long texts whose parts stopped coming are kept with what arrived.
    pub(super) fn expire_parts(&mut self, ctx: &mut Context<Self>) {
        let wait = self.spec.sms.reassembly_wait_s.saturating_mul(1000);
        for w in self.reassembly.expire(wall_ms(), wait) {
            let slots = self
                .slots
                .remove(&(w.from.clone(), w.reference, w.parts))
                .unwrap_or_default();
            let Some((modem, _)) = slots.first().cloned() else {
                continue;
            };
            let imsi = self.imsi_of(&modem);
            let fut = self.keep_whole(modem, imsi, w, slots);
            ctx.spawn(fut.map(|_, _, _| ()));
        }
    }

    /// Tries the targets of every message whose time has come.
    pub(super) fn deliver_due(&mut self, ctx: &mut Context<Self>) {
        let now = wall_ms();
        let due: Vec<String> = self
            .deliveries
            .iter()
            .filter(|(_, (_, at))| *at != u64::MAX && *at <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            let Some((rec, at)) = self.deliveries.get_mut(&id) else {
                continue;
            };
            *at = u64::MAX; // in progress
            let rec = rec.clone();
            let attempt = super::io::deliver(self.http.clone(), self.spec.sms.clone(), rec);
            ctx.spawn(attempt.into_actor(self).map(move |rec, act, ctx| {
                let done = rec.state != SmsState::Received;
                let next = wall_ms() + retry_delay_ms(rec.attempts, act.spec.sms.retry_max_s * 1000);
                act.save(&rec, ctx);
                if done {
                    info!(sms = %rec.id, to = ?rec.delivered_to, "SMS handed on.");
                    act.deliveries.remove(&rec.id);
                } else {
                    warn!(sms = %rec.id, attempt = rec.attempts, error = ?rec.error, "SMS not handed on yet; will retry.");
                    act.deliveries.insert(rec.id.clone(), (rec, next));
                }
            }));
        }
    }
}

impl Handler<SmsStored> for SmsCenter {
    type Result = ResponseActFuture<Self, bool>;

    fn handle(&mut self, msg: SmsStored, ctx: &mut Context<Self>) -> Self::Result {
        let imsi = msg.imsi.as_ref().map(|i| i.to_string());
        let index = msg.sms.index;
        match msg.sms.message {
            Ok(Received::Status(r)) => {
                self.on_report(ctx, imsi, r.reference, r.delivered(), r.failed());
                Box::pin(fut::ready(true))
            }
            Ok(Received::Deliver(d)) => {
                let key = d.concat.map(|c| (d.from.clone(), c.reference, c.total));
                let now = wall_ms();
                match self.reassembly.add(d, now) {
                    Some(w) => {
                        let mut slots = self
                            .slots
                            .remove(&(w.from.clone(), w.reference, w.parts))
                            .unwrap_or_default();
                        // This part is deleted with the answer; the others by message.
                        slots.retain(|s| *s != (msg.modem.clone(), index));
                        self.keep_whole(msg.modem, imsi, w, slots)
                    }
                    None => {
                        if let Some(k) = key {
                            self.slots.entry(k).or_default().push((msg.modem, index));
                        }
                        // Stays on the SIM until its message is whole and stored.
                        Box::pin(fut::ready(false))
                    }
                }
            }
            Err(e) => {
                // Unreadable: kept as it came, so nothing is lost, then handed on as such.
                warn!(modem = %msg.modem, index, error = %e, "Unreadable SMS PDU; kept raw.");
                let w = Whole {
                    from: "unknown".into(),
                    timestamp: String::new(),
                    text: format!("[unreadable PDU {}]", msg.sms.pdu),
                    reference: 0,
                    parts: 1,
                    missing: 0,
                };
                self.keep_whole(msg.modem, imsi, w, Vec::new())
            }
        }
    }
}
