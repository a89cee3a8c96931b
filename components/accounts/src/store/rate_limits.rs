//! The `rate_limits` table: one fixed-window counter per bucket key (see [`crate::limits`]).
//! Windows are Unix seconds, bound as `int64` to a `bigint` column.

use super::Store;
use crate::db::{Database, DbError, Value};

impl<D: Database> Store<D> {
    /// Adds `add` hits to the counter `bucket` at `now` (Unix seconds) in one atomic upsert,
    /// first starting a new window if the stored one started at or before `expired_before`.
    /// Returns the window's hits and start (`None` only if the database returned no row).
    pub fn count_hits(
        &self,
        bucket: &str,
        now: i64,
        add: i64,
        expired_before: i64,
    ) -> Result<Option<(i64, i64)>, DbError> {
        let rows = self.db.query(
            "INSERT INTO rate_limits (bucket, window_start, hits) VALUES (?, ?, ?) \
             ON CONFLICT (bucket) DO UPDATE SET \
               hits = CASE WHEN rate_limits.window_start <= ? THEN excluded.hits ELSE rate_limits.hits + excluded.hits END, \
               window_start = CASE WHEN rate_limits.window_start <= ? THEN excluded.window_start ELSE rate_limits.window_start END \
             RETURNING hits, window_start",
            &[bucket.into(), Value::Integer(now), Value::Integer(add), Value::Integer(expired_before), Value::Integer(expired_before)],
        )?;
        rows.first().map(|row| Ok((row.integer(0)?, row.integer(1)?))).transpose()
    }

    /// Forgets the counter `bucket`.
    pub fn clear_hits(&self, bucket: &str) -> Result<(), DbError> {
        self.db.query("DELETE FROM rate_limits WHERE bucket = ?", &[bucket.into()])?;
        Ok(())
    }

    /// Deletes up to `batch` counters whose window started at or before `horizon` (Unix
    /// seconds); returns how many.
    pub fn sweep_rate_limits(&self, horizon: i64, batch: u32) -> Result<usize, DbError> {
        let rows = self.db.query(
            "DELETE FROM rate_limits WHERE bucket IN \
             (SELECT bucket FROM rate_limits WHERE window_start <= ? LIMIT ?) RETURNING bucket",
            &[Value::Integer(horizon), Value::Integer(i64::from(batch))],
        )?;
        Ok(rows.len())
    }
}
