//! The signing keys of an EdDSA or ES256 deployment: made by itsor, kept in its database,
//! published as a JSON Web Key Set.
//!
//! # Keys
//!
//! A [`KeyPair`] is 32 random bytes (an Ed25519 seed or a P-256 scalar) and the public key
//! they make. Its `kid` is the RFC 7638 thumbprint of its public JWK, so a key names itself
//! and a key of another deployment never shares a `kid` with ours. The private half is
//! stored only sealed (ChaCha20-Poly1305 under a key derived from `jwt_secret`, bound to
//! the `kid`; see [`crate::seal`]); `jwt_secret_previous` also opens it, so the secret can
//! be rotated too.
//!
//! # Rotation
//!
//! The newest key of the configured algorithm signs. A key stays *published* (in the key
//! set, and accepted by verification) until its successor has existed for longer than any
//! token lives (`access_seconds` plus the leeway): every token it signed has expired by
//! then. [`KeyRing::rotate`] adds a key, and deletes the keys that are no longer
//! published. The first token a deployment signs makes its first key, so a host needs no
//! start-up step (Spin has none); `itsor serve` makes it at start all the same.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::AuthError;
use crate::algorithm::Algorithm;
use crate::clock::Timestamp;
use crate::config::Settings;
use crate::db::Database;
use crate::seal::{self, Purpose};
use crate::store::{Store, StoredKey};
use crate::token::{KeySource, SigningKey, ed25519_pkcs8, p256_pkcs8};

/// How long a verifier may cache the key set, in seconds (its `Cache-Control`): short, so
/// that after a rotation the new key reaches verifiers that do not refetch on an unknown
/// `kid`.
pub const KEY_SET_MAX_AGE_SECONDS: u32 = 300;

/// The public half of a key, as the members of its JWK that define it (RFC 7517, 8037).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PublicJwk {
    /// `OKP` (Ed25519) or `EC` (P-256).
    pub kty: String,
    /// `Ed25519` or `P-256`.
    pub crv: String,
    /// The public key (Ed25519) or its x coordinate (P-256), base64url.
    pub x: String,
    /// P-256's y coordinate, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
}

impl PublicJwk {
    /// The RFC 7638 thumbprint: base64url SHA-256 of the required members in lexical
    /// order, without white space.
    pub(crate) fn thumbprint(&self) -> String {
        let canonical = match &self.y {
            Some(y) => format!(r#"{{"crv":"{}","kty":"{}","x":"{}","y":"{y}"}}"#, self.crv, self.kty, self.x),
            None => format!(r#"{{"crv":"{}","kty":"{}","x":"{}"}}"#, self.crv, self.kty, self.x),
        };
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    /// The key for verifying `algorithm`'s signatures; a JWK of another algorithm is none.
    fn decoding_key(&self, algorithm: Algorithm) -> Option<DecodingKey> {
        match (algorithm, self.kty.as_str(), self.crv.as_str(), &self.y) {
            (Algorithm::EdDSA, "OKP", "Ed25519", None) => DecodingKey::from_ed_components(&self.x).ok(),
            (Algorithm::ES256, "EC", "P-256", Some(y)) => DecodingKey::from_ec_components(&self.x, y).ok(),
            _ => None,
        }
    }
}

/// A JWK as the key set publishes it: the key, with its `kid`, `alg` and `use`.
#[derive(Serialize)]
struct PublishedJwk<'a> {
    #[serde(flatten)]
    key: &'a PublicJwk,
    kid: &'a str,
    alg: &'static str,
    #[serde(rename = "use")]
    usage: &'static str,
}

/// A new key pair: the private bytes and the public JWK they make.
pub(crate) struct KeyPair {
    /// The algorithm it signs for.
    pub algorithm: Algorithm,
    /// The public half.
    pub public: PublicJwk,
    private: Zeroizing<[u8; 32]>,
}

impl KeyPair {
    /// A fresh random key for `algorithm` (EdDSA or ES256).
    pub(crate) fn generate(algorithm: Algorithm) -> Result<KeyPair, AuthError> {
        match algorithm {
            Algorithm::EdDSA => {
                let seed = seal::random::<32>()?;
                let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key().to_bytes();
                let public =
                    PublicJwk { kty: "OKP".into(), crv: "Ed25519".into(), x: URL_SAFE_NO_PAD.encode(public), y: None };
                Ok(KeyPair { algorithm, public, private: seed })
            }
            Algorithm::ES256 => {
                // A uniformly random scalar: draws of zero or of at least the group order
                // (probability about 2^-32) are drawn again.
                let (scalar, secret) = loop {
                    let scalar = seal::random::<32>()?;
                    if let Ok(secret) = p256::SecretKey::from_bytes(scalar.as_slice().into()) {
                        break (scalar, secret);
                    }
                };
                let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&secret.public_key(), false);
                let coordinate =
                    |c: Option<&p256::FieldBytes>| c.map(|c| URL_SAFE_NO_PAD.encode(c)).unwrap_or_default();
                let public = PublicJwk {
                    kty: "EC".into(),
                    crv: "P-256".into(),
                    x: coordinate(point.x()),
                    y: Some(coordinate(point.y())),
                };
                Ok(KeyPair { algorithm, public, private: scalar })
            }
            _ => Err(AuthError::Internal(format!("{} has no key pairs", algorithm.as_str()))),
        }
    }

    /// The key's id: its thumbprint.
    pub(crate) fn kid(&self) -> String {
        self.public.thumbprint()
    }

    fn encoding_key(&self) -> EncodingKey {
        match self.algorithm {
            Algorithm::ES256 => EncodingKey::from_ec_der(&p256_pkcs8(&self.private)),
            _ => EncodingKey::from_ed_der(&ed25519_pkcs8(&self.private)),
        }
    }

    /// What seals the private half: the row's algorithm and `kid`.
    fn seal_context(algorithm: Algorithm, kid: &str) -> Vec<u8> {
        format!("{}:{kid}", algorithm.as_str()).into_bytes()
    }
}

/// The key set of one deployment at one instant, over its database.
pub(crate) struct KeyRing<'a, D> {
    store: &'a Store<D>,
    settings: &'a Settings,
    now: Timestamp,
}

