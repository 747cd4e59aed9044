//! Blocked numbers and prefixes.
//!
//! `find` asks only for the patterns that can match: the number itself and each of its
//! prefixes, looked up through the primary key; the database then orders exact before
//! prefix and longer before shorter, as [`best_blacklist_match`] does.
//!
//! [`best_blacklist_match`]: e173gw_core::ports::best_blacklist_match

use async_trait::async_trait;
use e173gw_core::ports::{
    BlacklistEntry, BlacklistStore, MatchKind, Party, PartyScope, Result, StoreError,
};
use tokio_postgres::Row;

use super::error::{clamp_i64, col, to_i64, to_u64};
use super::PgStore;

const COLUMNS: &str = "pattern, kind, party, reason, created_ms, expires_ms";

/// Every prefix of `number` (the empty one and the number itself included).
fn prefixes(number: &str) -> Vec<&str> {
    number
        .char_indices()
        .map(|(i, _)| &number[..i])
        .chain(std::iter::once(number))
        .collect()
}

fn entry(row: &Row) -> Result<BlacklistEntry> {
    let kind: String = col(row, 1)?;
    let party: String = col(row, 2)?;
    Ok(BlacklistEntry {
        pattern: col(row, 0)?,
        kind: MatchKind::parse(&kind)
            .ok_or_else(|| StoreError::Backend(format!("stored match kind {kind:?}")))?,
        party: PartyScope::parse(&party)
            .ok_or_else(|| StoreError::Backend(format!("stored party {party:?}")))?,
        reason: col(row, 3)?,
        created_ms: to_u64(col(row, 4)?),
        expires_ms: col::<Option<i64>>(row, 5)?.map(to_u64),
    })
}

#[async_trait]
impl BlacklistStore for PgStore {
    async fn add(&self, e: &BlacklistEntry) -> Result<()> {
        let created = to_i64(e.created_ms, "created_ms")?;
        let expires = e.expires_ms.map(|v| to_i64(v, "expires_ms")).transpose()?;
        self.execute(
            &format!(
                "INSERT INTO blacklist ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (pattern, kind, party) DO UPDATE SET reason = EXCLUDED.reason, \
                 created_ms = EXCLUDED.created_ms, expires_ms = EXCLUDED.expires_ms"
            ),
            &[
                &e.pattern,
                &e.kind.as_str(),
                &e.party.as_str(),
                &e.reason,
                &created,
                &expires,
            ],
        )
        .await?;
        Ok(())
    }

    async fn remove(&self, pattern: &str, kind: MatchKind, party: PartyScope) -> Result<bool> {
        let n = self
            .execute(
                "DELETE FROM blacklist WHERE pattern = $1 AND kind = $2 AND party = $3",
                &[&pattern, &kind.as_str(), &party.as_str()],
            )
            .await?;
        Ok(n > 0)
    }

    async fn list(&self, now_ms: u64) -> Result<Vec<BlacklistEntry>> {
        let now = clamp_i64(now_ms);
        let rows = self
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM blacklist \
                     WHERE expires_ms IS NULL OR expires_ms > $1 \
                     ORDER BY pattern, kind, party"
                ),
                &[&now],
            )
            .await?;
        rows.iter().map(entry).collect()
    }

    async fn find(
        &self,
        number: &str,
        party: Party,
        now_ms: u64,
    ) -> Result<Option<BlacklistEntry>> {
        let now = clamp_i64(now_ms);
        let candidates = prefixes(number);
        let party = PartyScope::from(party);
        let rows = self
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM blacklist \
                     WHERE pattern = ANY($1::text[]) AND (kind = 'prefix' OR pattern = $2) \
                       AND party IN ('both', $3) AND (expires_ms IS NULL OR expires_ms > $4) \
                     ORDER BY kind = 'exact' DESC, length(pattern) DESC, party \
                     LIMIT 1"
                ),
                &[&candidates, &number, &party.as_str(), &now],
            )
            .await?;
        rows.first().map(entry).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_prefix() {
        assert_eq!(prefixes("551"), vec!["", "5", "55", "551"]);
        assert_eq!(prefixes(""), vec![""]);
        assert_eq!(prefixes("+5é"), vec!["", "+", "+5", "+5é"]);
    }
}
