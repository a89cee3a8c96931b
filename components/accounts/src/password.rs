//! Password hashing: Argon2id under one named [`PasswordPolicy`], stored as PHC strings.
//!
//! Verification reads the parameters from the stored hash, so hashes made under an older
//! policy still verify; [`Verified::needs_rehash`] tells the caller to upgrade them. When an
//! account does not exist, [`PasswordPolicy::burn`] spends the same work as a real
//! verification, so response time does not reveal which e-mails are registered.
//!
//! # Adopted bcrypt hashes
//!
//! Users carried over from the seed's FastAPI backend have bcrypt hashes (`$2a$`, `$2b$`,
//! `$2y$`, any cost; the seed uses cost 12). They verify as bcrypt always has, and always
//! ask for a rehash, so their first successful login replaces them with Argon2id. Two
//! properties of bcrypt hold until then, and end with that login:
//!
//! - bcrypt reads only a password's first 72 bytes, so a password that differs from the
//!   real one only after byte 72 is accepted too, exactly as the seed's backend accepted
//!   it. The Argon2id hash made at that login covers the whole password, and from then on
//!   such a password is refused.
//! - a bcrypt verification takes bcrypt's time (cost 12: about 0.25 s natively), not
//!   Argon2id's, so a login to an account not yet migrated is measurably slower than one
//!   to an unknown address. Unknown and migrated accounts stay indistinguishable.
//!
//! # Two back ends for one function
//!
//! The PHC strings, parameters and policy are RustCrypto `argon2`'s types everywhere; only
//! the raw Argon2 computation ([`raw_hash`]) differs. In the Wasm component it is
//! `itsor_argon2`, whose block compression uses Wasm SIMD128 (RustCrypto has only portable
//! code there); natively it stays RustCrypto's, with its AVX2 code. Both compute RFC 9106's
//! function, so a hash made by either verifies under the other.

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Params, Version};

use crate::AuthError;
use crate::input::Password;

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

    /// The PHC hash of `password` under `salt` with this policy (Argon2id v0x13, 32 bytes).
    fn hash_with_salt(&self, password: &[u8], salt: &[u8]) -> Result<PasswordHash, AuthError> {
        let params = self.params()?;
        let internal = |e: &dyn std::fmt::Display| AuthError::Internal(format!("password hashing failed: {e}"));
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        raw_hash(Algorithm::Argon2id, Version::V0x13, &params, password, salt, &mut out).map_err(|e| internal(&e))?;
        Ok(PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).map_err(|e| internal(&e))?,
            salt: Some(Salt::new(salt).map_err(|e| internal(&e))?),
            hash: Some(Output::new(&out).map_err(|e| internal(&e))?),
        })
    }

    /// Whether any cost is below `other`'s.
    pub fn weaker_than(&self, other: &PasswordPolicy) -> bool {
        self.memory_kib < other.memory_kib || self.iterations < other.iterations
    }

    /// Hashes `password` with a fresh random salt into a PHC string
    /// (`$argon2id$v=19$m=19456,t=2,p=1$...`).
    pub fn hash(&self, password: &Password) -> Result<String, AuthError> {
        let salt = argon2::password_hash::try_generate_salt()
            .map_err(|e| AuthError::Internal(format!("password hashing failed: {e}")))?;
        self.hash_with_salt(password.as_bytes(), &salt).map(|hash| hash.to_string())
    }

    /// Checks `password` against the stored PHC string in constant time; `None` when it does
    /// not match (or the stored value is not a usable hash).
    pub fn verify(&self, password: &[u8], stored: &str) -> Option<Verified> {
        if is_bcrypt(stored) {
            // `verify` compares in constant time; it fails on malformed hashes.
            return bcrypt::verify(password, stored).ok().filter(|ok| *ok).map(|_| Verified { needs_rehash: true });
        }
        let hash = PasswordHash::new(stored).ok()?;
        // The stored hash's own variant, version (0x13 when absent), costs, salt and length.
        let algorithm = Algorithm::try_from(hash.algorithm.as_str()).ok()?;
        let version = hash.version.map(Version::try_from).transpose().ok()?.unwrap_or_default();
        let params = Params::try_from(&hash).ok()?;
        let (salt, expected) = (hash.salt.as_ref()?, hash.hash.as_ref()?);
        let mut buffer = [0u8; Output::MAX_LENGTH];
        let out = buffer.get_mut(..expected.len())?;
        raw_hash(algorithm, version, &params, password, salt, out).ok()?;
        // `Output`'s equality is constant-time.
        (Output::new(out).ok()? == *expected).then_some(Verified { needs_rehash: !self.made(&hash) })
    }

    /// Spends the work of one verification under this policy, for accounts that do not exist.
    pub fn burn(&self, password: &[u8]) {
        // A fixed salt: the output is discarded, only the cost matters.
        let _ = self.hash_with_salt(password, b"itsor-no-such-account");
    }

    /// Whether `hash` was made with exactly this policy.
    fn made(&self, hash: &PasswordHash) -> bool {
        let same_params = Params::try_from(hash).is_ok_and(|p| {
            p.m_cost() == self.memory_kib && p.t_cost() == self.iterations && p.p_cost() == self.parallelism
        });
        same_params && hash.algorithm.as_str() == "argon2id" && hash.version == Some(u32::from(Version::V0x13))
    }
}

