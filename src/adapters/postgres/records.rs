//! Call records in a table partitioned by month of `received_ms`.
//!
//! Partitions are named `call_records_yYYYYmMM` and cover `[first ms of the month, first
//! ms of the next)` in UTC. Before a batch goes in, the partition of each of its months
//! is made to exist (once per month and process: the store remembers the months it has
//! seen). Creating one takes a per-schema advisory lock, so gateways sharing the schema
//! do not race, and moves any rows of that month out of the default partition first.
//! Records received outside [`FIRST_YEAR`]..[`END_YEAR`] (a broken clock) get no
//! partition of their own and land in `call_records_default`.

use std::collections::{BTreeSet, HashSet};

use async_trait::async_trait;
use e173gw_core::ports::{days_from_civil, RecordQuery, RecordStore, Result, StoreError, Usage};
use e173gw_core::record::{CallRecord, RecordTarget};
use serde::Serialize;
use tokio_postgres::types::ToSql;

use super::error::{clamp_i64, col, pg_error, to_i64, to_u64};
use super::inventory::add_usage;
use super::PgStore;

/// First year with monthly partitions.
pub(super) const FIRST_YEAR: i64 = 2000;
/// First year without monthly partitions.
pub(super) const END_YEAR: i64 = 2200;

const DAY_MS: i64 = 86_400_000;

/// The batch insert: one statement over arrays, so a batch is all or nothing and costs
/// one round trip. A Call-ID already stored (under any `received_ms`) is skipped; the
/// unique key catches concurrent inserts of the same record.
const INSERT: &str = "\
INSERT INTO call_records (call_id, received_ms, trunk, caller, callee, modem, target_kind, \
    answered_ms, ended_ms, sip_status, end_reason, gsm_end, q850, talk_ms, verdict, record) \
SELECT u.call_id, u.received_ms, u.trunk, u.caller, u.callee, u.modem, u.target_kind, \
    u.answered_ms, u.ended_ms, u.sip_status, u.end_reason, u.gsm_end, u.q850, u.talk_ms, \
    u.record -> 'verdict', u.record \
FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::text[], \
    $7::text[], $8::int8[], $9::int8[], $10::int4[], $11::text[], $12::text[], $13::int4[], \
    $14::int8[], $15::jsonb[]) \
    AS u(call_id, received_ms, trunk, caller, callee, modem, target_kind, answered_ms, \
    ended_ms, sip_status, end_reason, gsm_end, q850, talk_ms, record) \
WHERE NOT EXISTS (SELECT 1 FROM call_records c WHERE c.call_id = u.call_id) \
ON CONFLICT (call_id, received_ms) DO NOTHING \
RETURNING call_id";

/// Months since year 0 (`year * 12 + month - 1`) of `received_ms`, when it gets a
/// partition of its own.
pub(super) fn month_index(received_ms: u64) -> Option<i64> {
    let days = i64::try_from(received_ms / 86_400_000).ok()?;
    let (y, m, _) = e173gw_core::ports::civil_from_days(days);
    (FIRST_YEAR..END_YEAR)
        .contains(&y)
        .then_some(y * 12 + i64::from(m) - 1)
}

/// The partition of a month: its name and `[from, to)` bounds in Unix ms.
pub(super) fn partition(month: i64) -> (String, i64, i64) {
    let (y, m) = (month.div_euclid(12), month.rem_euclid(12) as u32 + 1);
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    (
        format!("call_records_y{y:04}m{m:02}"),
        days_from_civil(y, m, 1) * DAY_MS,
        days_from_civil(ny, nm, 1) * DAY_MS,
    )
}

/// The serde name of a unit enum variant (`caller_hangup`, `busy`).
pub(super) fn variant_name<T: Serialize>(v: &T) -> Result<String> {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        Ok(other) => Err(StoreError::Backend(format!("not a unit variant: {other}"))),
        Err(e) => Err(StoreError::Backend(e.to_string())),
    }
}

/// A batch as column arrays.
#[derive(Debug, Default)]
struct Columns {
    call_id: Vec<String>,
    received_ms: Vec<i64>,
    trunk: Vec<Option<String>>,
    caller: Vec<String>,
    callee: Vec<String>,
    modem: Vec<Option<String>>,
    target_kind: Vec<&'static str>,
    answered_ms: Vec<Option<i64>>,
    ended_ms: Vec<i64>,
    sip_status: Vec<i32>,
    end_reason: Vec<String>,
    gsm_end: Vec<Option<String>>,
    q850: Vec<Option<i32>>,
    talk_ms: Vec<i64>,
    record: Vec<serde_json::Value>,
    /// Months with a partition of their own that the batch touches.
    months: BTreeSet<i64>,
}

