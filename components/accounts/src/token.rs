//! Access tokens: JWTs naming a user (`sub`) and a server-side session (`sid`), signed
//! with the deployment's HMAC secret (HS256, HS384, HS512) or with its own asymmetric key
//! (EdDSA, ES256: see [`crate::keys`]).
//!
//! Validation is strict: the one configured algorithm only (so `none`, other HMAC sizes and
//! the other family are all refused, and an HMAC "signed" with a public key is never
//! checked as one), a key of the deployment's own (with HMAC the secret; asymmetric, the
//! published key the header's `kid` names, and a token without a `kid` is refused; `jku`,
//! `x5u`, `jwk` and every other header field never select a key), `exp`, `iat`, `sub`,
//! `sid` and the configured `iss` required, `nbf` honoured, oversize tokens refused before
//! any parsing, and a header naming critical extensions (`crit`, RFC 7515 §4.1.11)
//! refused, since itsor understands none.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::AuthError;
use crate::algorithm::Algorithm;
use crate::config::Settings;

mod crypto;

pub(crate) use crypto::{ed25519_pkcs8, p256_pkcs8};

/// The longest token accepted, in bytes; longer ones are refused unparsed.
pub(crate) const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The longest `kid` looked up; ours are 43 characters (a base64url SHA-256).
const MAX_KID_BYTES: usize = 64;

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id.
    pub sub: String,
    /// The session's id.
    pub sid: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// The issuer.
    pub iss: String,
    /// The audience, when the deployment names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

/// A private key to sign with, and the `kid` that names its public half.
pub struct SigningKey {
    /// The key's id, written into the token's header.
    pub kid: String,
    /// The private key, for jsonwebtoken.
    pub key: EncodingKey,
}

/// Where an asymmetric deployment's keys come from (see [`crate::keys::KeyRing`]).
pub trait KeySource {
    /// The key new tokens are signed with.
    fn signing_key(&self) -> Result<SigningKey, AuthError>;
    /// The public key `kid`, if it is the deployment's and may still verify tokens.
    fn verifying_key(&self, kid: &str) -> Result<Option<DecodingKey>, AuthError>;
}

/// The key source of an HMAC deployment, whose one key is its secret: it has no key pairs.
pub struct SecretOnly;

impl KeySource for SecretOnly {
    fn signing_key(&self) -> Result<SigningKey, AuthError> {
        Err(AuthError::Internal("an asymmetric algorithm needs the deployment's key ring".into()))
    }

    fn verifying_key(&self, _kid: &str) -> Result<Option<DecodingKey>, AuthError> {
        Ok(None)
    }
}

/// The HMAC keys: `jwt_secret`, which signs and verifies, and during a rotation
/// `jwt_secret_previous`, which only verifies.
struct Secrets {
    encoding: EncodingKey,
    decoding: DecodingKey,
    previous: Option<DecodingKey>,
}

/// Signs and verifies access tokens under one deployment's settings: with HMAC, signs with
/// `jwt_secret` only and verifies with it and, during a rotation, with
/// `jwt_secret_previous`; with EdDSA or ES256, signs with the newest key of a
/// [`KeySource`] and verifies with the published key the token names.
pub struct TokenSigner {
    algorithm: Algorithm,
    secrets: Option<Secrets>,
    validation: Validation,
}

impl TokenSigner {
    /// A signer for `settings`' algorithm, secret, issuer and leeway.
    pub fn new(settings: &Settings) -> TokenSigner {
        crypto::install();
        let algorithm = settings.jwt_algorithm;
        let mut validation = Validation::new(algorithm.into());
        validation.leeway = u64::from(settings.jwt_leeway_seconds);
        validation.validate_nbf = true;
        validation.set_issuer(&[settings.jwt_issuer.as_str()]);
        match &settings.jwt_audience {
            Some(audience) => {
                validation.set_audience(&[audience.as_str()]);
                validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
            }
            None => validation.set_required_spec_claims(&["exp", "sub", "iss"]),
        }
        let secrets = (!algorithm.is_asymmetric()).then(|| Secrets {
            encoding: EncodingKey::from_secret(settings.jwt_secret.as_bytes()),
            decoding: DecodingKey::from_secret(settings.jwt_secret.as_bytes()),
            previous: settings
                .jwt_secret_previous
                .as_deref()
                .map(|previous| DecodingKey::from_secret(previous.as_bytes())),
        });
        TokenSigner { algorithm, secrets, validation }
    }

