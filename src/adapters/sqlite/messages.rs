//! SMS sent and received, and SIM balances: each row holds the whole value as JSON, with
//! the columns searched on beside it.

use async_trait::async_trait;
use e173gw_core::ports::{MessageStore, Result, StoreError};
use e173gw_core::sms::message::{SimBalance, SmsQuery, SmsRecord};
use rusqlite::params;

use super::db::{check_text, to_i64, DbResult};
use super::SqliteStore;

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Invalid(e.to_string()))
}

fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> DbResult<T> {
    Ok(serde_json::from_str(s)?)
}

#[async_trait]
impl MessageStore for SqliteStore {
    async fn put_sms(&self, sms: &SmsRecord) -> Result<()> {
        check_text("id", &sms.id)?;
        check_text("number", &sms.number)?;
        let created = to_i64("created_ms", sms.created_ms)?;
        let body = to_json(sms)?;
        let (id, direction, state, number) = (
            sms.id.clone(),
            sms.direction.as_str(),
            sms.state.as_str(),
            sms.number.clone(),
        );
        self.blocking(move |s| {
            s.db.write(|c| {
                c.prepare_cached(
                    "INSERT INTO sms (id, direction, state, number, created_ms, body) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                     ON CONFLICT (id) DO UPDATE SET state = excluded.state, body = excluded.body",
                )?
                .execute(params![id, direction, state, number, created, body])?;
                Ok(())
            })
        })
        .await
    }

    async fn get_sms(&self, id: &str) -> Result<Option<SmsRecord>> {
        let id = id.to_owned();
        self.blocking(move |s| {
            s.db.read(|c| {
                let mut st = c.prepare_cached("SELECT body FROM sms WHERE id = ?1")?;
                let mut rows = st.query(params![id])?;
                match rows.next()? {
                    Some(r) => Ok(Some(from_json(&r.get::<_, String>(0)?)?)),
                    None => Ok(None),
                }
            })
        })
        .await
    }

    async fn find_sms(&self, q: &SmsQuery) -> Result<Vec<SmsRecord>> {
        let direction = q.direction.map(|d| d.as_str());
        let states: Vec<&'static str> = q.states.iter().map(|s| s.as_str()).collect();
        let number = q.number.clone();
        let limit = i64::from(if q.limit == 0 { 100 } else { q.limit });
        self.blocking(move |s| {
            s.db.read(|c| {
                // States are a fixed vocabulary: placed inline, never user text.
                let state_sql = if states.is_empty() {
                    String::new()
                } else {
                    let list: Vec<String> = states.iter().map(|s| format!("'{s}'")).collect();
                    format!(" AND state IN ({})", list.join(","))
                };
                let sql = format!(
                    "SELECT body FROM sms WHERE (?1 IS NULL OR direction = ?1) \
                     AND (?2 IS NULL OR number = ?2){state_sql} \
                     ORDER BY created_ms DESC, id DESC LIMIT ?3"
                );
                let mut st = c.prepare_cached(&sql)?;
                let rows =
                    st.query_map(params![direction, number, limit], |r| r.get::<_, String>(0))?;
                let mut out = Vec::new();
                for body in rows {
                    out.push(from_json(&body?)?);
                }
                Ok(out)
            })
        })
        .await
    }

    async fn put_balance(&self, b: &SimBalance) -> Result<()> {
        check_text("imsi", &b.imsi)?;
        let at = to_i64("at_ms", b.at_ms)?;
        let body = to_json(b)?;
        let imsi = b.imsi.clone();
        self.blocking(move |s| {
            s.db.write(|c| {
                c.prepare_cached(
                    "INSERT INTO sim_balances (imsi, at_ms, body) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (imsi) DO UPDATE SET at_ms = excluded.at_ms, body = excluded.body",
                )?
                .execute(params![imsi, at, body])?;
                Ok(())
            })
        })
        .await
    }

    async fn balances(&self) -> Result<Vec<SimBalance>> {
        self.blocking(move |s| {
            s.db.read(|c| {
                let mut st = c.prepare_cached("SELECT body FROM sim_balances ORDER BY imsi")?;
                let rows = st.query_map([], |r| r.get::<_, String>(0))?;
                let mut out = Vec::new();
                for body in rows {
                    out.push(from_json(&body?)?);
                }
                Ok(out)
            })
        })
        .await
    }
}