impl<'a, D: Database> KeyRing<'a, D> {
    /// The keys of `settings`' algorithm in `store`, as they stand at `now`.
    pub(crate) fn new(store: &'a Store<D>, settings: &'a Settings, now: Timestamp) -> KeyRing<'a, D> {
        KeyRing { store, settings, now }
    }

    fn algorithm(&self) -> Result<Algorithm, AuthError> {
        let algorithm = self.settings.jwt_algorithm;
        if algorithm.is_asymmetric() {
            Ok(algorithm)
        } else {
            Err(AuthError::Misconfigured(format!(
                "jwt_algorithm: {} signs with jwt_secret and has no key set",
                algorithm.as_str()
            )))
        }
    }

    /// Keys whose successor is older than this are no longer published.
    fn retirement_cutoff(&self) -> Timestamp {
        let longest = i64::from(self.settings.access_seconds) + i64::from(self.settings.jwt_leeway_seconds);
        Timestamp::from_unix(self.now.unix() - longest)
    }

    /// Makes a new signing key, which signs from now on, stores it sealed, and deletes the
    /// keys no token can name any more. Returns its `kid`.
    pub(crate) fn rotate(&self) -> Result<String, AuthError> {
        Ok(self.make_key()?.kid())
    }

    /// [`KeyRing::rotate`], returning the new pair itself.
    fn make_key(&self) -> Result<KeyPair, AuthError> {
        let algorithm = self.algorithm()?;
        let pair = KeyPair::generate(algorithm)?;
        let kid = pair.kid();
        let public = serde_json::to_string(&pair.public).map_err(|e| AuthError::Internal(e.to_string()))?;
        let sealed = seal::seal(
            self.settings.jwt_secret.as_bytes(),
            Purpose::SigningKey,
            &KeyPair::seal_context(algorithm, &kid),
            pair.private.as_slice(),
        )?;
        // The newest key signs, so a new key must be the newest, even when it is made in its
        // predecessor's second (times are whole seconds): then it is dated a second later.
        let newest = self.store.newest_signing_key_time(algorithm.as_str())?;
        let made_at = newest.map_or(self.now, |newest| self.now.max(newest.plus_seconds(1)));
        self.store.insert_signing_key(
            &StoredKey { kid, public_jwk: public, sealed_private_key: sealed },
            algorithm.as_str(),
            made_at,
        )?;
        self.store.delete_retired_keys(algorithm.as_str(), self.retirement_cutoff())?;
        Ok(pair)
    }

    /// The `kid` of the key that signs now, made first if there is none.
    pub(crate) fn current_kid(&self) -> Result<String, AuthError> {
        Ok(self.signing_key()?.kid)
    }

    /// The published keys, newest first, as a JWK Set (RFC 7517 §5): `{"keys": [...]}`.
    /// With an HMAC algorithm the set is empty (its key is a secret).
    pub(crate) fn key_set(&self) -> Result<serde_json::Value, AuthError> {
        let algorithm = self.settings.jwt_algorithm;
        let stored = match algorithm.is_asymmetric() {
            true => self.store.published_keys(algorithm.as_str(), self.retirement_cutoff(), None)?,
            false => Vec::new(),
        };
        let keys = stored
            .iter()
            .map(|(kid, public)| {
                let key = stored_jwk(public)?;
                let published = PublishedJwk { key: &key, kid, alg: algorithm.as_str(), usage: "sig" };
                serde_json::to_value(published).map_err(|e| AuthError::Internal(e.to_string()))
            })
            .collect::<Result<Vec<_>, AuthError>>()?;
        Ok(json!({ "keys": keys }))
    }

    /// Opens a stored private half with `jwt_secret`, else with `jwt_secret_previous`.
    fn open(&self, algorithm: Algorithm, stored: &StoredKey) -> Result<Zeroizing<[u8; 32]>, AuthError> {
        let context = KeyPair::seal_context(algorithm, &stored.kid);
        let secrets =
            std::iter::once(self.settings.jwt_secret.as_str()).chain(self.settings.jwt_secret_previous.as_deref());
        let opened = secrets
            .filter_map(|secret| {
                seal::open(secret.as_bytes(), Purpose::SigningKey, &context, &stored.sealed_private_key)
            })
            .find_map(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok().map(Zeroizing::new));
        opened.ok_or_else(|| {
            AuthError::Misconfigured(
                "jwt_secret: the signing key cannot be decrypted with jwt_secret or jwt_secret_previous (was the secret changed without keeping the old one as jwt_secret_previous?)".into(),
            )
        })
    }
}