impl Columns {
    /// Splits a batch into columns, keeping the first of records sharing a Call-ID.
    fn new(records: &[CallRecord]) -> Result<Self> {
        let mut c = Columns::default();
        let mut ids = HashSet::with_capacity(records.len());
        for r in records {
            if !ids.insert(r.call_id.as_str()) {
                continue;
            }
            let (kind, modem) = match &r.target {
                RecordTarget::None => ("none", None),
                RecordTarget::Modem { modem, .. } => ("modem", Some(modem.clone())),
                RecordTarget::Agent { .. } => ("agent", None),
                RecordTarget::Peer { node, modem, .. } => ("peer", Some(format!("{node}.{modem}"))),
            };
            c.call_id.push(r.call_id.clone());
            c.received_ms.push(to_i64(r.received_ms, "received_ms")?);
            c.trunk.push(r.trunk.clone());
            c.caller.push(r.caller.clone());
            c.callee.push(r.callee.clone());
            c.modem.push(modem);
            c.target_kind.push(kind);
            c.answered_ms.push(
                r.answered_ms
                    .map(|v| to_i64(v, "answered_ms"))
                    .transpose()?,
            );
            c.ended_ms.push(to_i64(r.ended_ms, "ended_ms")?);
            c.sip_status.push(i32::from(r.sip_status));
            c.end_reason.push(variant_name(&r.end_reason)?);
            c.gsm_end
                .push(r.gsm_end.as_ref().map(variant_name).transpose()?);
            c.q850.push(r.q850.map(i32::from));
            c.talk_ms.push(to_i64(r.talk_ms, "talk_ms")?);
            c.record
                .push(serde_json::to_value(r).map_err(|e| StoreError::Invalid(e.to_string()))?);
            if let Some(m) = month_index(r.received_ms) {
                c.months.insert(m);
            }
        }
        Ok(c)
    }
}

/// The WHERE clause of a search and its parameters.
struct Filter {
    /// `WHERE ...` or empty.
    sql: String,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Filter {
    fn new(q: &RecordQuery) -> Self {
        let mut f = Filter {
            sql: String::new(),
            params: Vec::new(),
        };
        let mut conds: Vec<String> = Vec::new();
        if let Some(n) = &q.number {
            let i = f.push(n.clone());
            conds.push(format!("(caller = ${i} OR callee = ${i})"));
        }
        for (column, value) in [
            ("caller", &q.caller),
            ("callee", &q.callee),
            ("trunk", &q.trunk),
            ("modem", &q.modem),
        ] {
            if let Some(v) = value {
                let i = f.push(v.clone());
                conds.push(format!("{column} = ${i}"));
            }
        }
        if let Some(s) = q.sip_status {
            let i = f.push(i32::from(s));
            conds.push(format!("sip_status = ${i}"));
        }
        match q.answered {
            Some(true) => conds.push("answered_ms IS NOT NULL".into()),
            Some(false) => conds.push("answered_ms IS NULL".into()),
            None => {}
        }
        if let Some(from) = q.from_ms {
            let i = f.push(clamp_i64(from));
            conds.push(format!("received_ms >= ${i}"));
        }
        if let Some(to) = q.to_ms {
            let i = f.push(clamp_i64(to));
            conds.push(format!("received_ms < ${i}"));
        }
        if !conds.is_empty() {
            f.sql = format!("WHERE {}", conds.join(" AND "));
        }
        f
    }

    /// Adds a parameter; returns its number.
    fn push(&mut self, v: impl ToSql + Sync + Send + 'static) -> usize {
        self.params.push(Box::new(v));
        self.params.len()
    }

    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

/// A stored record read back.
fn decode(v: serde_json::Value) -> Result<CallRecord> {
    serde_json::from_value(v).map_err(|e| StoreError::Backend(format!("stored record: {e}")))
}

// === impl PgStore ===

impl PgStore {
    /// Makes the partition of `month` exist (see the module docs).
    async fn ensure_partition(
        &self,
        client: &mut deadpool_postgres::Object,
        month: i64,
    ) -> Result<()> {
        if self.known_partition(month) {
            return Ok(());
        }
        let (name, from, to) = partition(month);
        let tx = client.transaction().await.map_err(|e| pg_error(&e))?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.call_records.partitions'))",
            &[],
        )
        .await
        .map_err(|e| pg_error(&e))?;
        let exists: bool = tx
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&name])
            .await
            .map_err(|e| pg_error(&e))
            .and_then(|r| col(&r, 0))?;
        if !exists {
            tx.batch_execute(&format!(
                "CREATE TABLE {name} (LIKE call_records INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
                 WITH moved AS (DELETE FROM call_records_default
                     WHERE received_ms >= {from} AND received_ms < {to} RETURNING *)
                 INSERT INTO {name} SELECT * FROM moved;
                 ALTER TABLE call_records ATTACH PARTITION {name} FOR VALUES FROM ({from}) TO ({to});"
            ))
            .await
            .map_err(|e| pg_error(&e))?;
            tracing::info!(partition = %name, "Created call record partition.");
        }
        tx.commit().await.map_err(|e| pg_error(&e))?;
        self.remember_partition(month);
        Ok(())
    }

    fn remember_partition(&self, month: i64) {
        if let Ok(mut known) = self.partitions.lock() {
            known.insert(month);
        }
    }

    fn known_partition(&self, month: i64) -> bool {
        self.partitions
            .lock()
            .map(|known| known.contains(&month))
            .unwrap_or(false)
    }
}