/// The raw Argon2 tag of `password` under `salt` (and the parameters' associated data, if
/// any) into `out`: the one place the back end is chosen. In Wasm, itsor-argon2 with its
/// SIMD128 block compression; natively, RustCrypto's `argon2` (AVX2 where the CPU has it).
#[cfg(target_arch = "wasm32")]
fn raw_hash(
    algorithm: Algorithm,
    version: Version,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), itsor_argon2::Error> {
    let algorithm = match algorithm {
        Algorithm::Argon2d => itsor_argon2::Algorithm::Argon2d,
        Algorithm::Argon2i => itsor_argon2::Algorithm::Argon2i,
        Algorithm::Argon2id => itsor_argon2::Algorithm::Argon2id,
    };
    let version = match version {
        Version::V0x10 => itsor_argon2::Version::V0x10,
        Version::V0x13 => itsor_argon2::Version::V0x13,
    };
    let costs = itsor_argon2::Params::new(params.m_cost(), params.t_cost(), params.p_cost())?;
    itsor_argon2::Argon2::new(algorithm, version, costs)
        .with_associated_data(params.data())
        .hash_into(password, salt, out)
}

/// See the Wasm version above.
#[cfg(not(target_arch = "wasm32"))]
fn raw_hash(
    algorithm: Algorithm,
    version: Version,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    argon2::Argon2::new(algorithm, version, params.clone()).hash_password_into(password, salt, out)
}

