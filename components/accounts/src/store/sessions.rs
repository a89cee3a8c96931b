//! The `sessions` table: server-side sessions, what each access token names, with their
//! expiry and revocation.

use serde::Serialize;

use super::users::{USER_COLUMNS, user_from};
use super::{Store, User, stored_time};
use crate::clock::Timestamp;
use crate::db::{Database, DbError, Row, Value};

/// A server-side session: what one access token names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Session {
    /// UUID; the token's `sid`.
    pub id: String,
    /// Whose session.
    pub user_id: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC.
    pub expires_at: String,
    /// The `User-Agent` that logged in, if known (at most 256 characters).
    pub user_agent: Option<String>,
    /// The client address that logged in, if known.
    pub client_addr: Option<String>,
}

pub(super) const SESSION_COLUMNS: &str = "s.id, s.user_id, s.created_at, s.expires_at, s.user_agent, s.client_addr";

pub(super) fn session_from(row: &Row, at: usize) -> Result<Session, DbError> {
    Ok(Session {
        id: row.text(at)?,
        user_id: row.text(at + 1)?,
        created_at: row.text(at + 2)?,
        expires_at: row.text(at + 3)?,
        user_agent: row.opt_text(at + 4)?,
        client_addr: row.opt_text(at + 5)?,
    })
}

/// A session as stored, joined with its user.
pub(crate) struct SessionOfUser {
    /// The session's user.
    pub user: User,
    /// The session.
    pub session: Session,
    /// Whether it was revoked.
    pub revoked: bool,
}

impl<D: Database> Store<D> {
    /// Stores a new session.
    pub fn insert_session(&self, session: &Session) -> Result<(), DbError> {
        self.db.query(
            "INSERT INTO sessions (id, user_id, created_at, expires_at, user_agent, client_addr) \
             VALUES (?, ?, ?, ?, ?, ?)",
            &[
                Value::uuid(&session.id),
                Value::uuid(&session.user_id),
                stored_time(&session.created_at)?,
                stored_time(&session.expires_at)?,
                session.user_agent.as_deref().into(),
                session.client_addr.as_deref().into(),
            ],
        )?;
        Ok(())
    }

    /// The user's live sessions, newest first.
    pub fn live_sessions(&self, user_id: &str, now: Timestamp) -> Result<Vec<Session>, DbError> {
        let rows = self.db.query(
            &format!(
                "SELECT {SESSION_COLUMNS} FROM sessions s \
                 WHERE s.user_id = ? AND s.revoked_at IS NULL AND s.expires_at > ? ORDER BY s.created_at DESC, s.id"
            ),
            &[Value::uuid(user_id), now.into()],
        )?;
        rows.iter().map(|row| session_from(row, 0)).collect()
    }

    /// Revokes every live session of the user except `keep`; returns how many.
    pub fn revoke_sessions_except(&self, user_id: &str, keep: Option<&str>, now: Timestamp) -> Result<usize, DbError> {
        let rows = self.db.query(
            "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND id IS NOT ? RETURNING id",
            &[now.into(), Value::uuid(user_id), Value::opt_uuid(keep)],
        )?;
        Ok(rows.len())
    }

    /// The session `sid` if it belongs to `user_id`, with that user.
    pub fn session_of_user(&self, sid: &str, user_id: &str) -> Result<Option<SessionOfUser>, DbError> {
        let sql = format!(
            "SELECT {USER_COLUMNS}, {SESSION_COLUMNS}, s.revoked_at IS NOT NULL \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ? AND s.user_id = ?"
        );
        let rows = self.db.query(&sql, &[Value::uuid(sid), Value::uuid(user_id)])?;
        rows.first()
            .map(|row| {
                Ok(SessionOfUser {
                    user: user_from(row, 0)?,
                    session: session_from(row, 5)?,
                    revoked: row.boolean(11)?,
                })
            })
            .transpose()
    }

    /// Deletes up to `batch` sessions that expired before `now` (revoked ones included:
    /// every session expires); returns how many.
    pub fn sweep_expired_sessions(&self, now: Timestamp, batch: u32) -> Result<usize, DbError> {
        let rows = self.db.query(
            "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at <= ? LIMIT ?) RETURNING id",
            &[now.into(), i64::from(batch).into()],
        )?;
        Ok(rows.len())
    }

    /// Marks the user's session revoked; `false` if the user has no such live session.
    pub fn revoke_session(&self, sid: &str, user_id: &str, now: Timestamp) -> Result<bool, DbError> {
        let rows = self.db.query(
            "UPDATE sessions SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL RETURNING id",
            &[now.into(), Value::uuid(sid), Value::uuid(user_id)],
        )?;
        Ok(!rows.is_empty())
    }

    /// Moves a live session's expiry (a refresh slides it); `false` if it is revoked or gone.
    pub fn extend_session(&self, sid: &str, expires_at: Timestamp) -> Result<bool, DbError> {
        let rows = self.db.query(
            "UPDATE sessions SET expires_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING id",
            &[expires_at.into(), Value::uuid(sid)],
        )?;
        Ok(!rows.is_empty())
    }
}
