//! Call records and the history queries over them.
//!
//! Each record is a row: the queried fields as columns and the whole record as JSON, so
//! `get` and `search` return exactly what was inserted.

use async_trait::async_trait;
use e173gw_core::at::cause::EndKind;
use e173gw_core::ports::{
    HistoryStore, LastOutcome, NumberHistory, Party, RecordQuery, RecordStore, Result, StoreError,
    Usage,
};
use e173gw_core::record::{CallRecord, RecordTarget};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use serde::Serialize;

use super::db::{bound, check_text, from_i64, to_i64, DbResult};
use super::inventory::add_usage;
use super::{in_tx, SqliteStore};

const INSERT: &str = "INSERT OR IGNORE INTO call_records
    (call_id, received_ms, ended_ms, caller, callee, trunk, modem, sip_status, end_reason,
     gsm_end, answered_ms, talk_ms, record)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

/// The serde name of a unit enum variant (`caller_hangup`, `no_answer`).
fn variant_name<T: Serialize>(v: &T) -> Result<String, StoreError> {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        Ok(other) => Err(StoreError::Backend(format!("not a unit variant: {other}"))),
        Err(e) => Err(StoreError::Backend(e.to_string())),
    }
}

/// Every text in a record, for the NUL check.
fn texts(r: &CallRecord) -> impl Iterator<Item = (&'static str, &str)> {
    let target: Vec<(&'static str, &str)> = match &r.target {
        RecordTarget::None => Vec::new(),
        RecordTarget::Modem {
            modem,
            imei,
            imsi,
            iccid,
        } => [Some(modem), imei.as_ref(), imsi.as_ref(), iccid.as_ref()]
            .into_iter()
            .flatten()
            .map(|s| ("target", s.as_str()))
            .collect(),
        RecordTarget::Agent { uri } => vec![("target", uri.as_str())],
        RecordTarget::Peer { node, modem, imsi } => [Some(node), Some(modem), imsi.as_ref()]
            .into_iter()
            .flatten()
            .map(|s| ("target", s.as_str()))
            .collect(),
    };
    [
        ("call_id", r.call_id.as_str()),
        ("caller", r.caller.as_str()),
        ("callee", r.callee.as_str()),
    ]
    .into_iter()
    .chain(r.trunk.as_deref().map(|t| ("trunk", t)))
    .chain(target)
    .chain(r.attempts.iter().flat_map(|a| {
        [
            ("attempts", a.modem.as_str()),
            ("attempts", a.detail.as_str()),
        ]
    }))
    .chain(r.verdict.iter().map(|v| ("verdict", v.as_str())))
    .chain(r.route.iter().map(|v| ("route", v.as_str())))
}

/// The columns of one record, checked; errors are [`StoreError::Invalid`].
fn insert_one(c: &Connection, r: &CallRecord) -> DbResult<usize> {
    for (field, s) in texts(r) {
        check_text(field, s)?;
    }
    let modem = match &r.target {
        RecordTarget::Modem { modem, .. } => Some(modem.as_str()),
        _ => None,
    };
    let gsm_end = r.gsm_end.as_ref().map(variant_name).transpose()?;
    let answered = r
        .answered_ms
        .map(|v| to_i64("answered_ms", v))
        .transpose()?;
    let json = serde_json::to_string(r)?;
    Ok(c.prepare_cached(INSERT)?.execute(params![
        r.call_id,
        to_i64("received_ms", r.received_ms)?,
        to_i64("ended_ms", r.ended_ms)?,
        r.caller,
        r.callee,
        r.trunk,
        modem,
        r.sip_status,
        variant_name(&r.end_reason)?,
        gsm_end,
        answered,
        to_i64("talk_ms", r.talk_ms)?,
        json,
    ])?)
}

