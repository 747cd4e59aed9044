//! SMS sent and received, and SIM balances: each row holds the whole value as JSON, with
//! the columns searched on beside it.

use async_trait::async_trait;
use e173gw_core::ports::{MessageStore, Result, StoreError};
use e173gw_core::sms::message::{SimBalance, SmsQuery, SmsRecord};

use super::error::{col, to_i64};
use super::PgStore;

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Invalid(e.to_string()))
}

fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Backend(format!("stored value: {e}")))
}

#[async_trait]
impl MessageStore for PgStore {
    async fn put_sms(&self, sms: &SmsRecord) -> Result<()> {
        let created = to_i64(sms.created_ms, "created_ms")?;
        let body = to_json(sms)?;
        self.execute(
            "INSERT INTO sms (id, direction, state, number, created_ms, body) \
             VALUES ($1, $2, $3, $4, $5, $6::text::jsonb) \
             ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, body = EXCLUDED.body",
            &[
                &sms.id,
                &sms.direction.as_str(),
                &sms.state.as_str(),
                &sms.number,
                &created,
                &body,
            ],
        )
        .await?;
        Ok(())
    }

    async fn get_sms(&self, id: &str) -> Result<Option<SmsRecord>> {
        let rows = self
            .query("SELECT body::text FROM sms WHERE id = $1", &[&id])
            .await?;
        match rows.first() {
            Some(r) => Ok(Some(from_json(&col::<String>(r, 0)?)?)),
            None => Ok(None),
        }
    }

    async fn find_sms(&self, q: &SmsQuery) -> Result<Vec<SmsRecord>> {
        let direction = q.direction.map(|d| d.as_str());
        let states: Vec<&str> = q.states.iter().map(|s| s.as_str()).collect();
        let limit = i64::from(if q.limit == 0 { 100 } else { q.limit });
        let rows = self
            .query(
                "SELECT body::text FROM sms \
                 WHERE ($1::text IS NULL OR direction = $1) \
                   AND (cardinality($2::text[]) = 0 OR state = ANY($2)) \
                   AND ($3::text IS NULL OR number = $3) \
                 ORDER BY created_ms DESC, id DESC LIMIT $4",
                &[&direction, &states, &q.number, &limit],
            )
            .await?;
        rows.iter()
            .map(|r| from_json(&col::<String>(r, 0)?))
            .collect()
    }

    async fn put_balance(&self, b: &SimBalance) -> Result<()> {
        let at = to_i64(b.at_ms, "at_ms")?;
        let body = to_json(b)?;
        self.execute(
            "INSERT INTO sim_balances (imsi, at_ms, body) VALUES ($1, $2, $3::text::jsonb) \
             ON CONFLICT (imsi) DO UPDATE SET at_ms = EXCLUDED.at_ms, body = EXCLUDED.body",
            &[&b.imsi, &at, &body],
        )
        .await?;
        Ok(())
    }

    async fn balances(&self) -> Result<Vec<SimBalance>> {
        let rows = self
            .query("SELECT body::text FROM sim_balances ORDER BY imsi", &[])
            .await?;
        rows.iter()
            .map(|r| from_json(&col::<String>(r, 0)?))
            .collect()
    }
}