impl<D: Database> KeySource for KeyRing<'_, D> {
    fn signing_key(&self) -> Result<SigningKey, AuthError> {
        let algorithm = self.algorithm()?;
        let (kid, pair) = match self.store.newest_signing_key(algorithm.as_str())? {
            Some(stored) => {
                let private = self.open(algorithm, &stored)?;
                (stored.kid, KeyPair { algorithm, public: stored_jwk(&stored.public_jwk)?, private })
            }
            // The deployment's first token makes its first key.
            None => {
                let pair = self.make_key()?;
                (pair.kid(), pair)
            }
        };
        Ok(SigningKey { kid, key: pair.encoding_key() })
    }

    fn verifying_key(&self, kid: &str) -> Result<Option<DecodingKey>, AuthError> {
        let algorithm = self.algorithm()?;
        let found = self.store.published_keys(algorithm.as_str(), self.retirement_cutoff(), Some(kid))?;
        Ok(found.first().and_then(|(_, public)| stored_jwk(public).ok()).and_then(|jwk| jwk.decoding_key(algorithm)))
    }
}

fn stored_jwk(text: &str) -> Result<PublicJwk, AuthError> {
    serde_json::from_str(text).map_err(|_| AuthError::Internal("a stored public key is malformed".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprints_follow_rfc_7638() {
        // RFC 8037 §A.3: the thumbprint of the RFC 8032 test 1 key.
        let jwk = PublicJwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo".into(),
            y: None,
        };
        assert_eq!(jwk.thumbprint(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }

    #[test]
    fn generated_keys_sign_what_their_public_half_verifies() {
        crate::token::TokenSigner::new(&Settings::load(&|_: &str| None).expect("defaults"));
        for algorithm in [Algorithm::EdDSA, Algorithm::ES256] {
            let pair = KeyPair::generate(algorithm).expect("generates");
            let other = KeyPair::generate(algorithm).expect("generates");
            assert_ne!(pair.kid(), other.kid());
            let signature =
                jsonwebtoken::crypto::sign(b"message", &pair.encoding_key(), algorithm.into()).expect("signs");
            let public = pair.public.decoding_key(algorithm).expect("a key");
            assert_eq!(
                jsonwebtoken::crypto::verify(&signature, b"message", &public, algorithm.into()).ok(),
                Some(true)
            );
            let stranger = other.public.decoding_key(algorithm).expect("a key");
            assert_eq!(
                jsonwebtoken::crypto::verify(&signature, b"message", &stranger, algorithm.into()).ok(),
                Some(false)
            );
            let wrong_kind = if algorithm == Algorithm::EdDSA { Algorithm::ES256 } else { Algorithm::EdDSA };
            assert!(pair.public.decoding_key(wrong_kind).is_none());
        }
    }

    /// A key ring over `db` with `algorithm` at `now`.
    fn ring<'a>(
        store: &'a Store<&'a rusqlite::Connection>,
        settings: &'a Settings,
        now: i64,
    ) -> KeyRing<'a, &'a rusqlite::Connection> {
        KeyRing::new(store, settings, Timestamp::from_unix(now))
    }

    fn published(ring: &KeyRing<'_, &rusqlite::Connection>) -> Vec<String> {
        let set = ring.key_set().expect("a key set");
        let keys = set["keys"].as_array().expect("keys");
        keys.iter().map(|key| key["kid"].as_str().expect("a kid").to_owned()).collect()
    }

    #[test]
    fn a_key_is_published_until_its_successor_outlives_every_token_it_signed() {
        let db = crate::schema::migrated_in_memory().expect("migrates");
        let store = Store::new(&db);
        let settings = Settings::load(&|name: &str| match name {
            "jwt_algorithm" => Some("EdDSA".into()),
            "jwt_access_minutes" => Some("15".into()),
            _ => None,
        })
        .expect("settings");
        crate::token::TokenSigner::new(&settings);
        let lifetime = i64::from(settings.access_seconds) + i64::from(settings.jwt_leeway_seconds);
        let start = 1_800_000_000;

        let first = ring(&store, &settings, start).current_kid().expect("the first key, made on demand");
        assert_eq!(published(&ring(&store, &settings, start)), std::slice::from_ref(&first));
        let rotated_at = start + 3600;
        let second = ring(&store, &settings, rotated_at).rotate().expect("rotates");
        assert_ne!(first, second);

        // Right up to the end of the last token the first key could have signed, both keys
        // verify and are published, newest first.
        let last_moment = ring(&store, &settings, rotated_at + lifetime);
        assert_eq!(published(&last_moment), [second.clone(), first.clone()]);
        assert!(last_moment.verifying_key(&first).expect("looks up").is_some());
        assert_eq!(last_moment.current_kid().expect("signs"), second);

        // A second later no token can name it: it leaves the set and verifies nothing.
        let retired = ring(&store, &settings, rotated_at + lifetime + 1);
        assert_eq!(published(&retired), std::slice::from_ref(&second));
        assert!(retired.verifying_key(&first).expect("looks up").is_none());
        assert!(retired.verifying_key(&second).expect("looks up").is_some());
        let stored = |kid: &str| -> i64 {
            db.query_row("SELECT count(*) FROM signing_keys WHERE kid = ?", [kid], |row| row.get(0)).expect("counts")
        };
        assert_eq!(stored(&first), 1, "a retired key stays stored until the next rotation");

        // The next rotation deletes it; the key it retires stays until its own time.
        let third = retired.rotate().expect("rotates");
        assert_eq!(stored(&first), 0);
        assert_eq!(published(&ring(&store, &settings, rotated_at + lifetime + 1)), [third, second]);
    }

    #[test]
    fn a_key_made_in_its_predecessors_second_still_signs_next() {
        let db = crate::schema::migrated_in_memory().expect("migrates");
        let store = Store::new(&db);
        let settings =
            Settings::load(&|name: &str| (name == "jwt_algorithm").then(|| "ES256".into())).expect("settings");
        let now = 1_800_000_000;
        let ring = ring(&store, &settings, now);
        let first = ring.current_kid().expect("the first key, made on demand");
        let second = ring.rotate().expect("rotates");
        let third = ring.rotate().expect("rotates");
        for _ in 0..3 {
            assert_eq!(ring.current_kid().expect("signs"), third, "the newest key signs");
        }
        assert_eq!(published(&ring), [third.clone(), second, first], "newest first, none retired yet");
        let made: Vec<i64> = {
            let mut statement =
                db.prepare("SELECT created_at FROM signing_keys ORDER BY created_at").expect("prepares");
            let times = statement.query_map([], |row| row.get::<_, String>(0)).expect("reads");
            times.map(|time| Timestamp::parse_rfc3339(&time.expect("a time")).expect("parses").unix()).collect()
        };
        assert_eq!(made, [now, now + 1, now + 2], "each key dated after its predecessor");
    }
}
