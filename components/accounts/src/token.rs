//! Access tokens: HMAC-signed JWTs naming a user (`sub`) and a server-side session (`sid`).
//!
//! Validation is strict: the one configured algorithm only (so `none`, other HMAC sizes and
//! asymmetric algorithms are all refused), a fixed key (header fields such as `kid`, `jku`,
//! `x5u` or `jwk` never select one), `exp`, `iat`, `sub`, `sid` and the configured `iss`
//! required, `nbf` honoured, oversize tokens refused before any parsing, and a header naming
//! critical extensions (`crit`, RFC 7515 §4.1.11) refused, since itsor understands none.

use std::str::FromStr;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::AuthError;

mod crypto;

/// The longest token accepted, in bytes; longer ones are refused unparsed.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The HMAC algorithms a deployment may choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// HMAC with SHA-256 (the default).
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
}

impl Algorithm {
    /// The length of the algorithm's hash in bytes: the shortest key that does not weaken
    /// it (RFC 7518 §3.2 requires at least this much).
    pub fn hash_bytes(self) -> usize {
        match self {
            Algorithm::HS256 => 32,
            Algorithm::HS384 => 48,
            Algorithm::HS512 => 64,
        }
    }
}

impl FromStr for Algorithm {
    type Err = ();

    fn from_str(s: &str) -> Result<Algorithm, ()> {
        match s {
            "HS256" => Ok(Algorithm::HS256),
            "HS384" => Ok(Algorithm::HS384),
            "HS512" => Ok(Algorithm::HS512),
            _ => Err(()),
        }
    }
}

impl From<Algorithm> for jsonwebtoken::Algorithm {
    fn from(alg: Algorithm) -> jsonwebtoken::Algorithm {
        match alg {
            Algorithm::HS256 => jsonwebtoken::Algorithm::HS256,
            Algorithm::HS384 => jsonwebtoken::Algorithm::HS384,
            Algorithm::HS512 => jsonwebtoken::Algorithm::HS512,
        }
    }
}

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

/// Signs and verifies access tokens under one deployment's settings: signs with
/// `jwt_secret` only, verifies with it and, during a rotation, with `jwt_secret_previous`.
pub struct TokenSigner {
    header: Header,
    encoding: EncodingKey,
    decoding: DecodingKey,
    previous: Option<DecodingKey>,
    validation: Validation,
}

impl TokenSigner {
    /// A signer for `settings`' algorithm, secret, issuer and leeway.
    pub fn new(settings: &Settings) -> TokenSigner {
        crypto::install();
        let alg = jsonwebtoken::Algorithm::from(settings.jwt_algorithm);
        let mut validation = Validation::new(alg);
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
        TokenSigner {
            header: Header::new(alg),
            encoding: EncodingKey::from_secret(settings.jwt_secret.as_bytes()),
            decoding: DecodingKey::from_secret(settings.jwt_secret.as_bytes()),
            previous: settings.jwt_secret_previous.as_deref().map(|previous| DecodingKey::from_secret(previous.as_bytes())),
            validation,
        }
    }

    /// Signs `claims` into a compact JWT.
    pub fn sign(&self, claims: &Claims) -> Result<String, AuthError> {
        jsonwebtoken::encode(&self.header, claims, &self.encoding)
            .map_err(|e| AuthError::Internal(format!("token signing failed: {e}")))
    }

