//! The cryptography under [`TokenSigner`](super::TokenSigner): a jsonwebtoken
//! [`CryptoProvider`] for HS256, HS384 and HS512 and nothing else.
//!
//! jsonwebtoken leaves its cryptography to a provider. Its ready-made `rust_crypto`
//! provider also brings RSA, ECDSA and EdDSA, and with them `rand`, `rsa` and `getrandom`
//! 0.2. itsor never accepts those algorithms. In the component, `getrandom` 0.2 also costs
//! the whole WASI preview-1 adapter: one more core module instantiated for every request,
//! and a component twice the size.
//!
//! This provider is the same RustCrypto `hmac` and `sha2`, without the rest:
//! - tags are compared in constant time (`Mac::verify_slice`);
//! - any other algorithm, or a key that is not an HMAC secret, is an error, never a panic.

use hmac::{Hmac, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily};
use sha2::{Sha256, Sha384, Sha512};

/// The provider: HMAC signers and verifiers; no key utilities (no JWKs, no asymmetric keys).
static HMAC_ONLY: CryptoProvider = CryptoProvider {
    signer_factory: |algorithm, key| Ok(Box::new(HmacKey::new(*algorithm, key.family(), key.as_bytes())?)),
    verifier_factory: |algorithm, key| {
        Ok(Box::new(HmacKey::new(*algorithm, key.family(), key.try_get_as_bytes()?)?))
    },
    key_utils: KeyUtils::new_unimplemented(),
};

/// Makes [`HMAC_ONLY`] jsonwebtoken's provider for this process (or instance). Call it
/// before the first signature or verification; later calls do nothing.
///
/// The install fails only when a provider is already set. That is this one from an earlier
/// call, or, in a native build where another crate enables jsonwebtoken's `rust_crypto`
/// (the end-to-end tests forge tokens with it), that provider. Its HMAC is the same
/// RustCrypto code.
pub(super) fn install() {
    let _ = HMAC_ONLY.install_default();
}

/// An HMAC key for one algorithm.
#[derive(Clone)]
enum HmacKey {
    Hs256(Hmac<Sha256>),
    Hs384(Hmac<Sha384>),
    Hs512(Hmac<Sha512>),
}

impl HmacKey {
    /// A key for `algorithm` from `secret`; the key must be an HMAC secret (jsonwebtoken
    /// also keeps RSA and EC DER keys as plain bytes, which must never serve as one).
    fn new(algorithm: Algorithm, family: AlgorithmFamily, secret: &[u8]) -> Result<HmacKey, Error> {
        if family != AlgorithmFamily::Hmac {
            return Err(ErrorKind::InvalidKeyFormat.into());
        }
        let key = match algorithm {
            Algorithm::HS256 => Hmac::new_from_slice(secret).map(HmacKey::Hs256),
            Algorithm::HS384 => Hmac::new_from_slice(secret).map(HmacKey::Hs384),
            Algorithm::HS512 => Hmac::new_from_slice(secret).map(HmacKey::Hs512),
            _ => return Err(ErrorKind::InvalidAlgorithm.into()),
        };
        key.map_err(|_| ErrorKind::InvalidKeyFormat.into())
    }

    fn algorithm(&self) -> Algorithm {
        match self {
            HmacKey::Hs256(_) => Algorithm::HS256,
            HmacKey::Hs384(_) => Algorithm::HS384,
            HmacKey::Hs512(_) => Algorithm::HS512,
        }
    }
}

fn tag<M: Mac + Clone>(key: &M, message: &[u8]) -> Vec<u8> {
    let mut mac = key.clone();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn check<M: Mac + Clone>(key: &M, message: &[u8], tag: &[u8]) -> Result<(), signature::Error> {
    let mut mac = key.clone();
    mac.update(message);
    mac.verify_slice(tag).map_err(|_| signature::Error::new())
}

impl Signer<Vec<u8>> for HmacKey {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(match self {
            HmacKey::Hs256(key) => tag(key, message),
            HmacKey::Hs384(key) => tag(key, message),
            HmacKey::Hs512(key) => tag(key, message),
        })
    }
}

