//! Refresh tokens: opaque, single-use, rotated on every refresh, one chain per session.
//!
//! A refresh token is 32 random bytes in base64url. The database keeps only its SHA-256
//! ([`RefreshToken::hash`]). Refreshing claims the token (one `UPDATE ... WHERE used_at IS
//! NULL`, so of two racing refreshes exactly one claims it) and records its successor,
//! sealed under a key derived from the claimed token itself ([`RefreshToken::seal`]): only
//! a holder of the used token can read it, the table alone reveals no usable token.
//!
//! Presenting a token that was already used is either a second tab refreshing at the same
//! moment or a stolen token replayed. Within `jwt_refresh_reuse_seconds` of its use it is
//! taken for the first and answered with the same successor; later it is taken for the
//! second, and the whole session (its chain, and its access tokens) is revoked.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::AuthError;
use crate::seal::{self, Purpose};

/// The length of a refresh token in characters (base64url of 32 bytes).
pub(crate) const REFRESH_TOKEN_CHARS: usize = 43;

/// A refresh token, as issued or presented.
pub(crate) struct RefreshToken(Zeroizing<String>);

impl RefreshToken {
    /// A fresh random token.
    pub(crate) fn generate() -> Result<RefreshToken, AuthError> {
        Ok(RefreshToken(Zeroizing::new(URL_SAFE_NO_PAD.encode(seal::random::<32>()?.as_slice()))))
    }

    /// A presented token, if it has the form of ours (anything else is never looked up).
    pub(crate) fn parse(presented: &str) -> Option<RefreshToken> {
        let form = presented.len() == REFRESH_TOKEN_CHARS
            && URL_SAFE_NO_PAD.decode(presented).is_ok_and(|bytes| bytes.len() == 32);
        form.then(|| RefreshToken(Zeroizing::new(presented.to_owned())))
    }

    /// The token's text, to hand to its client.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// What the database keeps: base64url SHA-256 of the token.
    pub(crate) fn hash(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.0.as_bytes()))
    }

    /// `successor` sealed under this token, bound to this token's row.
    pub(crate) fn seal(&self, successor: &RefreshToken) -> Result<String, AuthError> {
        seal::seal(self.0.as_bytes(), Purpose::RefreshSuccessor, self.hash().as_bytes(), successor.0.as_bytes())
    }

    /// The successor [`seal`](RefreshToken::seal)ed under this token, if `sealed` is one.
    pub(crate) fn open(&self, sealed: &str) -> Option<RefreshToken> {
        let bytes = seal::open(self.0.as_bytes(), Purpose::RefreshSuccessor, self.hash().as_bytes(), sealed)?;
        std::str::from_utf8(&bytes).ok().and_then(RefreshToken::parse)
    }
}

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hashed_and_parsed_strictly() {
        let a = RefreshToken::generate().expect("random");
        let b = RefreshToken::generate().expect("random");
        assert_ne!(a.as_str(), b.as_str());
        assert_eq!(a.as_str().len(), REFRESH_TOKEN_CHARS);
        assert_ne!(a.hash(), a.as_str());
        assert_eq!(RefreshToken::parse(a.as_str()).map(|t| t.hash()), Some(a.hash()));
        for bad in
            ["", "short", &"A".repeat(44), &format!("{}=", &a.as_str()[..42]), &format!("{}*", &a.as_str()[..42])]
        {
            assert!(RefreshToken::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(format!("{a:?}"), "RefreshToken(<redacted>)");
    }

    #[test]
    fn a_successor_opens_only_with_its_predecessor() {
        let (parent, child, stranger) = (RefreshToken::generate(), RefreshToken::generate(), RefreshToken::generate());
        let (parent, child, stranger) = (parent.expect("random"), child.expect("random"), stranger.expect("random"));
        let sealed = parent.seal(&child).expect("seals");
        assert!(!sealed.contains(child.as_str()));
        assert_eq!(parent.open(&sealed).map(|t| t.as_str().to_owned()), Some(child.as_str().to_owned()));
        assert!(stranger.open(&sealed).is_none());
    }
}
