//! Secrets at rest: randomness, and authenticated encryption under a key derived from a
//! secret for one purpose.
//!
//! Two things are stored sealed: signing keys' private halves (under `jwt_secret`, see
//! [`crate::keys`]) and refresh tokens' successors (under the token they replaced, see
//! [`crate::refresh`]). Both use [`seal`] and [`open`]: HKDF-SHA256 derives a 256-bit key
//! from the secret and a [`Purpose`] (so one secret never keys two uses), and
//! ChaCha20-Poly1305 encrypts with a random 96-bit nonce, authenticating `context` (the
//! row the value belongs to, so a sealed value copied into another row does not open).
//! The stored text is base64url of nonce and ciphertext.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit, Nonce};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::AuthError;

/// What a derived key is for; its label is HKDF's `info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Private signing keys, under the deployment secret.
    SigningKey,
    /// A refresh token's successor, under the token it replaced.
    RefreshSuccessor,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::SigningKey => b"itsor/v1/signing-key",
            Purpose::RefreshSuccessor => b"itsor/v1/refresh-successor",
        }
    }
}

const NONCE_BYTES: usize = 12;

/// `N` bytes from the platform's secure random source (WASI `random` in the component).
pub(crate) fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>, AuthError> {
    let mut bytes = Zeroizing::new([0u8; N]);
    getrandom::fill(bytes.as_mut_slice()).map_err(|e| AuthError::Internal(format!("no secure randomness: {e}")))?;
    Ok(bytes)
}

fn cipher(secret: &[u8], purpose: Purpose) -> ChaCha20Poly1305 {
    let mut key = Zeroizing::new([0u8; 32]);
    // HKDF's expand fails only for outputs over 255 hash lengths; 32 bytes never do.
    let _ = Hkdf::<Sha256>::new(None, secret).expand(purpose.label(), key.as_mut_slice());
    ChaCha20Poly1305::new(&Key::from(*key))
}

/// `plaintext` sealed under `secret` for `purpose`, bound to `context`.
pub(crate) fn seal(secret: &[u8], purpose: Purpose, context: &[u8], plaintext: &[u8]) -> Result<String, AuthError> {
    let nonce = random::<NONCE_BYTES>()?;
    let ciphertext = cipher(secret, purpose)
        .encrypt(&Nonce::from(*nonce), Payload { msg: plaintext, aad: context })
        .map_err(|_| AuthError::Internal("sealing failed".into()))?;
    let mut sealed = nonce.to_vec();
    sealed.extend_from_slice(&ciphertext);
    Ok(URL_SAFE_NO_PAD.encode(sealed))
}

/// What [`seal`] sealed, if `sealed` was sealed under `secret` for `purpose` and
/// `context`; `None` for anything else (another secret, another row, altered text).
pub(crate) fn open(secret: &[u8], purpose: Purpose, context: &[u8], sealed: &str) -> Option<Zeroizing<Vec<u8>>> {
    let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
    let (nonce, ciphertext) = bytes.split_at_checked(NONCE_BYTES)?;
    let nonce = <[u8; NONCE_BYTES]>::try_from(nonce).ok()?;
    cipher(secret, purpose)
        .decrypt(&Nonce::from(nonce), Payload { msg: ciphertext, aad: context })
        .ok()
        .map(Zeroizing::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_only_under_the_same_secret_purpose_and_context() {
        let sealed = seal(b"secret", Purpose::SigningKey, b"kid-1", b"private").expect("seals");
        assert_eq!(
            open(b"secret", Purpose::SigningKey, b"kid-1", &sealed).as_deref().map(Vec::as_slice),
            Some(&b"private"[..])
        );
        assert!(!sealed.contains("private"));
        assert_eq!(open(b"other", Purpose::SigningKey, b"kid-1", &sealed), None);
        assert_eq!(open(b"secret", Purpose::RefreshSuccessor, b"kid-1", &sealed), None);
        assert_eq!(open(b"secret", Purpose::SigningKey, b"kid-2", &sealed), None);
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 2;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(open(b"secret", Purpose::SigningKey, b"kid-1", &String::from_utf8(altered).expect("ascii")), None);
        assert_eq!(open(b"secret", Purpose::SigningKey, b"kid-1", "short"), None);
    }

    #[test]
    fn every_seal_has_its_own_nonce() {
        let a = seal(b"secret", Purpose::SigningKey, b"", b"same").expect("seals");
        let b = seal(b"secret", Purpose::SigningKey, b"", b"same").expect("seals");
        assert_ne!(a, b);
    }
}
