//! The `signing_keys` table: the deployment's EdDSA and ES256 keys, public JWK and sealed
//! private half (see [`crate::keys`]).

use super::Store;
use crate::clock::Timestamp;
use crate::db::{Database, DbError};

/// A signing key as stored: its id, public JWK (JSON) and sealed private half.
pub(crate) struct StoredKey {
    /// The key's id (its RFC 7638 thumbprint).
    pub kid: String,
    /// The public JWK, as JSON.
    pub public_jwk: String,
    /// The private half, sealed under `jwt_secret`.
    pub sealed_private_key: String,
}

/// Whether key `k` has a successor (a newer key of its algorithm) created before the cutoff
/// parameter: then no live token can name it (see [`crate::keys`]). A token `k` signed in
/// the successor's very second still verifies at `cutoff + lifetime`, hence `<`.
const SUPERSEDED: &str = "EXISTS (SELECT 1 FROM signing_keys n \
     WHERE n.algorithm = k.algorithm AND n.created_at > k.created_at AND n.created_at < ?)";

impl<D: Database> Store<D> {
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

    /// When the newest key of `algorithm` was made, if there is one.
    pub fn newest_signing_key_time(&self, algorithm: &str) -> Result<Option<Timestamp>, DbError> {
        let rows = self.db.query(
            "SELECT created_at FROM signing_keys WHERE algorithm = ? ORDER BY created_at DESC LIMIT 1",
            &[algorithm.into()],
        )?;
        rows.first()
            .map(|row| {
                Timestamp::parse_rfc3339(&row.text(0)?).map_err(|_| DbError::failed("a stored key's time is malformed"))
            })
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

    /// Stores a new key of `algorithm`, made at `made_at`.
    pub fn insert_signing_key(&self, key: &StoredKey, algorithm: &str, made_at: Timestamp) -> Result<(), DbError> {
        self.db.query(
            "INSERT INTO signing_keys (kid, algorithm, public_jwk, sealed_private_key, created_at) VALUES (?, ?, ?, ?, ?)",
            &[key.kid.as_str().into(), algorithm.into(), key.public_jwk.as_str().into(), key.sealed_private_key.as_str().into(), made_at.into()],
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
}
