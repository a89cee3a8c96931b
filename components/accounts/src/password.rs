//! Password hashing: Argon2id under one named [`PasswordPolicy`], stored as PHC strings.
//!
//! Verification reads the parameters from the stored hash, so hashes made under an older
//! policy still verify; [`Verified::needs_rehash`] tells the caller to upgrade them. When an
//! account does not exist, [`PasswordPolicy::burn`] spends the same work as a real
//! verification, so response time does not reveal which e-mails are registered.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::input::Password;
use crate::AuthError;

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

/// OWASP's recommended Argon2id configuration: m = 19456 KiB (19 MiB), t = 2, p = 1.
pub const OWASP_2025: PasswordPolicy = PasswordPolicy { memory_kib: 19_456, iterations: 2, parallelism: 1 };

/// The outcome of checking a password against a stored hash that matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The stored hash was made with other parameters (or another variant) than the policy's.
    pub needs_rehash: bool,
}

impl PasswordPolicy {
    fn params(&self) -> Result<Params, AuthError> {
        Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| AuthError::Misconfigured(format!("password policy: {e}")))
    }

    fn hasher(&self) -> Result<Argon2<'static>, AuthError> {
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params()?))
    }

    /// Whether any cost is below `other`'s.
    pub fn weaker_than(&self, other: &PasswordPolicy) -> bool {
        self.memory_kib < other.memory_kib || self.iterations < other.iterations
    }

    /// Hashes `password` with a fresh random salt into a PHC string
    /// (`$argon2id$v=19$m=19456,t=2,p=1$...`).
    pub fn hash(&self, password: &Password) -> Result<String, AuthError> {
        self.hasher()?
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| AuthError::Internal(format!("password hashing failed: {e}")))
    }

    /// Checks `password` against the stored PHC string in constant time; `None` when it does
    /// not match (or the stored value is not a usable hash).
    pub fn verify(&self, password: &[u8], stored: &str) -> Option<Verified> {
        let hash = PasswordHash::new(stored).ok()?;
        self.hasher().ok()?.verify_password(password, &hash).ok()?;
        Some(Verified { needs_rehash: !self.made(&hash) })
    }

    /// Spends the work of one verification under this policy, for accounts that do not exist.
    pub fn burn(&self, password: &[u8]) {
        if let Ok(hasher) = self.hasher() {
            // A fixed salt: the output is discarded, only the cost matters.
            let _ = hasher.hash_password_with_salt(password, b"itsor-no-such-account");
        }
    }

    /// Whether `hash` was made with exactly this policy.
    fn made(&self, hash: &PasswordHash) -> bool {
        let same_params = Params::try_from(hash).is_ok_and(|p| {
            p.m_cost() == self.memory_kib && p.t_cost() == self.iterations && p.p_cost() == self.parallelism
        });
        same_params
            && hash.algorithm.as_str() == "argon2id"
            && hash.version == Some(u32::from(Version::V0x13))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEAK: PasswordPolicy = PasswordPolicy { memory_kib: 1024, iterations: 1, parallelism: 1 };

    fn pw(s: &str) -> Password {
        Password::parse(s).expect("valid password")
    }

    #[test]
    fn hashes_are_argon2id_phc_strings_at_owasp_cost() {
        let hash = OWASP_2025.hash(&pw("correct horse")).expect("hashes");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert_ne!(hash, OWASP_2025.hash(&pw("correct horse")).expect("hashes"), "salts differ");
    }

    #[test]
    fn verifies_exactly_the_typed_password() {
        let hash = WEAK.hash(&pw(" with spaces ")).expect("hashes");
        assert_eq!(WEAK.verify(b" with spaces ", &hash), Some(Verified { needs_rehash: false }));
        assert_eq!(WEAK.verify(b"with spaces", &hash), None);
        assert_eq!(WEAK.verify(b" with spaces ", "not a phc string"), None);
    }

    #[test]
    fn hashes_from_another_policy_verify_and_ask_for_rehash() {
        let old = WEAK.hash(&pw("password-1")).expect("hashes");
        assert_eq!(OWASP_2025.verify(b"password-1", &old), Some(Verified { needs_rehash: true }));
    }
}