    /// Signs `claims` into a compact JWT (with an asymmetric algorithm, under the newest
    /// key of `keys`, named by `kid`).
    pub fn sign(&self, claims: &Claims, keys: &dyn KeySource) -> Result<String, AuthError> {
        let mut header = Header::new(self.algorithm.into());
        let signed = match &self.secrets {
            Some(secrets) => jsonwebtoken::encode(&header, claims, &secrets.encoding),
            None => {
                let key = keys.signing_key()?;
                header.kid = Some(key.kid);
                jsonwebtoken::encode(&header, claims, &key.key)
            }
        };
        signed.map_err(|e| AuthError::Internal(format!("token signing failed: {e}")))
    }

    /// Verifies `token` and returns its claims: [`AuthError::TokenExpired`] for a genuine
    /// token past its `exp` (plus leeway), [`AuthError::InvalidToken`] for anything else.
    /// Storage is asked for a key (asymmetric algorithms) only once the header names the
    /// configured algorithm and a plausible `kid`.
    pub fn verify(&self, token: &str, keys: &dyn KeySource) -> Result<Claims, AuthError> {
        if token.is_empty() || token.len() > MAX_TOKEN_BYTES || names_critical_extensions(token) {
            return Err(AuthError::InvalidToken);
        }
        let decoded = match &self.secrets {
            Some(secrets) => {
                match (jsonwebtoken::decode::<Claims>(token, &secrets.decoding, &self.validation), &secrets.previous) {
                    // Only a signature the current key does not make is tried with the previous one.
                    (Err(err), Some(previous)) if matches!(err.kind(), ErrorKind::InvalidSignature) => {
                        jsonwebtoken::decode::<Claims>(token, previous, &self.validation)
                    }
                    (decoded, _) => decoded,
                }
            }
            None => {
                let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::InvalidToken)?;
                let kid = header
                    .kid
                    .filter(|kid| header.alg == self.algorithm.into() && is_kid(kid))
                    .ok_or(AuthError::InvalidToken)?;
                let key = keys.verifying_key(&kid)?.ok_or(AuthError::InvalidToken)?;
                jsonwebtoken::decode::<Claims>(token, &key, &self.validation)
            }
        };
        match decoded {
            Ok(data) => Ok(data.claims),
            Err(err) if matches!(err.kind(), ErrorKind::ExpiredSignature) => Err(AuthError::TokenExpired),
            Err(_) => Err(AuthError::InvalidToken),
        }
    }
}

