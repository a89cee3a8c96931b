//! The cryptography under [`TokenSigner`](super::TokenSigner): a jsonwebtoken
//! [`CryptoProvider`] for HS256, HS384, HS512, EdDSA (Ed25519) and ES256 (P-256), and
//! nothing else.
//!
//! jsonwebtoken leaves its cryptography to a provider. Its ready-made `rust_crypto`
//! provider also brings RSA, P-384, `rand` and `getrandom` 0.2. itsor never accepts those
//! algorithms. In the component, `getrandom` 0.2 also costs the whole WASI preview-1
//! adapter: one more core module instantiated for every request, and a component twice
//! the size.
//!
//! This provider is the same RustCrypto code (`hmac`, `sha2`, `ed25519-dalek`, `p256`),
//! without the rest:
//! - HMAC tags are compared in constant time (`Mac::verify_slice`);
//! - Ed25519 signatures are checked with `verify_strict`: a non-canonical `S` or `R`, or a
//!   small-order key, is refused (no signature malleability);
//! - ECDSA signatures must be 64 bytes of non-zero `r` and `s` below the group order, under
//!   a public key that is a point of P-256 (`from_sec1_bytes` refuses any other);
//! - the private keys arrive as the PKCS#8 documents jsonwebtoken's `from_ed_der` and
//!   `from_ec_der` take, in the one fixed layout [`ed25519_pkcs8`] and [`p256_pkcs8`]
//!   write, so no DER parser is needed;
//! - any other algorithm, or a key of another family, is an error, never a panic.

use hmac::{Hmac, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily};
use sha2::{Sha256, Sha384, Sha512};
use zeroize::Zeroizing;

/// The provider: signers and verifiers of the five algorithms; no key utilities (no JWK
/// parsing: itsor builds its keys itself).
static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: |algorithm, key| {
        Key::new(*algorithm, key.family(), key.as_bytes(), Half::Private).map(|key| Box::new(key) as _)
    },
    verifier_factory: |algorithm, key| {
        Key::new(*algorithm, key.family(), key.try_get_as_bytes()?, Half::Public).map(|key| Box::new(key) as _)
    },
    key_utils: KeyUtils::new_unimplemented(),
};

/// Makes [`PROVIDER`] jsonwebtoken's provider for this process (or instance). Call it
/// before the first signature or verification; later calls do nothing.
///
/// The install fails only when a provider is already set. That is this one from an earlier
/// call, or, in a native build where another crate enables jsonwebtoken's `rust_crypto`
/// (the end-to-end tests forge tokens with it), that provider: the same RustCrypto code,
/// reading the same PKCS#8 documents.
pub(super) fn install() {
    let _ = PROVIDER.install_default();
}

/// The PKCS#8 (RFC 8410) document of an Ed25519 private key, before its 32-byte seed.
const ED25519_PKCS8_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

/// The PKCS#8 (RFC 5915, 5480) document of a P-256 private key without its optional
/// public key, before its 32-byte scalar.
const P256_PKCS8_PREFIX: [u8; 35] = [
    0x30, 0x41, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x27, 0x30, 0x25, 0x02, 0x01, 0x01, 0x04, 0x20,
];

/// The PKCS#8 document of the Ed25519 key with this seed.
pub fn ed25519_pkcs8(seed: &[u8; 32]) -> Zeroizing<Vec<u8>> {
    Zeroizing::new([&ED25519_PKCS8_PREFIX[..], seed].concat())
}

/// The PKCS#8 document of the P-256 key with this scalar.
pub fn p256_pkcs8(scalar: &[u8; 32]) -> Zeroizing<Vec<u8>> {
    Zeroizing::new([&P256_PKCS8_PREFIX[..], scalar].concat())
}

