//! The `users` table: accounts, their normalised e-mail addresses and password hashes.

use serde::Serialize;

use super::{Store, stored_time};
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

pub(super) const USER_COLUMNS: &str = "u.id, u.email, u.name, u.created_at, u.updated_at";

pub(super) fn user_from(row: &Row, at: usize) -> Result<User, DbError> {
    Ok(User {
        id: row.text(at)?,
        email: row.text(at + 1)?,
        name: row.opt_text(at + 2)?,
        created_at: row.text(at + 3)?,
        updated_at: row.text(at + 4)?,
    })
}

/// A user together with their stored password hash (never leaves the logic crate).
pub(crate) struct Credentials {
    /// The user.
    pub user: User,
    /// Their PHC-format (or adopted bcrypt) password hash.
    pub password_hash: String,
}

impl<D: Database> Store<D> {
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

    /// The user registered under the normalised `email`, with their password hash.
    pub fn credentials_by_email(&self, email: &str) -> Result<Option<Credentials>, DbError> {
        let sql = format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.email = ?");
        let rows = self.db.query(&sql, &[email.into()])?;
        rows.first().map(|row| Ok(Credentials { user: user_from(row, 0)?, password_hash: row.text(5)? })).transpose()
    }

    /// Replaces the user's password hash (a change, or an upgrade at login).
    pub fn set_password_hash(&self, user_id: &str, hash: &str, now: Timestamp) -> Result<(), DbError> {
        self.db.query(
            "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?",
            &[hash.into(), now.into(), Value::uuid(user_id)],
        )?;
        Ok(())
    }
}
