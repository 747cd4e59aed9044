//! Modems and SIMs the gateway has seen, with lifetime counters.
//!
//! Usage reported for a modem or SIM not seen yet is kept (a row without a first-seen
//! time, listed with 0), and the first `seen` fills in the times.

use async_trait::async_trait;
use e173gw_core::ports::{InventoryStore, ModemEntry, ModemSeen, Result, SimEntry, Usage};
use rusqlite::{params, Connection, Row};

use super::db::{check_text, from_i64, to_i64, DbResult};
use super::{in_tx, SqliteStore};

fn usage(r: &Row<'_>, first: usize) -> rusqlite::Result<Usage> {
    Ok(Usage {
        calls: from_i64(r.get(first)?),
        answered: from_i64(r.get(first + 1)?),
        talk_seconds: from_i64(r.get(first + 2)?),
    })
}

fn modem(r: &Row<'_>) -> rusqlite::Result<ModemEntry> {
    Ok(ModemEntry {
        seen: ModemSeen {
            imei: r.get(0)?,
            modem_id: r.get(1)?,
            model: r.get(2)?,
            firmware: r.get(3)?,
            imsi: r.get(4)?,
            iccid: r.get(5)?,
            operator: r.get(6)?,
            own_number: r.get(7)?,
        },
        first_seen_ms: from_i64(r.get::<_, Option<i64>>(8)?.unwrap_or(0)),
        last_seen_ms: from_i64(r.get(9)?),
        usage: usage(r, 10)?,
    })
}

fn sim(r: &Row<'_>) -> rusqlite::Result<SimEntry> {
    Ok(SimEntry {
        imsi: r.get(0)?,
        iccid: r.get(1)?,
        operator: r.get(2)?,
        own_number: r.get(3)?,
        last_imei: r.get(4)?,
        first_seen_ms: from_i64(r.get::<_, Option<i64>>(5)?.unwrap_or(0)),
        last_seen_ms: from_i64(r.get(6)?),
        usage: usage(r, 7)?,
    })
}

#[async_trait]
impl InventoryStore for SqliteStore {
    async fn seen(&self, m: &ModemSeen, at_ms: u64) -> Result<()> {
        let texts = [
            Some(&m.imei),
            Some(&m.modem_id),
            m.model.as_ref(),
            m.firmware.as_ref(),
            m.imsi.as_ref(),
            m.iccid.as_ref(),
            m.operator.as_ref(),
            m.own_number.as_ref(),
        ];
        for t in texts.into_iter().flatten() {
            check_text("modem", t)?;
        }
        let at = to_i64("at_ms", at_ms)?;
        let m = m.clone();
        self.blocking(move |s| {
            s.db.write(|c| {
                in_tx(c, |tx| {
                    tx.prepare_cached(
                        "INSERT INTO modems (imei, modem_id, model, firmware, imsi, iccid,
                             operator, own_number, first_seen_ms, last_seen_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
                         ON CONFLICT (imei) DO UPDATE SET
                             modem_id = excluded.modem_id, model = excluded.model,
                             firmware = excluded.firmware, imsi = excluded.imsi,
                             iccid = excluded.iccid, operator = excluded.operator,
                             own_number = excluded.own_number,
                             first_seen_ms = coalesce(first_seen_ms, excluded.first_seen_ms),
                             last_seen_ms = excluded.last_seen_ms",
                    )?
                    .execute(params![
                        m.imei,
                        m.modem_id,
                        m.model,
                        m.firmware,
                        m.imsi,
                        m.iccid,
                        m.operator,
                        m.own_number,
                        at
                    ])?;
                    if let Some(imsi) = &m.imsi {
                        tx.prepare_cached(
                            "INSERT INTO sims (imsi, iccid, operator, own_number, last_imei,
                                 first_seen_ms, last_seen_ms)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
                             ON CONFLICT (imsi) DO UPDATE SET
                                 iccid = excluded.iccid, operator = excluded.operator,
                                 own_number = excluded.own_number, last_imei = excluded.last_imei,
                                 first_seen_ms = coalesce(first_seen_ms, excluded.first_seen_ms),
                                 last_seen_ms = excluded.last_seen_ms",
                        )?
                        .execute(params![
                            imsi,
                            m.iccid,
                            m.operator,
                            m.own_number,
                            m.imei,
                            at
                        ])?;
                    }
                    Ok(())
                })
            })
        })
        .await
    }

    async fn add_usage(&self, imei: &str, imsi: Option<&str>, u: &Usage) -> Result<()> {
        let imei = imei.to_owned();
        let imsi = imsi.map(str::to_owned);
        let u = *u;
        self.blocking(move |s| {
            s.db.write(|c| in_tx(c, |tx| add_usage(tx, &imei, imsi.as_deref(), &u)))
        })
        .await
    }

    async fn modems(&self) -> Result<Vec<ModemEntry>> {
        self.blocking(|s| {
            s.db.read(|c| {
                let mut stmt = c.prepare_cached(
                    "SELECT imei, modem_id, model, firmware, imsi, iccid, operator, own_number,
                         first_seen_ms, last_seen_ms, calls, answered, talk_seconds
                     FROM modems ORDER BY imei",
                )?;
                let rows = stmt.query_map([], modem)?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
        })
        .await
    }

    async fn sims(&self) -> Result<Vec<SimEntry>> {
        self.blocking(|s| {
            s.db.read(|c| {
                let mut stmt = c.prepare_cached(
                    "SELECT imsi, iccid, operator, own_number, last_imei, first_seen_ms,
                         last_seen_ms, calls, answered, talk_seconds
                     FROM sims ORDER BY imsi",
                )?;
                let rows = stmt.query_map([], sim)?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
        })
        .await
    }
}

/// Adds `u` to the lifetime counters of modem `imei` and SIM `imsi`, creating their rows
/// when they have not been seen yet; inside the caller's transaction.
pub(super) fn add_usage(c: &Connection, imei: &str, imsi: Option<&str>, u: &Usage) -> DbResult<()> {
    check_text("imei", imei)?;
    if let Some(imsi) = imsi {
        check_text("imsi", imsi)?;
    }
    let (calls, answered, talk) = (
        to_i64("calls", u.calls)?,
        to_i64("answered", u.answered)?,
        to_i64("talk_seconds", u.talk_seconds)?,
    );
    c.prepare_cached(
        "INSERT INTO modems (imei, modem_id, last_seen_ms, calls, answered, talk_seconds)
         VALUES (?1, '', 0, ?2, ?3, ?4)
         ON CONFLICT (imei) DO UPDATE SET calls = calls + excluded.calls,
             answered = answered + excluded.answered,
             talk_seconds = talk_seconds + excluded.talk_seconds",
    )?
    .execute(params![imei, calls, answered, talk])?;
    if let Some(imsi) = imsi {
        c.prepare_cached(
            "INSERT INTO sims (imsi, last_imei, last_seen_ms, calls, answered, talk_seconds)
             VALUES (?1, ?2, 0, ?3, ?4, ?5)
             ON CONFLICT (imsi) DO UPDATE SET calls = calls + excluded.calls,
                 answered = answered + excluded.answered,
                 talk_seconds = talk_seconds + excluded.talk_seconds",
        )?
        .execute(params![imsi, imei, calls, answered, talk])?;
    }
    Ok(())
}
