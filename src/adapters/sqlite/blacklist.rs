//! Blocked numbers and prefixes.
//!
//! `find` looks up every prefix of the number (and the number itself) through the primary
//! key, so it costs one index probe per digit whatever the size of the list; the choice
//! among candidates is [`best_blacklist_match`], shared with the other adapter.

use async_trait::async_trait;
use e173gw_core::ports::{
    best_blacklist_match, BlacklistEntry, BlacklistStore, MatchKind, Party, PartyScope, Result,
    StoreError,
};
use rusqlite::{params, Row};

use super::db::{bound, check_text, from_i64, DbResult};
use super::SqliteStore;

const COLUMNS: &str = "pattern, kind, party, reason, created_ms, expires_ms";

fn entry(r: &Row<'_>) -> rusqlite::Result<(String, String, String, String, i64, Option<i64>)> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn to_entry(
    (pattern, kind, party, reason, created, expires): (
        String,
        String,
        String,
        String,
        i64,
        Option<i64>,
    ),
) -> DbResult<BlacklistEntry> {
    let bad = |what: &str, v: &str| StoreError::Backend(format!("stored blacklist {what}: {v}"));
    Ok(BlacklistEntry {
        kind: MatchKind::parse(&kind).ok_or_else(|| bad("kind", &kind))?,
        party: PartyScope::parse(&party).ok_or_else(|| bad("party", &party))?,
        pattern,
        reason,
        created_ms: from_i64(created),
        expires_ms: expires.map(from_i64),
    })
}

#[async_trait]
impl BlacklistStore for SqliteStore {
    async fn add(&self, e: &BlacklistEntry) -> Result<()> {
        check_text("pattern", &e.pattern)?;
        check_text("reason", &e.reason)?;
        let e = e.clone();
        self.blocking(move |s| {
            s.db.write(|c| {
                c.prepare_cached(&format!(
                    "INSERT OR REPLACE INTO blacklist ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                ))?
                .execute(params![
                    e.pattern,
                    e.kind.as_str(),
                    e.party.as_str(),
                    e.reason,
                    bound(e.created_ms),
                    e.expires_ms.map(bound),
                ])?;
                Ok(())
            })
        })
        .await
    }

    async fn remove(&self, pattern: &str, kind: MatchKind, party: PartyScope) -> Result<bool> {
        check_text("pattern", pattern)?;
        let pattern = pattern.to_owned();
        self.blocking(move |s| {
            s.db.write(|c| {
                let n = c
                    .prepare_cached(
                        "DELETE FROM blacklist WHERE pattern = ?1 AND kind = ?2 AND party = ?3",
                    )?
                    .execute(params![pattern, kind.as_str(), party.as_str()])?;
                Ok(n > 0)
            })
        })
        .await
    }

    async fn list(&self, now_ms: u64) -> Result<Vec<BlacklistEntry>> {
        self.blocking(move |s| {
            s.db.read(|c| {
                let mut stmt = c.prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM blacklist
                     WHERE expires_ms IS NULL OR expires_ms > ?1
                     ORDER BY pattern, kind, party"
                ))?;
                let rows = stmt.query_map([bound(now_ms)], entry)?;
                let mut out = Vec::new();
                for row in rows {
                    out.push(to_entry(row?)?);
                }
                Ok(out)
            })
        })
        .await
    }

    async fn find(
        &self,
        number: &str,
        party: Party,
        now_ms: u64,
    ) -> Result<Option<BlacklistEntry>> {
        check_text("number", number)?;
        let number = number.to_owned();
        self.blocking(move |s| {
            s.db.read(|c| {
                // Every prefix of the number, from the empty one to the whole number.
                let mut stmt = c.prepare_cached(&format!(
                    "WITH RECURSIVE p(n) AS (
                         SELECT 0 UNION ALL SELECT n + 1 FROM p WHERE n < length(?1)
                     )
                     SELECT {COLUMNS} FROM blacklist
                     WHERE pattern IN (SELECT substr(?1, 1, n) FROM p)
                       AND (expires_ms IS NULL OR expires_ms > ?2)"
                ))?;
                let rows = stmt.query_map(params![number, bound(now_ms)], entry)?;
                let mut candidates = Vec::new();
                for row in rows {
                    candidates.push(to_entry(row?)?);
                }
                Ok(best_blacklist_match(&candidates, &number, party, now_ms).cloned())
            })
        })
        .await
    }
}