/// Whether `stored` is a bcrypt hash in modular crypt format: `$2a$`, `$2b$` or `$2y$`, two
/// cost digits, `$`, and 53 characters of salt and hash. (`$2x$`, crypt_blowfish's
/// marker for hashes made by its old 8-bit bug, is not one: it cannot be verified the
/// same way.)
pub(crate) fn is_bcrypt(stored: &str) -> bool {
    stored.len() == 60
        && matches!(stored.as_bytes(), [b'$', b'2', b'a' | b'b' | b'y', b'$', tens, ones, b'$', ..]
            if tens.is_ascii_digit() && ones.is_ascii_digit())
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

    /// Made by Python's `bcrypt` 5.0 (the seed's backend library):
    /// `bcrypt.hashpw(password, bcrypt.gensalt(rounds, prefix))`; the `$2y$` one is the
    /// `$2b$` hash under PHP's name for the same algorithm.
    const SEED_HASHES: &[(&str, &str)] = &[
        ("correct horse battery", "$2b$04$y6zqMDjg.Y7IJb3ZxCrdWugwhuv5WbvpEuiDz/X5Qlyw4E7sk3eCq"),
        ("correct horse battery", "$2a$04$vgDVzeRTR8CiG1D9HoLOXOS3KPFW/7MoAnfCgapWEBzfeQhAa.1mW"),
        ("correct horse battery", "$2y$04$y6zqMDjg.Y7IJb3ZxCrdWugwhuv5WbvpEuiDz/X5Qlyw4E7sk3eCq"),
        ("correct horse battery", "$2b$12$Qz6D3ypR5nrGUMMKLwRFQekKMxlV.0lugffmpenyIn7P2oD9bd/6O"),
    ];

    #[test]
    fn bcrypt_hashes_verify_and_always_ask_for_rehash() {
        for (password, hash) in SEED_HASHES {
            assert!(is_bcrypt(hash), "{hash}");
            assert_eq!(OWASP_2025.verify(password.as_bytes(), hash), Some(Verified { needs_rehash: true }), "{hash}");
            assert_eq!(OWASP_2025.verify(b"correct horse batterx", hash), None, "{hash}");
        }
        assert!(!is_bcrypt("$2b$04$short"));
        assert!(!is_bcrypt(&SEED_HASHES[0].1.replacen("$2b$", "$2x$", 1)));
        assert!(!is_bcrypt("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"));
        assert_eq!(OWASP_2025.verify(b"x", "$2b$04$!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"), None);
    }

    #[test]
    fn bcrypt_reads_72_bytes_and_the_rehash_reads_them_all() {
        let long = "a".repeat(72);
        let hash = bcrypt::hash_with_salt(format!("{long}-the-real-end"), 4, [7; 16]).expect("hashes").to_string();
        let other_end = format!("{long}-another-end");
        // Before the first login: bcrypt's truncation, as the seed's backend had it.
        assert!(WEAK.verify(other_end.as_bytes(), &hash).is_some());
        // The rehash at that login covers the whole password.
        let rehashed = WEAK.hash(&pw(&format!("{long}-the-real-end"))).expect("hashes");
        assert!(WEAK.verify(other_end.as_bytes(), &rehashed).is_none());
        assert!(WEAK.verify(format!("{long}-the-real-end").as_bytes(), &rehashed).is_some());
    }

    /// What the other back end (itsor-argon2, the component's) computes for a stored hash.
    fn itsor_argon2_tag(hash: &PasswordHash, password: &[u8]) -> Vec<u8> {
        let params = Params::try_from(hash).expect("argon2 params");
        let costs = itsor_argon2::Params::new(params.m_cost(), params.t_cost(), params.p_cost()).expect("valid");
        let mut out = vec![0u8; hash.hash.as_ref().expect("hash").len()];
        itsor_argon2::Argon2::new(itsor_argon2::Algorithm::Argon2id, itsor_argon2::Version::V0x13, costs)
            .hash_into(password, hash.salt.as_ref().expect("salt"), &mut out)
            .expect("hashes");
        out
    }

    #[test]
    fn both_argon2_back_ends_make_and_verify_the_same_hashes() {
        for policy in [WEAK, OWASP_2025] {
            // Made by this build's back end, recomputed by itsor-argon2.
            let stored = policy.hash(&pw("correct horse battery")).expect("hashes");
            let hash = PasswordHash::new(&stored).expect("phc");
            assert_eq!(itsor_argon2_tag(&hash, b"correct horse battery"), hash.hash.expect("hash").as_bytes());
            // Made by itsor-argon2 (as the component would), verified here.
            let salt = [9u8; 16];
            let mut made = policy.hash_with_salt(b"another password", &salt).expect("hashes");
            let tag = itsor_argon2_tag(&made, b"another password");
            made.hash = Some(Output::new(&tag).expect("output"));
            let made = made.to_string();
            assert_eq!(policy.verify(b"another password", &made), Some(Verified { needs_rehash: false }), "{made}");
            assert_eq!(policy.verify(b"another passwore", &made), None);
        }
    }

    #[test]
    fn burn_spends_one_hash_and_malformed_argon2_hashes_do_not_verify() {
        WEAK.burn(b"anything");
        let stored = WEAK.hash(&pw("password-1")).expect("hashes");
        assert_eq!(WEAK.verify(b"password-1", &stored.replace("$argon2id$", "$argon2x$")), None);
        assert_eq!(WEAK.verify(b"password-1", &stored.replace("m=1024", "m=1")), None);
        // Another variant of the same hash is a different function.
        assert_eq!(WEAK.verify(b"password-1", &stored.replace("$argon2id$", "$argon2i$")), None);
    }

    #[test]
    fn hashes_from_another_policy_verify_and_ask_for_rehash() {
        let old = WEAK.hash(&pw("password-1")).expect("hashes");
        assert_eq!(OWASP_2025.verify(b"password-1", &old), Some(Verified { needs_rehash: true }));
    }
}
