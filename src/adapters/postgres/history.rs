//! Per-number history: aggregates over the call records.
//!
//! Both queries range over one number and a window of `received_ms`, which the
//! `(callee, received_ms)` and `(caller, received_ms)` indexes serve directly; those
//! indexes carry the peer, answer time and talk time, so the aggregate is an index-only
//! scan. The two statements are pipelined on one connection. Among calls received in the
//! same millisecond, the one inserted last is the last call.

use async_trait::async_trait;
use e173gw_core::at::cause::EndKind;
use e173gw_core::ports::{HistoryStore, LastOutcome, NumberHistory, Party, Result};

use super::error::{clamp_i64, col, pg_error, to_u64};
use tokio_postgres::types::ToSql;

use super::PgStore;

/// Aggregates where the number is the callee.
pub(super) const CALLEE_AGG: &str = "\
SELECT count(*), count(*) FILTER (WHERE answered_ms IS NOT NULL), \
    count(*) FILTER (WHERE answered_ms IS NOT NULL AND talk_ms < $3), count(DISTINCT caller), \
    count(*) FILTER (WHERE answered_ms IS NULL AND gsm_end IN ('busy', 'no_answer', 'rejected', 'unassigned', 'invalid_number', 'unreachable') \
        AND received_ms > coalesce((SELECT max(received_ms) \
        FROM call_records WHERE callee = $1 AND received_ms >= $2 AND end_reason <> 'screened' AND answered_ms IS NOT NULL), -1)) \
FROM call_records WHERE callee = $1 AND received_ms >= $2 AND end_reason <> 'screened'";

/// Aggregates where the number is the caller.
pub(super) const CALLER_AGG: &str = "\
SELECT count(*), count(*) FILTER (WHERE answered_ms IS NOT NULL), \
    count(*) FILTER (WHERE answered_ms IS NOT NULL AND talk_ms < $3), count(DISTINCT callee), \
    count(*) FILTER (WHERE answered_ms IS NULL AND gsm_end IN ('busy', 'no_answer', 'rejected', 'unassigned', 'invalid_number', 'unreachable') \
        AND received_ms > coalesce((SELECT max(received_ms) \
        FROM call_records WHERE caller = $1 AND received_ms >= $2 AND end_reason <> 'screened' AND answered_ms IS NOT NULL), -1)) \
FROM call_records WHERE caller = $1 AND received_ms >= $2 AND end_reason <> 'screened'";

/// The last call where the number is the callee.
pub(super) const CALLEE_LAST: &str = "\
SELECT received_ms, sip_status, gsm_end, talk_ms FROM call_records \
WHERE callee = $1 AND received_ms >= $2 AND end_reason <> 'screened' ORDER BY received_ms DESC, seq DESC LIMIT 1";

/// The last call where the number is the caller.
pub(super) const CALLER_LAST: &str = "\
SELECT received_ms, sip_status, gsm_end, talk_ms FROM call_records \
WHERE caller = $1 AND received_ms >= $2 AND end_reason <> 'screened' ORDER BY received_ms DESC, seq DESC LIMIT 1";

/// A stored GSM end class (`None` for a name this version does not know).
fn end_kind(name: Option<String>) -> Option<EndKind> {
    name.and_then(|n| serde_json::from_value(serde_json::Value::String(n)).ok())
}

#[async_trait]
impl HistoryStore for PgStore {
    async fn number_history(
        &self,
        party: Party,
        number: &str,
        since_ms: u64,
        short_call_ms: u64,
    ) -> Result<NumberHistory> {
        let (agg_sql, last_sql) = match party {
            Party::Callee => (CALLEE_AGG, CALLEE_LAST),
            Party::Caller => (CALLER_AGG, CALLER_LAST),
        };
        let since = clamp_i64(since_ms);
        let short = clamp_i64(short_call_ms);
        self.run(async {
            let client = self.client().await?;
            let (agg_stmt, last_stmt) = tokio::join!(
                client.prepare_cached(agg_sql),
                client.prepare_cached(last_sql)
            );
            let agg_stmt = agg_stmt.map_err(|e| pg_error(&e))?;
            let last_stmt = last_stmt.map_err(|e| pg_error(&e))?;
            let agg_params: [&(dyn ToSql + Sync); 3] = [&number, &since, &short];
            let last_params: [&(dyn ToSql + Sync); 2] = [&number, &since];
            let (agg, last) = tokio::join!(
                client.query_one(&agg_stmt, &agg_params),
                client.query_opt(&last_stmt, &last_params),
            );
            let agg = agg.map_err(|e| pg_error(&e))?;
            let last = last.map_err(|e| pg_error(&e))?;
            let last = match last {
                Some(r) => Some(LastOutcome {
                    at_ms: to_u64(col(&r, 0)?),
                    sip_status: u16::try_from(col::<i32>(&r, 1)?).unwrap_or(0),
                    gsm_end: end_kind(col(&r, 2)?),
                    talk_ms: to_u64(col(&r, 3)?),
                }),
                None => None,
            };
            Ok(NumberHistory {
                attempts: to_u64(col(&agg, 0)?),
                answered: to_u64(col(&agg, 1)?),
                short_calls: to_u64(col(&agg, 2)?),
                distinct_peers: to_u64(col(&agg, 3)?),
                consecutive_failures: to_u64(col(&agg, 4)?),
                last,
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_kinds_by_name() {
        assert_eq!(end_kind(Some("busy".into())), Some(EndKind::Busy));
        assert_eq!(end_kind(Some("from_a_later_version".into())), None);
        assert_eq!(end_kind(None), None);
    }
}
