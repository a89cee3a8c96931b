//! Every query the account logic runs, typed, written once over the [`Database`] seam.

use serde::Serialize;

use crate::clock::Timestamp;
use crate::db::{Database, DbError, Row, Value};

/// A registered account as callers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// UUID.
    pub id: String,
    /// Normalised e-mail address.
    pub email: String,
    /// Display name, if any.
    pub name: Option<String>,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC.
    pub updated_at: String,
}

const USER_COLUMNS: &str = "u.id, u.email, u.name, u.created_at, u.updated_at";

fn user_from(row: &Row, at: usize) -> Result<User, DbError> {
    Ok(User {
        id: row.text(at)?,
        email: row.text(at + 1)?,
        name: row.opt_text(at + 2)?,
        created_at: row.text(at + 3)?,
        updated_at: row.text(at + 4)?,
    })
}

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

/// A user together with their stored password hash (never leaves the logic crate).
pub(crate) struct Credentials {
    pub user: User,
    pub password_hash: String,
}

const SESSION_COLUMNS: &str = "s.id, s.user_id, s.created_at, s.expires_at, s.user_agent, s.client_addr";

fn session_from(row: &Row, at: usize) -> Result<Session, DbError> {
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
    pub user: User,
    pub session: Session,
    pub revoked: bool,
}

/// A signing key as stored: its id, public JWK (JSON) and sealed private half.
pub(crate) struct StoredKey {
    pub kid: String,
    pub public_jwk: String,
    pub sealed_private_key: String,
}

/// A refresh token's row, with its session's state.
pub(crate) struct StoredRefresh {
    pub session_id: String,
    pub user_id: String,
    pub session_expires_at: Timestamp,
    pub session_revoked: bool,
    pub used_at: Option<Timestamp>,
    pub successor: Option<String>,
}

/// Whether key `k` has a successor (a newer key of its algorithm) created before the cutoff
/// parameter: then no live token can name it (see [`crate::keys`]). A token `k` signed in
/// the successor's very second still verifies at `cutoff + lifetime`, hence `<`.
const SUPERSEDED: &str = "EXISTS (SELECT 1 FROM signing_keys n \
     WHERE n.algorithm = k.algorithm AND n.created_at > k.created_at AND n.created_at < ?)";

/// A time the logic formatted itself, as a typed parameter.
fn stored_time(rfc3339: &str) -> Result<Value, DbError> {
    Timestamp::parse_rfc3339(rfc3339).map(Value::from).map_err(|_| DbError::failed("a timestamp to store is malformed"))
}

/// Typed access to the account tables.
pub(crate) struct Store<D> {
    db: D,
}

impl<D: Database> Store<D> {
    pub fn new(db: D) -> Store<D> {
        Store { db }
    }

    pub fn database(&self) -> &D {
        &self.db
    }

    /// Inserts `user` unless its e-mail is taken; `false` when it was. One statement, so
    /// racing sign-ups of one address cannot both succeed.
    pub fn insert_user(&self, user: &User, password_hash: &str) -> Result<bool, DbError> {
        let rows = self.db.query(
            "INSERT INTO users (id, email, password_hash, name, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (email) DO NOTHING RETURNING id",
            &[
                Value::uuid(&user.id),
                user.email.as_str().into(),
                password_hash.into(),
                user.name.as_deref().into(),
                stored_time(&user.created_at)?,
                stored_time(&user.updated_at)?,
            ],
        )?;
        Ok(!rows.is_empty())
    }

    pub fn credentials_by_email(&self, email: &str) -> Result<Option<Credentials>, DbError> {
        let sql = format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.email = ?");
        let rows = self.db.query(&sql, &[email.into()])?;
        rows.first().map(|row| Ok(Credentials { user: user_from(row, 0)?, password_hash: row.text(5)? })).transpose()
    }

    pub fn set_password_hash(&self, user_id: &str, hash: &str, now: Timestamp) -> Result<(), DbError> {
        self.db.query(
            "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?",
            &[hash.into(), now.into(), Value::uuid(user_id)],
        )?;
        Ok(())
    }

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

    /// Moves a live session's expiry (a refresh slides it); `false` if it is revoked or gone.
    pub fn extend_session(&self, sid: &str, expires_at: Timestamp) -> Result<bool, DbError> {
        let rows = self.db.query(
            "UPDATE sessions SET expires_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING id",
            &[expires_at.into(), Value::uuid(sid)],
        )?;
        Ok(!rows.is_empty())
    }

    /// The newest key of `algorithm`: the one that signs.
    pub fn newest_signing_key(&self, algorithm: &str) -> Result<Option<StoredKey>, DbError> {
        let rows = self.db.query(
            "SELECT kid, public_jwk, sealed_private_key FROM signing_keys WHERE algorithm = ? \
             ORDER BY created_at DESC, kid DESC LIMIT 1",
            &[algorithm.into()],
        )?;
        rows.first()
            .map(|row| Ok(StoredKey { kid: row.text(0)?, public_jwk: row.text(1)?, sealed_private_key: row.text(2)? }))
            .transpose()
    }

    /// The published keys of `algorithm` as `(kid, public_jwk)`, newest first; only `kid`'s
    /// when given.
    pub fn published_keys(
        &self,
        algorithm: &str,
        cutoff: Timestamp,
        kid: Option<&str>,
    ) -> Result<Vec<(String, String)>, DbError> {
        let rows = match kid {
            Some(kid) => self.db.query(
                &format!("SELECT k.kid, k.public_jwk FROM signing_keys k WHERE k.kid = ? AND k.algorithm = ? AND NOT {SUPERSEDED}"),
                &[kid.into(), algorithm.into(), cutoff.into()],
            )?,
            None => self.db.query(
                &format!(
                    "SELECT k.kid, k.public_jwk FROM signing_keys k WHERE k.algorithm = ? AND NOT {SUPERSEDED} \
                     ORDER BY k.created_at DESC, k.kid DESC"
                ),
                &[algorithm.into(), cutoff.into()],
            )?,
        };
        rows.iter().map(|row| Ok((row.text(0)?, row.text(1)?))).collect()
    }

    pub fn insert_signing_key(&self, key: &StoredKey, algorithm: &str, now: Timestamp) -> Result<(), DbError> {
        self.db.query(
            "INSERT INTO signing_keys (kid, algorithm, public_jwk, sealed_private_key, created_at) VALUES (?, ?, ?, ?, ?)",
            &[key.kid.as_str().into(), algorithm.into(), key.public_jwk.as_str().into(), key.sealed_private_key.as_str().into(), now.into()],
        )?;
        Ok(())
    }

    /// Deletes the keys of `algorithm` that are no longer published; returns how many.
    pub fn delete_retired_keys(&self, algorithm: &str, cutoff: Timestamp) -> Result<usize, DbError> {
        let rows = self.db.query(
            &format!(
                "DELETE FROM signing_keys WHERE kid IN (SELECT k.kid FROM signing_keys k WHERE k.algorithm = ? AND {SUPERSEDED}) RETURNING kid"
            ),
            &[algorithm.into(), cutoff.into()],
        )?;
        Ok(rows.len())
    }

    pub fn insert_refresh_token(&self, token_hash: &str, sid: &str, now: Timestamp) -> Result<(), DbError> {
        self.db.query(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (?, ?, ?)",
            &[token_hash.into(), Value::uuid(sid), now.into()],
        )?;
        Ok(())
    }

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