/// The 32 bytes after `prefix` in a document of exactly that layout.
fn after_prefix<'k>(document: &'k [u8], prefix: &[u8]) -> Result<&'k [u8; 32], Error> {
    document
        .strip_prefix(prefix)
        .and_then(|rest| <&[u8; 32]>::try_from(rest).ok())
        .ok_or_else(|| ErrorKind::InvalidKeyFormat.into())
}

/// Which half of a key pair jsonwebtoken handed over.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Half {
    Private,
    Public,
}

/// A key for one algorithm, private (signing) or public (verifying).
enum Key {
    Hmac(HmacKey),
    Ed25519Private(ed25519_dalek::SigningKey),
    Ed25519Public(ed25519_dalek::VerifyingKey),
    P256Private(p256::ecdsa::SigningKey),
    P256Public(p256::ecdsa::VerifyingKey),
}

impl Key {
    /// A key for `algorithm` from jsonwebtoken's bytes: an HMAC secret; a PKCS#8 document
    /// (private halves); the 32-byte Ed25519 key or the uncompressed SEC1 P-256 point of
    /// `from_ed_components` and `from_ec_components` (public halves).
    fn new(algorithm: Algorithm, family: AlgorithmFamily, bytes: &[u8], half: Half) -> Result<Key, Error> {
        let expected = match algorithm {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => AlgorithmFamily::Hmac,
            Algorithm::EdDSA => AlgorithmFamily::Ed,
            Algorithm::ES256 => AlgorithmFamily::Ec,
            _ => return Err(ErrorKind::InvalidAlgorithm.into()),
        };
        if family != expected {
            return Err(ErrorKind::InvalidKeyFormat.into());
        }
        let invalid = |_| Error::from(ErrorKind::InvalidKeyFormat);
        Ok(match (algorithm, half) {
            (Algorithm::EdDSA, Half::Private) => {
                Key::Ed25519Private(ed25519_dalek::SigningKey::from_bytes(after_prefix(bytes, &ED25519_PKCS8_PREFIX)?))
            }
            (Algorithm::EdDSA, Half::Public) => {
                let bytes = <&[u8; 32]>::try_from(bytes).map_err(|_| Error::from(ErrorKind::InvalidKeyFormat))?;
                Key::Ed25519Public(ed25519_dalek::VerifyingKey::from_bytes(bytes).map_err(invalid)?)
            }
            (Algorithm::ES256, Half::Private) => Key::P256Private(
                p256::ecdsa::SigningKey::from_bytes(after_prefix(bytes, &P256_PKCS8_PREFIX)?.into())
                    .map_err(invalid)?,
            ),
            (Algorithm::ES256, Half::Public) => {
                // Only the uncompressed form `from_ec_components` makes: 0x04, x, y.
                if bytes.len() != 65 || bytes.first() != Some(&0x04) {
                    return Err(ErrorKind::InvalidKeyFormat.into());
                }
                Key::P256Public(p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes).map_err(invalid)?)
            }
            _ => Key::Hmac(HmacKey::new(algorithm, bytes)?),
        })
    }

    fn algorithm(&self) -> Algorithm {
        match self {
            Key::Hmac(key) => key.algorithm(),
            Key::Ed25519Private(_) | Key::Ed25519Public(_) => Algorithm::EdDSA,
            Key::P256Private(_) | Key::P256Public(_) => Algorithm::ES256,
        }
    }
}

impl Signer<Vec<u8>> for Key {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        match self {
            Key::Hmac(key) => key.try_sign(message),
            Key::Ed25519Private(key) => Ok(key.sign(message).to_bytes().to_vec()),
            Key::P256Private(key) => {
                let signature: p256::ecdsa::Signature = key.try_sign(message)?;
                Ok(signature.to_bytes().to_vec())
            }
            Key::Ed25519Public(_) | Key::P256Public(_) => Err(signature::Error::new()),
        }
    }
}