/// `WHERE ...` for a query, and its parameters.
fn filter(q: &RecordQuery) -> Result<(String, Vec<Value>), StoreError> {
    let mut conds: Vec<&str> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    let mut text = |cond: &'static str, field: &str, v: &Option<String>| {
        if let Some(v) = v {
            check_text(field, v)?;
            conds.push(cond);
            args.push(Value::Text(v.clone()));
        }
        Ok::<_, StoreError>(())
    };
    text("(caller = ?{n} OR callee = ?{n})", "number", &q.number)?;
    text("caller = ?{n}", "caller", &q.caller)?;
    text("callee = ?{n}", "callee", &q.callee)?;
    text("trunk = ?{n}", "trunk", &q.trunk)?;
    text("modem = ?{n}", "modem", &q.modem)?;
    if let Some(s) = q.sip_status {
        conds.push("sip_status = ?{n}");
        args.push(Value::Integer(i64::from(s)));
    }
    match q.answered {
        Some(true) => conds.push("answered_ms IS NOT NULL"),
        Some(false) => conds.push("answered_ms IS NULL"),
        None => {}
    }
    if let Some(t) = q.from_ms {
        conds.push("received_ms >= ?{n}");
        args.push(Value::Integer(bound(t)));
    }
    if let Some(t) = q.to_ms {
        conds.push("received_ms < ?{n}");
        args.push(Value::Integer(bound(t)));
    }
    if conds.is_empty() {
        return Ok((String::new(), args));
    }
    let sql = conds
        .iter()
        .enumerate()
        .map(|(i, c)| c.replace("{n}", &(i + 1).to_string()))
        .collect::<Vec<_>>()
        .join(" AND ");
    Ok((format!("WHERE {sql}"), args))
}

fn parse_record(json: &str) -> DbResult<CallRecord> {
    Ok(serde_json::from_str(json)?)
}

#[async_trait]
impl RecordStore for SqliteStore {
    async fn insert(&self, records: &[CallRecord]) -> Result<usize> {
        if records.is_empty() {
            return Ok(0);
        }
        let records = records.to_vec();
        self.blocking(move |s| {
            s.db.write(|c| {
                in_tx(c, |tx| {
                    let mut new = Vec::new();
                    for r in &records {
                        if insert_one(tx, r)? > 0 {
                            new.push(r);
                        }
                    }
                    // A record stored for the first time counts in its modem's and SIM's
                    // lifetime usage, in the same transaction: once, and never lost.
                    for (imei, imsi, u) in Usage::of_calls(new.iter().copied()) {
                        add_usage(tx, &imei, imsi.as_deref(), &u)?;
                    }
                    Ok(new.len())
                })
            })
        })
        .await
    }

    async fn get(&self, call_id: &str) -> Result<Option<CallRecord>> {
        check_text("call_id", call_id)?;
        let call_id = call_id.to_owned();
        self.blocking(move |s| {
            s.db.read(|c| {
                let json: Option<String> = c
                    .prepare_cached("SELECT record FROM call_records WHERE call_id = ?1")?
                    .query_row([&call_id], |r| r.get(0))
                    .optional()?;
                json.as_deref().map(parse_record).transpose()
            })
        })
        .await
    }

    async fn search(&self, q: &RecordQuery) -> Result<Vec<CallRecord>> {
        let (cond, args) = filter(q)?;
        let sql = format!(
            "SELECT record FROM call_records {cond} ORDER BY received_ms DESC, rowid DESC LIMIT {} OFFSET {}",
            q.effective_limit(),
            q.offset
        );
        self.blocking(move |s| {
            s.db.read(|c| {
                let mut stmt = c.prepare_cached(&sql)?;
                let mut rows = stmt.query(params_from_iter(args))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    out.push(parse_record(&row.get::<_, String>(0)?)?);
                }
                Ok(out)
            })
        })
        .await
    }

    async fn count(&self, q: &RecordQuery) -> Result<u64> {
        let (cond, args) = filter(q)?;
        let sql = format!("SELECT count(*) FROM call_records {cond}");
        self.blocking(move |s| {
            s.db.read(|c| {
                let n: i64 = c
                    .prepare_cached(&sql)?
                    .query_row(params_from_iter(args), |r| r.get(0))?;
                Ok(from_i64(n))
            })
        })
        .await
    }
}

// The history queries run on every call the filters see and are answered from the
// covering indexes `call_records_{caller,callee}_history` (migrations/sqlite/V2): a column
// read here must be in them, which `history_queries_read_only_a_covering_index` checks.