/// Whether `kid` could be one of ours (base64url, not too long): anything else is refused
/// without a lookup.
fn is_kid(kid: &str) -> bool {
    !kid.is_empty()
        && kid.len() <= MAX_KID_BYTES
        && kid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether the token's header has a `crit` member (whatever its value): a recipient that
/// does not understand every extension listed there must refuse the token, and itsor
/// understands none. A header that is not base64url JSON is left to the full validation.
fn names_critical_extensions(token: &str) -> bool {
    use base64::Engine as _;
    let header = token.split('.').next().unwrap_or_default();
    let Ok(json) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header) else {
        return false;
    };
    serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&json)
        .is_ok_and(|header| header.contains_key("crit"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, WallClock};

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::load(&move |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
            .expect("valid settings")
    }

    fn claims(exp_in: i64) -> Claims {
        let now = WallClock.now().unix();
        Claims { sub: "u1".into(), sid: "s1".into(), iat: now, exp: now + exp_in, iss: "itsor".into(), aud: None }
    }

    fn b64(bytes: &[u8]) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            }
        }
        out
    }

    #[test]
    fn round_trips_and_rejects_tampering() {
        let signer = TokenSigner::new(&settings(&[]));
        let token = signer.sign(&claims(60), &SecretOnly).expect("signs");
        assert_eq!(signer.verify(&token, &SecretOnly).expect("verifies"), claims(60));
        let mut tampered = token.clone();
        tampered.pop();
        tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(signer.verify(&tampered, &SecretOnly), Err(AuthError::InvalidToken));
    }

    #[test]
    fn a_previous_secret_verifies_and_never_signs() {
        let before = TokenSigner::new(&settings(&[("jwt_secret", "the-old-secret")]));
        let old_token = before.sign(&claims(60), &SecretOnly).expect("signs");
        let rotated =
            TokenSigner::new(&settings(&[("jwt_secret", "the-new-secret"), ("jwt_secret_previous", "the-old-secret")]));
        assert_eq!(rotated.verify(&old_token, &SecretOnly).expect("the old key still verifies"), claims(60));
        let new_token = rotated.sign(&claims(60), &SecretOnly).expect("signs");
        assert_eq!(
            before.verify(&new_token, &SecretOnly),
            Err(AuthError::InvalidToken),
            "signed with the new key only"
        );
        let expired = before.sign(&claims(-3600), &SecretOnly).expect("signs");
        assert_eq!(rotated.verify(&expired, &SecretOnly), Err(AuthError::TokenExpired));
        let finished = TokenSigner::new(&settings(&[("jwt_secret", "the-new-secret")]));
        assert_eq!(
            finished.verify(&old_token, &SecretOnly),
            Err(AuthError::InvalidToken),
            "once the previous key is gone"
        );
        let forged = TokenSigner::new(&settings(&[("jwt_secret", "somebody-else")]))
            .sign(&claims(60), &SecretOnly)
            .expect("signs");
        assert_eq!(rotated.verify(&forged, &SecretOnly), Err(AuthError::InvalidToken));
    }

    #[test]
    fn expired_tokens_say_so_only_past_the_leeway() {
        let strict = TokenSigner::new(&settings(&[("jwt_leeway_seconds", "0")]));
        assert_eq!(
            strict.verify(&strict.sign(&claims(-5), &SecretOnly).expect("signs"), &SecretOnly),
            Err(AuthError::TokenExpired)
        );
        let lenient = TokenSigner::new(&settings(&[("jwt_leeway_seconds", "30")]));
        assert!(lenient.verify(&lenient.sign(&claims(-5), &SecretOnly).expect("signs"), &SecretOnly).is_ok());
    }

    #[test]
    fn other_secrets_algorithms_and_issuers_are_invalid() {
        let ours = TokenSigner::new(&settings(&[]));
        let other_secret = TokenSigner::new(&settings(&[("jwt_secret", "another-secret")]));
        let hs384 = TokenSigner::new(&settings(&[("jwt_algorithm", "HS384")]));
        for signer in [&other_secret, &hs384] {
            let token = signer.sign(&claims(60), &SecretOnly).expect("signs");
            assert_eq!(ours.verify(&token, &SecretOnly), Err(AuthError::InvalidToken));
        }
        let foreign = Claims { iss: "someone-else".into(), ..claims(60) };
        assert_eq!(
            ours.verify(&ours.sign(&foreign, &SecretOnly).expect("signs"), &SecretOnly),
            Err(AuthError::InvalidToken)
        );
    }

    #[test]
    fn audiences_are_required_when_configured() {
        let with_aud = TokenSigner::new(&settings(&[("jwt_audience", "app")]));
        let token = with_aud.sign(&Claims { aud: Some("app".into()), ..claims(60) }, &SecretOnly).expect("signs");
        assert!(with_aud.verify(&token, &SecretOnly).is_ok());
        let other = with_aud.sign(&Claims { aud: Some("other".into()), ..claims(60) }, &SecretOnly).expect("signs");
        assert_eq!(with_aud.verify(&other, &SecretOnly), Err(AuthError::InvalidToken));
        let none = with_aud.sign(&claims(60), &SecretOnly).expect("signs");
        assert_eq!(with_aud.verify(&none, &SecretOnly), Err(AuthError::InvalidToken));
    }

    #[test]
    fn unsigned_and_oversize_tokens_are_invalid() {
        let signer = TokenSigner::new(&settings(&[]));
        let payload = b64(serde_json::to_string(&claims(60)).expect("json").as_bytes());
        for alg in ["none", "None", "NONE"] {
            let header = b64(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#).as_bytes());
            assert_eq!(signer.verify(&format!("{header}.{payload}."), &SecretOnly), Err(AuthError::InvalidToken));
        }
        assert_eq!(signer.verify(&"a".repeat(MAX_TOKEN_BYTES + 1), &SecretOnly), Err(AuthError::InvalidToken));
        assert_eq!(signer.verify("", &SecretOnly), Err(AuthError::InvalidToken));
    }

    #[test]
    fn tokens_naming_critical_extensions_are_invalid() {
        use hmac::Mac as _;
        let settings = settings(&[]);
        let signer = TokenSigner::new(&settings);
        // Correctly signed with the deployment's key: only the header decides.
        let sign = |header: &str| {
            let input = format!(
                "{}.{}",
                b64(header.as_bytes()),
                b64(serde_json::to_string(&claims(60)).expect("json").as_bytes())
            );
            let mut mac =
                hmac::Hmac::<sha2::Sha256>::new_from_slice(settings.jwt_secret.as_bytes()).expect("any key length");
            mac.update(input.as_bytes());
            format!("{input}.{}", b64(&mac.finalize().into_bytes()))
        };
        assert!(
            signer.verify(&sign(r#"{"alg":"HS256","typ":"JWT"}"#), &SecretOnly).is_ok(),
            "the signing helper is right"
        );
        for header in [
            r#"{"alg":"HS256","typ":"JWT","crit":["exp"],"exp":1}"#,
            r#"{"alg":"HS256","crit":[]}"#,
            r#"{"alg":"HS256","crit":null}"#,
        ] {
            assert_eq!(signer.verify(&sign(header), &SecretOnly), Err(AuthError::InvalidToken), "{header}");
        }
        assert_eq!(signer.verify("", &SecretOnly), Err(AuthError::InvalidToken));
    }
}