impl Verifier<Vec<u8>> for Key {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        match self {
            Key::Hmac(key) => key.verify(message, signature),
            Key::Ed25519Public(key) => key.verify_strict(message, &ed25519_dalek::Signature::from_slice(signature)?),
            Key::P256Public(key) => key.verify(message, &p256::ecdsa::Signature::from_slice(signature)?),
            Key::Ed25519Private(_) | Key::P256Private(_) => Err(signature::Error::new()),
        }
    }
}

impl JwtSigner for Key {
    fn algorithm(&self) -> Algorithm {
        Key::algorithm(self)
    }
}

impl JwtVerifier for Key {
    fn algorithm(&self) -> Algorithm {
        Key::algorithm(self)
    }
}

/// An HMAC key for one algorithm.
#[derive(Clone)]
enum HmacKey {
    Hs256(Hmac<Sha256>),
    Hs384(Hmac<Sha384>),
    Hs512(Hmac<Sha512>),
}

impl HmacKey {
    /// A key for `algorithm` from `secret` (whose family [`Key::new`] checked: jsonwebtoken
    /// also keeps RSA and EC DER keys as plain bytes, which must never serve as one).
    fn new(algorithm: Algorithm, secret: &[u8]) -> Result<HmacKey, Error> {
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

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
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
        for (algorithm, expected) in
            [(Algorithm::HS256, HS256_HEX), (Algorithm::HS384, HS384_HEX), (Algorithm::HS512, HS512_HEX)]
        {
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
                assert!(
                    matches!(verified.map_err(|e| e.into_kind()), Err(ErrorKind::InvalidKeyFormat)),
                    "{algorithm:?}"
                );
            }
        }
    }

    #[test]
    fn other_algorithms_are_errors_not_panics() {
        install();
        for algorithm in [Algorithm::RS256, Algorithm::ES384, Algorithm::PS512] {
            let signed = sign(DATA, &EncodingKey::from_secret(KEY), algorithm);
            assert!(matches!(signed.map_err(|e| e.into_kind()), Err(ErrorKind::InvalidAlgorithm)), "{algorithm:?}");
            let verified = verify("AAAA", DATA, &DecodingKey::from_secret(KEY), algorithm);
            assert!(matches!(verified.map_err(|e| e.into_kind()), Err(ErrorKind::InvalidAlgorithm)), "{algorithm:?}");
        }
        // An HMAC secret never serves as an asymmetric key, nor a public key as a secret.
        for algorithm in [Algorithm::ES256, Algorithm::EdDSA] {
            let signed = sign(DATA, &EncodingKey::from_secret(KEY), algorithm);
            assert!(matches!(signed.map_err(|e| e.into_kind()), Err(ErrorKind::InvalidKeyFormat)), "{algorithm:?}");
        }
        let public = DecodingKey::from_ed_components(&URL_SAFE_NO_PAD.encode(unhex(ED25519_PUBLIC))).expect("key");
        let tag = sign(DATA, &EncodingKey::from_secret(&unhex(ED25519_PUBLIC)), Algorithm::HS256).expect("signs");
        assert!(verify(&tag, DATA, &public, Algorithm::HS256).is_err(), "HS256 under the public key");
    }

    /// RFC 8032 §7.1, test 1: the empty message.
    const ED25519_SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    const ED25519_PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    const ED25519_SIGNATURE: &str = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

    /// RFC 6979 §A.2.5: P-256, SHA-256, the message "sample".
    const P256_SCALAR: &str = "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721";
    const P256_X: &str = "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6";
    const P256_Y: &str = "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299";
    const P256_SIGNATURE: &str = "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8";

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex")).collect()
    }

    fn array(text: &str) -> [u8; 32] {
        unhex(text).try_into().expect("32 bytes")
    }

    #[test]
    fn signs_the_rfc_8032_and_rfc_6979_vectors_and_verifies_them() {
        install();
        let ed_private = EncodingKey::from_ed_der(&ed25519_pkcs8(&array(ED25519_SEED)));
        let ed_public = DecodingKey::from_ed_components(&URL_SAFE_NO_PAD.encode(unhex(ED25519_PUBLIC))).expect("key");
        let signature = sign(b"", &ed_private, Algorithm::EdDSA).expect("signs");
        assert_eq!(hex(&URL_SAFE_NO_PAD.decode(&signature).expect("base64url")), ED25519_SIGNATURE);
        assert_eq!(verify(&signature, b"", &ed_public, Algorithm::EdDSA).ok(), Some(true));
        assert_eq!(verify(&signature, b"x", &ed_public, Algorithm::EdDSA).ok(), Some(false));

        let ec_private = EncodingKey::from_ec_der(&p256_pkcs8(&array(P256_SCALAR)));
        let b64 = |h: &str| URL_SAFE_NO_PAD.encode(unhex(h));
        let ec_public = DecodingKey::from_ec_components(&b64(P256_X), &b64(P256_Y)).expect("key");
        let signature = sign(b"sample", &ec_private, Algorithm::ES256).expect("signs");
        assert_eq!(hex(&URL_SAFE_NO_PAD.decode(&signature).expect("base64url")), P256_SIGNATURE);
        assert_eq!(verify(&signature, b"sample", &ec_public, Algorithm::ES256).ok(), Some(true));
        assert_eq!(verify(&signature, b"sample!", &ec_public, Algorithm::ES256).ok(), Some(false));
        // The keys of one algorithm never serve the other.
        assert!(verify(&signature, b"sample", &ec_public, Algorithm::EdDSA).is_err());
        assert!(sign(b"", &ec_private, Algorithm::EdDSA).is_err());
    }

    #[test]
    fn malleated_or_degenerate_signatures_and_off_curve_keys_are_refused() {
        install();
        let ed_public = DecodingKey::from_ed_components(&URL_SAFE_NO_PAD.encode(unhex(ED25519_PUBLIC))).expect("key");
        // S + L: the same signature with a non-canonical S (RFC 8032 §5.1.7 requires S < L).
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut malleated = unhex(ED25519_SIGNATURE);
        let mut carry = 0u16;
        for (byte, l) in malleated[32..].iter_mut().zip(L) {
            let sum = u16::from(*byte) + u16::from(l) + carry;
            *byte = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(carry, 0);
        assert_ne!(verify(&URL_SAFE_NO_PAD.encode(&malleated), b"", &ed_public, Algorithm::EdDSA).ok(), Some(true));
        // ECDSA's r = s = 0 ("psychic signatures") and an all-zero Ed25519 signature.
        let b64 = |h: &str| URL_SAFE_NO_PAD.encode(unhex(h));
        let ec_public = DecodingKey::from_ec_components(&b64(P256_X), &b64(P256_Y)).expect("key");
        let zeros = URL_SAFE_NO_PAD.encode([0u8; 64]);
        assert_ne!(verify(&zeros, b"sample", &ec_public, Algorithm::ES256).ok(), Some(true));
        assert_ne!(verify(&zeros, b"", &ed_public, Algorithm::EdDSA).ok(), Some(true));
        // A point off the curve (y + 1) is no key at all.
        let mut y = unhex(P256_Y);
        y[31] ^= 1;
        let off_curve = DecodingKey::from_ec_components(&b64(P256_X), &URL_SAFE_NO_PAD.encode(&y)).expect("key bytes");
        let signature = sign(b"sample", &EncodingKey::from_ec_der(&p256_pkcs8(&array(P256_SCALAR))), Algorithm::ES256)
            .expect("signs");
        assert!(matches!(
            verify(&signature, b"sample", &off_curve, Algorithm::ES256).map_err(|e| e.into_kind()),
            Err(ErrorKind::InvalidKeyFormat)
        ));
        // A PKCS#8 document of another layout is refused, not misread.
        let mut document = ed25519_pkcs8(&array(ED25519_SEED)).to_vec();
        document.push(0);
        assert!(sign(b"", &EncodingKey::from_ed_der(&document), Algorithm::EdDSA).is_err());
    }
}
