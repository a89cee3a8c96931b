//! The JWT signing algorithms a deployment may choose (`jwt_algorithm`): the HMAC family,
//! keyed by the shared secret, and EdDSA and ES256, signed with keys of itsor's own (see
//! [`crate::keys`]). A leaf: both [`crate::config`], which parses the name, and
//! [`crate::token`], which signs with it, depend on this module and not on each other.

use std::str::FromStr;

/// The algorithms a deployment may choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// HMAC with SHA-256 (the default).
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// Ed25519 (RFC 8037), with a key of itsor's own.
    EdDSA,
    /// ECDSA on P-256 with SHA-256, with a key of itsor's own.
    ES256,
}

impl Algorithm {
    /// Every algorithm, as `jwt_algorithm` names it.
    pub const ALL: [Algorithm; 5] =
        [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512, Algorithm::EdDSA, Algorithm::ES256];

    /// The name in `jwt_algorithm`, in JWT headers and in JWKs (`alg`).
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
            Algorithm::EdDSA => "EdDSA",
            Algorithm::ES256 => "ES256",
        }
    }

    /// Whether tokens are signed with a key pair of the deployment's own (published in its
    /// key set) rather than with the shared secret.
    pub fn is_asymmetric(self) -> bool {
        matches!(self, Algorithm::EdDSA | Algorithm::ES256)
    }

    /// The shortest production `jwt_secret` for this algorithm, in bytes: with HMAC the
    /// length of its hash (RFC 7518 §3.2: a shorter key weakens it); with EdDSA and ES256,
    /// where the secret only encrypts the signing keys, 32.
    pub fn min_secret_bytes(self) -> usize {
        match self {
            Algorithm::HS384 => 48,
            Algorithm::HS512 => 64,
            _ => 32,
        }
    }
}

impl FromStr for Algorithm {
    type Err = ();

    fn from_str(s: &str) -> Result<Algorithm, ()> {
        Algorithm::ALL.into_iter().find(|alg| alg.as_str() == s).ok_or(())
    }
}

impl From<Algorithm> for jsonwebtoken::Algorithm {
    fn from(alg: Algorithm) -> jsonwebtoken::Algorithm {
        match alg {
            Algorithm::HS256 => jsonwebtoken::Algorithm::HS256,
            Algorithm::HS384 => jsonwebtoken::Algorithm::HS384,
            Algorithm::HS512 => jsonwebtoken::Algorithm::HS512,
            Algorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
            Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
        }
    }
}
