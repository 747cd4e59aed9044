//! Modems and SIMs the gateway has seen, with lifetime counters.
//!
//! `seen` upserts the modem and its SIM in one statement (first seen kept, the rest
//! replaced by what was seen last); `add_usage` increments both rows' counters in one
//! statement (`x = x + n`, atomic under concurrent updates). Usage reported for a modem
//! or SIM not seen yet is kept (a row without a first-seen time, listed with 0), and the
//! first `seen` fills in the times.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use e173gw_core::ports::{InventoryStore, ModemEntry, ModemSeen, Result, SimEntry, Usage};
use tokio_postgres::Row;

use super::error::{col, pg_error, to_i64, to_u64};
use super::PgStore;

/// Upserts the modem and, when a SIM is in, the SIM.
const SEEN: &str = "\
WITH modem AS ( \
    INSERT INTO modems (imei, modem_id, model, firmware, imsi, iccid, operator, own_number, \
        first_seen_ms, last_seen_ms) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
    ON CONFLICT (imei) DO UPDATE SET modem_id = EXCLUDED.modem_id, model = EXCLUDED.model, \
        firmware = EXCLUDED.firmware, imsi = EXCLUDED.imsi, iccid = EXCLUDED.iccid, \
        operator = EXCLUDED.operator, own_number = EXCLUDED.own_number, \
        first_seen_ms = coalesce(modems.first_seen_ms, EXCLUDED.first_seen_ms), \
        last_seen_ms = EXCLUDED.last_seen_ms \
) \
INSERT INTO sims (imsi, iccid, operator, own_number, last_imei, first_seen_ms, last_seen_ms) \
SELECT $5, $6, $7, $8, $1, $9, $9 WHERE $5::text IS NOT NULL \
ON CONFLICT (imsi) DO UPDATE SET iccid = EXCLUDED.iccid, operator = EXCLUDED.operator, \
    own_number = EXCLUDED.own_number, last_imei = EXCLUDED.last_imei, \
    first_seen_ms = coalesce(sims.first_seen_ms, EXCLUDED.first_seen_ms), \
    last_seen_ms = EXCLUDED.last_seen_ms";

/// Adds usage to the modem and (when `$5` is set) the SIM, creating rows not seen yet.
const ADD_USAGE: &str = "\
WITH modem AS ( \
    INSERT INTO modems (imei, modem_id, last_seen_ms, calls, answered, talk_seconds) \
    VALUES ($1, '', 0, $2, $3, $4) \
    ON CONFLICT (imei) DO UPDATE SET calls = modems.calls + EXCLUDED.calls, \
        answered = modems.answered + EXCLUDED.answered, \
        talk_seconds = modems.talk_seconds + EXCLUDED.talk_seconds \
) \
INSERT INTO sims (imsi, last_imei, last_seen_ms, calls, answered, talk_seconds) \
SELECT $5, $1, 0, $2, $3, $4 WHERE $5::text IS NOT NULL \
ON CONFLICT (imsi) DO UPDATE SET calls = sims.calls + EXCLUDED.calls, \
    answered = sims.answered + EXCLUDED.answered, \
    talk_seconds = sims.talk_seconds + EXCLUDED.talk_seconds";

const MODEMS: &str = "\
SELECT imei, modem_id, model, firmware, imsi, iccid, operator, own_number, first_seen_ms, \
    last_seen_ms, calls, answered, talk_seconds FROM modems ORDER BY imei";

const SIMS: &str = "\
SELECT imsi, iccid, operator, own_number, last_imei, first_seen_ms, last_seen_ms, calls, \
    answered, talk_seconds FROM sims ORDER BY imsi";

/// Lifetime counters from three columns starting at `at`.
fn usage(row: &Row, at: usize) -> Result<Usage> {
    Ok(Usage {
        calls: to_u64(col(row, at)?),
        answered: to_u64(col(row, at + 1)?),
        talk_seconds: to_u64(col(row, at + 2)?),
    })
}

fn modem(row: &Row) -> Result<ModemEntry> {
    Ok(ModemEntry {
        seen: ModemSeen {
            imei: col(row, 0)?,
            modem_id: col(row, 1)?,
            model: col(row, 2)?,
            firmware: col(row, 3)?,
            imsi: col(row, 4)?,
            iccid: col(row, 5)?,
            operator: col(row, 6)?,
            own_number: col(row, 7)?,
        },
        first_seen_ms: col::<Option<i64>>(row, 8)?.map_or(0, to_u64),
        last_seen_ms: to_u64(col(row, 9)?),
        usage: usage(row, 10)?,
    })
}

fn sim(row: &Row) -> Result<SimEntry> {
    Ok(SimEntry {
        imsi: col(row, 0)?,
        iccid: col(row, 1)?,
        operator: col(row, 2)?,
        own_number: col(row, 3)?,
        last_imei: col(row, 4)?,
        first_seen_ms: col::<Option<i64>>(row, 5)?.map_or(0, to_u64),
        last_seen_ms: to_u64(col(row, 6)?),
        usage: usage(row, 7)?,
    })
}

#[async_trait]
impl InventoryStore for PgStore {
    async fn seen(&self, m: &ModemSeen, at_ms: u64) -> Result<()> {
        let at = to_i64(at_ms, "at_ms")?;
        self.execute(
            SEEN,
            &[
                &m.imei,
                &m.modem_id,
                &m.model,
                &m.firmware,
                &m.imsi,
                &m.iccid,
                &m.operator,
                &m.own_number,
                &at,
            ],
        )
        .await?;
        Ok(())
    }

    async fn add_usage(&self, imei: &str, imsi: Option<&str>, u: &Usage) -> Result<()> {
        self.run(async {
            let client = self.client().await?;
            add_usage(&client, imei, imsi, u).await
        })
        .await
    }

    async fn modems(&self) -> Result<Vec<ModemEntry>> {
        self.query(MODEMS, &[]).await?.iter().map(modem).collect()
    }

    async fn sims(&self) -> Result<Vec<SimEntry>> {
        self.query(SIMS, &[]).await?.iter().map(sim).collect()
    }
}

/// Adds `u` to the lifetime counters of modem `imei` and SIM `imsi` (see [`ADD_USAGE`]),
/// on `client`: a pooled connection, or the transaction of a record batch.
pub(super) async fn add_usage(
    client: &impl GenericClient,
    imei: &str,
    imsi: Option<&str>,
    u: &Usage,
) -> Result<()> {
    let calls = to_i64(u.calls, "calls")?;
    let answered = to_i64(u.answered, "answered")?;
    let talk = to_i64(u.talk_seconds, "talk_seconds")?;
    let stmt = client
        .prepare_cached(ADD_USAGE)
        .await
        .map_err(|e| pg_error(&e))?;
    client
        .execute(&stmt, &[&imei, &calls, &answered, &talk, &imsi])
        .await
        .map_err(|e| pg_error(&e))?;
    Ok(())
}