impl Verifier<Vec<u8>> for HmacKey {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        match self {
            HmacKey::Hs256(key) => check(key, message, signature),
            HmacKey::Hs384(key) => check(key, message, signature),
            HmacKey::Hs512(key) => check(key, message, signature),
        }
    }
}

impl JwtSigner for HmacKey {
    fn algorithm(&self) -> Algorithm {
        HmacKey::algorithm(self)
    }
}

impl JwtVerifier for HmacKey {
    fn algorithm(&self) -> Algorithm {
        HmacKey::algorithm(self)
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use jsonwebtoken::crypto::{sign, verify};
    use jsonwebtoken::{DecodingKey, EncodingKey};

    use super::*;

    /// RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
    const KEY: &[u8] = b"Jefe";
    const DATA: &[u8] = b"what do ya want for nothing?";
    const HS256_HEX: &str = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
    const HS384_HEX: &str =
        "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649";
    const HS512_HEX: &str = "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737";

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn signs_the_rfc_4231_vectors() {
        install();
        let key = EncodingKey::from_secret(KEY);
        for (algorithm, expected) in [(Algorithm::HS256, HS256_HEX), (Algorithm::HS384, HS384_HEX), (Algorithm::HS512, HS512_HEX)] {
            let signature = sign(DATA, &key, algorithm).expect("signs");
            let tag = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
            assert_eq!(hex(&tag), expected, "{algorithm:?}");
        }
    }

    #[test]
    fn verifies_only_the_exact_tag_under_the_same_algorithm() {
        install();
        let key = DecodingKey::from_secret(KEY);
        let good = sign(DATA, &EncodingKey::from_secret(KEY), Algorithm::HS256).expect("signs");
        assert_eq!(verify(&good, DATA, &key, Algorithm::HS256).ok(), Some(true));
        assert_eq!(verify(&good, b"what do ya want for something?", &key, Algorithm::HS256).ok(), Some(false));
        assert_eq!(verify(&good, DATA, &DecodingKey::from_secret(b"Jeff"), Algorithm::HS256).ok(), Some(false));
        assert_eq!(verify(&good, DATA, &key, Algorithm::HS512).ok(), Some(false));
        // A truncated tag is refused (as malformed base64 or as a wrong tag), never
        // compared as a prefix.
        let truncated = &good[..good.len() - 4];
        assert_ne!(verify(truncated, DATA, &key, Algorithm::HS256).ok(), Some(true));
    }

    #[test]
    fn keys_other_than_hmac_secrets_are_refused_by_signer_and_verifier() {
        install();
        let der = b"bytes of an RSA or EC key";
        for algorithm in [Algorithm::HS256, Algorithm::HS512] {
            for key in [EncodingKey::from_rsa_der(der), EncodingKey::from_ec_der(der)] {
                let signed = sign(DATA, &key, algorithm);
                assert!(matches!(signed.map_err(|e| e.into_kind()), Err(ErrorKind::InvalidKeyFormat)), "{algorithm:?}");
            }
            let tag = sign(DATA, &EncodingKey::from_secret(der), algorithm).expect("signs");
            for key in [DecodingKey::from_rsa_der(der), DecodingKey::from_ec_der(der)] {
                let verified = verify(&tag, DATA, &key, algorithm);
                assert!(matches!(verified.map_err(|e| e.into_kind()), Err(ErrorKind::InvalidKeyFormat)), "{algorithm:?}");
            }
        }
    }

    #[test]
    fn other_algorithms_are_errors_not_panics() {
        install();
        for algorithm in [Algorithm::RS256, Algorithm::ES256, Algorithm::PS512, Algorithm::EdDSA] {
            let signed = sign(DATA, &EncodingKey::from_secret(KEY), algorithm);
            assert!(matches!(signed.map_err(|e| e.into_kind()), Err(ErrorKind::InvalidAlgorithm)), "{algorithm:?}");
            let verified = verify("AAAA", DATA, &DecodingKey::from_secret(KEY), algorithm);
            assert!(matches!(verified.map_err(|e| e.into_kind()), Err(ErrorKind::InvalidAlgorithm)), "{algorithm:?}");
        }
    }
}
