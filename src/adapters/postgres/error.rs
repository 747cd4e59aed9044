//! How PostgreSQL and pool failures map onto [`StoreError`].
//!
//! - The server cannot be reached, the connection broke, a statement ran past
//!   `statement_timeout`, the pool had no connection in time, or the server is starting,
//!   shutting down or out of resources: [`StoreError::Unavailable`] (retry later).
//! - Constraint violations and data exceptions (a NUL byte in a text, a number out of
//!   range): [`StoreError::Invalid`].
//! - Everything else: [`StoreError::Backend`].

use deadpool_postgres::PoolError;
use e173gw_core::ports::StoreError;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::FromSql;
use tokio_postgres::Row;

/// Maps a driver error.
pub(crate) fn pg_error(e: &tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        let class = &code.code()[..2.min(code.code().len())];
        let text = format!("{} ({})", db.message(), code.code());
        return if *code == SqlState::QUERY_CANCELED
            || *code == SqlState::LOCK_NOT_AVAILABLE
            || *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
            || *code == SqlState::IDLE_IN_TRANSACTION_SESSION_TIMEOUT
            // 08: connection exception; 53: insufficient resources; 57P: operator
            // intervention (shutdown, crash, cannot connect now).
            || matches!(class, "08" | "53")
            || code.code().starts_with("57P")
        {
            StoreError::Unavailable(text)
        } else if matches!(class, "22" | "23") {
            StoreError::Invalid(text)
        } else {
            StoreError::Backend(text)
        };
    }
    if e.is_closed() || has_io_source(e) || e.to_string().starts_with("timeout") {
        return StoreError::Unavailable(e.to_string());
    }
    StoreError::Backend(e.to_string())
}

/// Whether an I/O error is somewhere in the error's source chain.
fn has_io_source(e: &tokio_postgres::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// Maps a failure to get a pooled connection.
pub(crate) fn pool_error(e: PoolError) -> StoreError {
    match e {
        PoolError::Backend(e) => match pg_error(&e) {
            // A connection that cannot be set up is a database that is not there.
            StoreError::Backend(m) => StoreError::Unavailable(m),
            other => other,
        },
        PoolError::Timeout(t) => StoreError::Unavailable(format!("no connection in time ({t:?})")),
        PoolError::Closed => StoreError::Unavailable("connection pool closed".into()),
        PoolError::PostCreateHook(h) => StoreError::Unavailable(h.to_string()),
        PoolError::NoRuntimeSpecified => StoreError::Backend("pool without a runtime".into()),
    }
}

/// One column of a row (a type mismatch is a schema out of step, not a panic).
pub(crate) fn col<'a, T: FromSql<'a>>(row: &'a Row, idx: usize) -> Result<T, StoreError> {
    row.try_get(idx)
        .map_err(|e| StoreError::Backend(format!("column {idx}: {e}")))
}

/// A time or count that does not fit the database's signed 64-bit integers.
pub(crate) fn to_i64(v: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Invalid(format!("{what} out of range: {v}")))
}

/// A stored integer read back as unsigned (negative values only come from outside edits).
pub(crate) fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// A query bound, clamped into the database's range.
pub(crate) fn clamp_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_conversions() {
        assert_eq!(to_i64(5, "x"), Ok(5));
        assert!(matches!(to_i64(u64::MAX, "x"), Err(StoreError::Invalid(_))));
        assert_eq!(to_u64(-3), 0);
        assert_eq!(to_u64(7), 7);
        assert_eq!(clamp_i64(u64::MAX), i64::MAX);
    }

    #[test]
    fn pool_timeouts_are_unavailable() {
        let e = pool_error(PoolError::Timeout(deadpool_postgres::TimeoutType::Wait));
        assert!(e.is_retryable(), "{e}");
        assert!(pool_error(PoolError::Closed).is_retryable());
    }
}