/// Aggregates over one party's calls; `?1` number, `?2` since, `?3` short-call threshold.
pub(super) const CALLER_STATS: &str = "SELECT count(*), count(answered_ms),
        coalesce(sum(answered_ms IS NOT NULL AND talk_ms < ?3), 0), count(DISTINCT callee),
        coalesce(sum(answered_ms IS NULL AND gsm_end IN ('busy', 'no_answer', 'rejected', 'unassigned', 'invalid_number', 'unreachable')
            AND received_ms > coalesce((SELECT max(received_ms)
            FROM call_records WHERE caller = ?1 AND received_ms >= ?2 AND end_reason <> 'screened'
            AND answered_ms IS NOT NULL), -1)), 0)
    FROM call_records WHERE caller = ?1 AND received_ms >= ?2 AND end_reason <> 'screened'";
pub(super) const CALLEE_STATS: &str = "SELECT count(*), count(answered_ms),
        coalesce(sum(answered_ms IS NOT NULL AND talk_ms < ?3), 0), count(DISTINCT caller),
        coalesce(sum(answered_ms IS NULL AND gsm_end IN ('busy', 'no_answer', 'rejected', 'unassigned', 'invalid_number', 'unreachable')
            AND received_ms > coalesce((SELECT max(received_ms)
            FROM call_records WHERE callee = ?1 AND received_ms >= ?2 AND end_reason <> 'screened'
            AND answered_ms IS NOT NULL), -1)), 0)
    FROM call_records WHERE callee = ?1 AND received_ms >= ?2 AND end_reason <> 'screened'";
pub(super) const CALLER_LAST: &str = "SELECT received_ms, sip_status, gsm_end, talk_ms
    FROM call_records WHERE caller = ?1 AND received_ms >= ?2 AND end_reason <> 'screened'
    ORDER BY received_ms DESC, rowid DESC LIMIT 1";
pub(super) const CALLEE_LAST: &str = "SELECT received_ms, sip_status, gsm_end, talk_ms
    FROM call_records WHERE callee = ?1 AND received_ms >= ?2 AND end_reason <> 'screened'
    ORDER BY received_ms DESC, rowid DESC LIMIT 1";

fn parse_end(s: Option<String>) -> DbResult<Option<EndKind>> {
    Ok(
        s.map(|s| serde_json::from_value(serde_json::Value::String(s)))
            .transpose()?,
    )
}

#[async_trait]
impl HistoryStore for SqliteStore {
    async fn number_history(
        &self,
        party: Party,
        number: &str,
        since_ms: u64,
        short_call_ms: u64,
    ) -> Result<NumberHistory> {
        check_text("number", number)?;
        let number = number.to_owned();
        let (stats, last) = match party {
            Party::Caller => (CALLER_STATS, CALLER_LAST),
            Party::Callee => (CALLEE_STATS, CALLEE_LAST),
        };
        self.blocking(move |s| {
            s.db.read(|c| {
                let since = bound(since_ms);
                let (attempts, answered, short_calls, distinct_peers, failures) = c
                    .prepare_cached(stats)?
                    .query_row(params![number, since, bound(short_call_ms)], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, i64>(3)?,
                            r.get::<_, i64>(4)?,
                        ))
                    })?;
                let last = c
                    .prepare_cached(last)?
                    .query_row(params![number, since], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, u16>(1)?,
                            r.get::<_, Option<String>>(2)?,
                            r.get::<_, i64>(3)?,
                        ))
                    })
                    .optional()?;
                let last = match last {
                    Some((at, sip_status, gsm_end, talk)) => Some(LastOutcome {
                        at_ms: from_i64(at),
                        sip_status,
                        gsm_end: parse_end(gsm_end)?,
                        talk_ms: from_i64(talk),
                    }),
                    None => None,
                };
                Ok(NumberHistory {
                    attempts: from_i64(attempts),
                    answered: from_i64(answered),
                    short_calls: from_i64(short_calls),
                    distinct_peers: from_i64(distinct_peers),
                    consecutive_failures: from_i64(failures),
                    last,
                })
            })
        })
        .await
    }
}
