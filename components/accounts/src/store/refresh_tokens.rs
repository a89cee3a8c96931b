//! The `refresh_tokens` table: the refresh-token chain of each session, by token hash (see
//! [`crate::refresh`]).

use super::Store;
use crate::clock::Timestamp;
use crate::db::{Database, DbError, Value};

/// A refresh token's row, with its session's state.
pub(crate) struct StoredRefresh {
    /// The session the token renews.
    pub session_id: String,
    /// The session's user.
    pub user_id: String,
    /// When the session expires.
    pub session_expires_at: Timestamp,
    /// Whether the session was revoked.
    pub session_revoked: bool,
    /// When the token was claimed by a refresh, if it was.
    pub used_at: Option<Timestamp>,
    /// The successor it was claimed for, sealed under the token itself.
    pub successor: Option<String>,
}

impl<D: Database> Store<D> {
    /// Deletes the refresh tokens of up to `batch` sessions that expired before `now`:
    /// the sweep runs it before [`sweep_expired_sessions`](Store::sweep_expired_sessions)
    /// (SQLite enforces no foreign keys unless asked).
    pub fn sweep_expired_refresh_tokens(&self, now: Timestamp, batch: u32) -> Result<usize, DbError> {
        let rows = self.db.query(
            "DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE expires_at <= ? LIMIT ?) RETURNING token_hash",
            &[now.into(), i64::from(batch).into()],
        )?;
        Ok(rows.len())
    }

    /// Stores a new, unused refresh token (its hash) of session `sid`.
    pub fn insert_refresh_token(&self, token_hash: &str, sid: &str, now: Timestamp) -> Result<(), DbError> {
        self.db.query(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (?, ?, ?)",
            &[token_hash.into(), Value::uuid(sid), now.into()],
        )?;
        Ok(())
    }

    /// Deletes the refresh token `token_hash` (a successor that lost a race).
    pub fn delete_refresh_token(&self, token_hash: &str) -> Result<(), DbError> {
        self.db.query("DELETE FROM refresh_tokens WHERE token_hash = ?", &[token_hash.into()])?;
        Ok(())
    }

    /// The refresh token `token_hash`, with its session.
    pub fn refresh_token(&self, token_hash: &str) -> Result<Option<StoredRefresh>, DbError> {
        let rows = self.db.query(
            "SELECT s.id, s.user_id, s.expires_at, s.revoked_at IS NOT NULL, r.used_at, r.successor \
             FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id WHERE r.token_hash = ?",
            &[token_hash.into()],
        )?;
        let time =
            |text: String| Timestamp::parse_rfc3339(&text).map_err(|_| DbError::failed("a stored time is malformed"));
        rows.first()
            .map(|row| {
                Ok(StoredRefresh {
                    session_id: row.text(0)?,
                    user_id: row.text(1)?,
                    session_expires_at: time(row.text(2)?)?,
                    session_revoked: row.boolean(3)?,
                    used_at: row.opt_text(4)?.map(time).transpose()?,
                    successor: row.opt_text(5)?,
                })
            })
            .transpose()
    }

    /// Marks the unused refresh token `token_hash` used, recording its sealed successor;
    /// `false` if it was used already (another refresh claimed it first).
    pub fn claim_refresh_token(
        &self,
        token_hash: &str,
        sealed_successor: &str,
        now: Timestamp,
    ) -> Result<bool, DbError> {
        let rows = self.db.query(
            "UPDATE refresh_tokens SET used_at = ?, successor = ? WHERE token_hash = ? AND used_at IS NULL RETURNING token_hash",
            &[now.into(), sealed_successor.into(), token_hash.into()],
        )?;
        Ok(!rows.is_empty())
    }
}
