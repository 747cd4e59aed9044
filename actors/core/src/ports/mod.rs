//! Ports: the traits storage and provider adapters implement.
//!
//! Two families of adapters implement every port: the embedded one (one SQLite file plus
//! in-process state, the default) and the production one (PostgreSQL for records, history,
//! blacklist and inventory; Redis for sticky routes, counters, rate windows and the lookup
//! cache). One contract test suite runs against both.
//!
//! All methods are async and object-safe (`async_trait`), so the gateway picks an adapter
//! at start. Times are Unix milliseconds passed in by the caller, so behaviour is
//! deterministic and adapters agree; TTLs are durations counted from the `now_ms` given.
//! [`StoreError::Unavailable`] means "try again later" (the backend is down or slow):
//! callers degrade or spool; every other error is a bug or bad data.

mod types;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use types::*;

use crate::record::CallRecord;

/// A storage operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The backend cannot be reached or timed out; retry later.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The data is not acceptable (too long, malformed).
    #[error("invalid data: {0}")]
    Invalid(String),
    /// Anything else the backend reported.
    #[error("storage error: {0}")]
    Backend(String),
}

impl StoreError {
    /// Whether retrying later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// Result of a storage operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Call records: durable, idempotent by `call_id`.
#[async_trait]
pub trait RecordStore: Send + Sync {
    /// Stores records in order; one whose `call_id` is already stored is skipped. Returns
    /// how many were new. All or nothing: on error none of the batch counts as stored.
    /// Each new record of a modem call adds its usage ([`Usage::of_call`]) to the modem's
    /// and the SIM's lifetime counters in the inventory, in the same transaction.
    async fn insert(&self, records: &[CallRecord]) -> Result<usize>;
    /// One record by Call-ID.
    async fn get(&self, call_id: &str) -> Result<Option<CallRecord>>;
    /// Records matching `q`, newest first, at most `q.limit`.
    async fn search(&self, q: &RecordQuery) -> Result<Vec<CallRecord>>;
    /// How many records match `q` (ignoring its limit).
    async fn count(&self, q: &RecordQuery) -> Result<u64>;
}

/// The call history queries the filters need, over stored records.
#[async_trait]
pub trait HistoryStore: Send + Sync {
    /// What happened to calls where `number` was the `party`, received since `since_ms`.
    /// A call counts as short when answered with less than `short_call_ms` of talk.
    /// Calls refused by screening are left out: they never reached the network.
    async fn number_history(
        &self,
        party: Party,
        number: &str,
        since_ms: u64,
        short_call_ms: u64,
    ) -> Result<NumberHistory>;
}

/// Blocked numbers and prefixes.
#[async_trait]
pub trait BlacklistStore: Send + Sync {
    /// Adds an entry, or replaces the one with the same pattern, kind and party.
    async fn add(&self, entry: &BlacklistEntry) -> Result<()>;
    /// Removes an entry; false when there was none.
    async fn remove(&self, pattern: &str, kind: MatchKind, party: PartyScope) -> Result<bool>;
    /// Every entry not expired at `now_ms`.
    async fn list(&self, now_ms: u64) -> Result<Vec<BlacklistEntry>>;
    /// The entry that blocks `number` as `party` at `now_ms`: an exact match first, then
    /// the longest matching prefix.
    async fn find(&self, number: &str, party: Party, now_ms: u64)
        -> Result<Option<BlacklistEntry>>;
}

/// Sticky routes: a called number keeps going out through the same SIM.
#[async_trait]
pub trait StickyStore: Send + Sync {
    /// The route for `number`, if one is set and not expired at `now_ms`.
    async fn get(&self, number: &str, now_ms: u64) -> Result<Option<StickyRoute>>;
    /// Sets (or refreshes) the route for `number` to `target` for `ttl` from `now_ms`.
    async fn set(&self, number: &str, target: &str, now_ms: u64, ttl: Duration) -> Result<()>;
    /// Forgets the route for `number`.
    async fn remove(&self, number: &str) -> Result<()>;
}

/// Counters per calendar window (per-SIM calls and minutes per day/month) and sliding
/// rate windows (per-trunk calls per interval).
#[async_trait]
pub trait CounterStore: Send + Sync {
    /// Adds `delta` to `key` in the `window` containing `at_ms` (UTC); returns the new total.
    async fn add(&self, key: &str, window: Window, at_ms: u64, delta: i64) -> Result<i64>;
    /// The total of `key` in the `window` containing `at_ms` (0 when never touched).
    async fn get(&self, key: &str, window: Window, at_ms: u64) -> Result<i64>;
    /// Records one hit for `key` at `at_ms` and returns the hits in the last `span`
    /// (including this one), counted in whole seconds.
    async fn hit(&self, key: &str, at_ms: u64, span: Duration) -> Result<u64>;
}

/// A key/value cache with expiry, for lookups (WhatsApp presence, portability).
#[async_trait]
pub trait Cache: Send + Sync {
    /// The value of `key` in namespace `ns`, if set and not expired at `now_ms`.
    async fn get(&self, ns: &str, key: &str, now_ms: u64) -> Result<Option<String>>;
    /// Sets a value for `ttl` from `now_ms`.
    async fn set(&self, ns: &str, key: &str, value: &str, now_ms: u64, ttl: Duration)
        -> Result<()>;
}

/// Modems and SIMs the gateway has seen, with lifetime counters.
#[async_trait]
pub trait InventoryStore: Send + Sync {
    /// A modem (and the SIM in it, when known) was seen at `at_ms`: first seen is kept,
    /// last seen and the identity fields are updated.
    async fn seen(&self, modem: &ModemSeen, at_ms: u64) -> Result<()>;
    /// Adds usage to the modem's and the SIM's lifetime counters (calls are counted by
    /// [`RecordStore::insert`]; this is for usage that has no call record).
    async fn add_usage(&self, imei: &str, imsi: Option<&str>, usage: &Usage) -> Result<()>;
    /// Every modem, by IMEI.
    async fn modems(&self) -> Result<Vec<ModemEntry>>;
    /// Every SIM, by IMSI.
    async fn sims(&self) -> Result<Vec<SimEntry>>;
}

/// Every port, as the gateway holds them.
#[derive(Clone)]
pub struct Stores {
    /// Call records.
    pub records: Arc<dyn RecordStore>,
    /// History queries.
    pub history: Arc<dyn HistoryStore>,
    /// Blacklist.
    pub blacklist: Arc<dyn BlacklistStore>,
    /// Sticky routes.
    pub sticky: Arc<dyn StickyStore>,
    /// Counters and rate windows.
    pub counters: Arc<dyn CounterStore>,
    /// Lookup cache.
    pub cache: Arc<dyn Cache>,
    /// Modem and SIM inventory.
    pub inventory: Arc<dyn InventoryStore>,
    /// SMS and SIM balances.
    pub messages: Arc<dyn MessageStore>,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores").finish_non_exhaustive()
    }
}

/// SMS sent and received, and SIM balances.
#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Inserts or replaces a message (by id).
    async fn put_sms(&self, sms: &crate::sms::message::SmsRecord) -> Result<()>;
    /// One message.
    async fn get_sms(&self, id: &str) -> Result<Option<crate::sms::message::SmsRecord>>;
    /// Messages matching `q`, newest first.
    async fn find_sms(
        &self,
        q: &crate::sms::message::SmsQuery,
    ) -> Result<Vec<crate::sms::message::SmsRecord>>;
    /// Records a SIM's balance (replacing the one before).
    async fn put_balance(&self, b: &crate::sms::message::SimBalance) -> Result<()>;
    /// Every SIM's last balance.
    async fn balances(&self) -> Result<Vec<crate::sms::message::SimBalance>>;
}

/// A sink could not take a record.
#[derive(Debug, thiserror::Error)]
#[error("record sink: {0}")]
pub struct SinkError(pub String);

/// Where finished call records go synchronously (log, file, memory).
pub trait RecordSink: Send {
    /// Takes one record.
    fn write(&mut self, record: &CallRecord) -> Result<(), SinkError>;
}