#[async_trait]
impl RecordStore for PgStore {
    async fn insert(&self, records: &[CallRecord]) -> Result<usize> {
        if records.is_empty() {
            return Ok(0);
        }
        let c = Columns::new(records)?;
        self.run(async {
            let mut client = self.client().await?;
            for &month in &c.months {
                if let Err(e) = self.ensure_partition(&mut client, month).await {
                    if e.is_retryable() {
                        return Err(e);
                    }
                    // Not for want of a partition: the default one takes the rows.
                    tracing::warn!(error = %e, month, "Cannot create a call record partition; its records go to the default partition.");
                    self.remember_partition(month);
                }
            }
            let tx = client.transaction().await.map_err(|e| pg_error(&e))?;
            let stmt = tx.prepare_cached(INSERT).await.map_err(|e| pg_error(&e))?;
            let rows = tx
                .query(
                    &stmt,
                    &[
                        &c.call_id,
                        &c.received_ms,
                        &c.trunk,
                        &c.caller,
                        &c.callee,
                        &c.modem,
                        &c.target_kind,
                        &c.answered_ms,
                        &c.ended_ms,
                        &c.sip_status,
                        &c.end_reason,
                        &c.gsm_end,
                        &c.q850,
                        &c.talk_ms,
                        &c.record,
                    ],
                )
                .await
                .map_err(|e| pg_error(&e))?;
            let mut stored = rows
                .iter()
                .map(|r| col::<String>(r, 0))
                .collect::<Result<HashSet<_>>>()?;
            // A record stored for the first time counts in its modem's and SIM's lifetime
            // usage, in the same transaction: once, and never lost.
            let new: Vec<&CallRecord> = records
                .iter()
                .filter(|r| stored.remove(&r.call_id))
                .collect();
            for (imei, imsi, u) in Usage::of_calls(new.iter().copied()) {
                add_usage(&tx, &imei, imsi.as_deref(), &u).await?;
            }
            tx.commit().await.map_err(|e| pg_error(&e))?;
            Ok(new.len())
        })
        .await
    }

    async fn get(&self, call_id: &str) -> Result<Option<CallRecord>> {
        let rows = self
            .query(
                "SELECT record FROM call_records WHERE call_id = $1 \
                 ORDER BY received_ms, seq LIMIT 1",
                &[&call_id],
            )
            .await?;
        rows.first().map(|r| decode(col(r, 0)?)).transpose()
    }

    async fn search(&self, q: &RecordQuery) -> Result<Vec<CallRecord>> {
        let f = Filter::new(q);
        let sql = format!(
            "SELECT record FROM call_records {} ORDER BY received_ms DESC, seq DESC LIMIT {} OFFSET {}",
            f.sql,
            q.effective_limit(),
            q.offset
        );
        let rows = self.query(&sql, &f.refs()).await?;
        rows.iter().map(|r| decode(col(r, 0)?)).collect()
    }

    async fn count(&self, q: &RecordQuery) -> Result<u64> {
        let f = Filter::new(q);
        let sql = format!("SELECT count(*) FROM call_records {}", f.sql);
        let rows = self.query(&sql, &f.refs()).await?;
        rows.first().map_or(Ok(0), |r| Ok(to_u64(col(r, 0)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_partition_bounds() {
        // 2026-11-22T18:00:00Z
        let t = 1_795_370_400_000;
        let m = month_index(t).expect("in range");
        let (name, from, to) = partition(m);
        assert_eq!(name, "call_records_y2026m11");
        assert!(from <= t as i64 && (t as i64) < to);
        assert_eq!(partition(m + 1).1, to, "months are contiguous");
        let (dec, _, dec_end) = partition(2026 * 12 + 11);
        assert_eq!(dec, "call_records_y2026m12");
        assert_eq!(
            partition(2027 * 12).1,
            dec_end,
            "December ends where January starts"
        );
        assert_eq!(month_index(0), None, "1970 goes to the default partition");
        assert_eq!(month_index(u64::MAX), None);
    }

    #[test]
    fn filters_number_their_parameters() {
        let q = RecordQuery {
            number: Some("1".into()),
            trunk: Some("t".into()),
            sip_status: Some(486),
            from_ms: Some(5),
            ..RecordQuery::default()
        };
        let f = Filter::new(&q);
        assert_eq!(
            f.sql,
            "WHERE (caller = $1 OR callee = $1) AND trunk = $2 AND sip_status = $3 AND received_ms >= $4"
        );
        assert_eq!(f.params.len(), 4);
        assert_eq!(Filter::new(&RecordQuery::default()).sql, "");
    }
}