    /// Verifies `token` and returns its claims: [`AuthError::TokenExpired`] for a genuine
    /// token past its `exp` (plus leeway), [`AuthError::InvalidToken`] for anything else.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        if token.is_empty() || token.len() > MAX_TOKEN_BYTES || names_critical_extensions(token) {
            return Err(AuthError::InvalidToken);
        }
        let decoded = match (jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation), &self.previous) {
            // Only a signature the current key does not make is tried with the previous one.
            (Err(err), Some(previous)) if matches!(err.kind(), ErrorKind::InvalidSignature) => {
                jsonwebtoken::decode::<Claims>(token, previous, &self.validation)
            }
            (decoded, _) => decoded,
        };
        match decoded {
            Ok(data) => Ok(data.claims),
            Err(err) if matches!(err.kind(), ErrorKind::ExpiredSignature) => Err(AuthError::TokenExpired),
            Err(_) => Err(AuthError::InvalidToken),
        }
    }
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
    use crate::clock::Timestamp;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::load(&move |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
            .expect("valid settings")
    }

    fn claims(exp_in: i64) -> Claims {
        let now = Timestamp::now().unix();
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
        let token = signer.sign(&claims(60)).expect("signs");
        assert_eq!(signer.verify(&token).expect("verifies"), claims(60));
        let mut tampered = token.clone();
        tampered.pop();
        tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(signer.verify(&tampered), Err(AuthError::InvalidToken));
    }

    #[test]
    fn a_previous_secret_verifies_and_never_signs() {
        let before = TokenSigner::new(&settings(&[("jwt_secret", "the-old-secret")]));
        let old_token = before.sign(&claims(60)).expect("signs");
        let rotated = TokenSigner::new(&settings(&[("jwt_secret", "the-new-secret"), ("jwt_secret_previous", "the-old-secret")]));
        assert_eq!(rotated.verify(&old_token).expect("the old key still verifies"), claims(60));
        let new_token = rotated.sign(&claims(60)).expect("signs");
        assert_eq!(before.verify(&new_token), Err(AuthError::InvalidToken), "signed with the new key only");
        let expired = before.sign(&claims(-3600)).expect("signs");
        assert_eq!(rotated.verify(&expired), Err(AuthError::TokenExpired));
        let finished = TokenSigner::new(&settings(&[("jwt_secret", "the-new-secret")]));
        assert_eq!(finished.verify(&old_token), Err(AuthError::InvalidToken), "once the previous key is gone");
        let forged = TokenSigner::new(&settings(&[("jwt_secret", "somebody-else")])).sign(&claims(60)).expect("signs");
        assert_eq!(rotated.verify(&forged), Err(AuthError::InvalidToken));
    }

    #[test]
    fn expired_tokens_say_so_only_past_the_leeway() {
        let strict = TokenSigner::new(&settings(&[("jwt_leeway_seconds", "0")]));
        assert_eq!(strict.verify(&strict.sign(&claims(-5)).expect("signs")), Err(AuthError::TokenExpired));
        let lenient = TokenSigner::new(&settings(&[("jwt_leeway_seconds", "30")]));
        assert!(lenient.verify(&lenient.sign(&claims(-5)).expect("signs")).is_ok());
    }

    #[test]
    fn other_secrets_algorithms_and_issuers_are_invalid() {
        let ours = TokenSigner::new(&settings(&[]));
        let other_secret = TokenSigner::new(&settings(&[("jwt_secret", "another-secret")]));
        let hs384 = TokenSigner::new(&settings(&[("jwt_algorithm", "HS384")]));
        for signer in [&other_secret, &hs384] {
            let token = signer.sign(&claims(60)).expect("signs");
            assert_eq!(ours.verify(&token), Err(AuthError::InvalidToken));
        }
        let foreign = Claims { iss: "someone-else".into(), ..claims(60) };
        assert_eq!(ours.verify(&ours.sign(&foreign).expect("signs")), Err(AuthError::InvalidToken));
    }

    #[test]
    fn audiences_are_required_when_configured() {
        let with_aud = TokenSigner::new(&settings(&[("jwt_audience", "app")]));
        let token = with_aud.sign(&Claims { aud: Some("app".into()), ..claims(60) }).expect("signs");
        assert!(with_aud.verify(&token).is_ok());
        let other = with_aud.sign(&Claims { aud: Some("other".into()), ..claims(60) }).expect("signs");
        assert_eq!(with_aud.verify(&other), Err(AuthError::InvalidToken));
        let none = with_aud.sign(&claims(60)).expect("signs");
        assert_eq!(with_aud.verify(&none), Err(AuthError::InvalidToken));
    }

    #[test]
    fn unsigned_and_oversize_tokens_are_invalid() {
        let signer = TokenSigner::new(&settings(&[]));
        let payload = b64(serde_json::to_string(&claims(60)).expect("json").as_bytes());
        for alg in ["none", "None", "NONE"] {
            let header = b64(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#).as_bytes());
            assert_eq!(signer.verify(&format!("{header}.{payload}.")), Err(AuthError::InvalidToken));
        }
        assert_eq!(signer.verify(&"a".repeat(MAX_TOKEN_BYTES + 1)), Err(AuthError::InvalidToken));
        assert_eq!(signer.verify(""), Err(AuthError::InvalidToken));
    }

    #[test]
    fn tokens_naming_critical_extensions_are_invalid() {
        use hmac::Mac as _;
        let settings = settings(&[]);
        let signer = TokenSigner::new(&settings);
        // Correctly signed with the deployment's key: only the header decides.
        let sign = |header: &str| {
            let input = format!("{}.{}", b64(header.as_bytes()), b64(serde_json::to_string(&claims(60)).expect("json").as_bytes()));
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(settings.jwt_secret.as_bytes()).expect("any key length");
            mac.update(input.as_bytes());
            format!("{input}.{}", b64(&mac.finalize().into_bytes()))
        };
        assert!(signer.verify(&sign(r#"{"alg":"HS256","typ":"JWT"}"#)).is_ok(), "the signing helper is right");
        for header in [r#"{"alg":"HS256","typ":"JWT","crit":["exp"],"exp":1}"#, r#"{"alg":"HS256","crit":[]}"#, r#"{"alg":"HS256","crit":null}"#] {
            assert_eq!(signer.verify(&sign(header)), Err(AuthError::InvalidToken), "{header}");
        }
        assert_eq!(signer.verify(""), Err(AuthError::InvalidToken));
    }
}
