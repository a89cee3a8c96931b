//! itsor-argon2 against RFC 9106's test vectors and against RustCrypto's `argon2`. Natively
//! this exercises the scalar G; in Wasm (`make test-wasm`) the SIMD128 one.

// A test crate: a failed expectation panics, which is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use itsor_argon2::{Algorithm, Argon2, Error, Params, Version};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// RFC 9106 §5: m = 32 KiB, t = 3, p = 4, password 32 × 0x01, salt 16 × 0x02, secret
/// 8 × 0x03, associated data 12 × 0x04, 32-byte tag.
fn rfc_tag(algorithm: Algorithm, version: Version) -> Vec<u8> {
    let params = Params::new(32, 3, 4).unwrap();
    let mut tag = [0u8; 32];
    Argon2::new(algorithm, version, params)
        .with_secret(&[0x03; 8])
        .with_associated_data(&[0x04; 12])
        .hash_into(&[0x01; 32], &[0x02; 16], &mut tag)
        .unwrap();
    tag.to_vec()
}

#[test]
fn rfc_9106_argon2d() {
    let expected = hex("512b391b6f1162975371d30919734294f868e3be3984f3c1a13a4db9fabe4acb");
    assert_eq!(rfc_tag(Algorithm::Argon2d, Version::V0x13), expected);
}

#[test]
fn rfc_9106_argon2i() {
    let expected = hex("c814d9d1dc7f37aa13f0d77f2494bda1c8de6b016dd388d29952a4c4672b6ce8");
    assert_eq!(rfc_tag(Algorithm::Argon2i, Version::V0x13), expected);
}

#[test]
fn rfc_9106_argon2id() {
    let expected = hex("0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659");
    assert_eq!(rfc_tag(Algorithm::Argon2id, Version::V0x13), expected);
}

/// The same inputs under version 0x10 (the reference implementation's known answers).
#[test]
fn version_0x10_known_answers() {
    for (algorithm, expected) in [
        (Algorithm::Argon2d, "96a9d4e5a1734092c85e29f410a45914a5dd1f5cbf08b2670da68a0285abf32b"),
        (Algorithm::Argon2i, "87aeedd6517ab830cd9765cd8231abb2e647a5dee08f7c05e02fcb763335d0fd"),
        (Algorithm::Argon2id, "b64615f07789b66b645b67ee9ed3b377ae350b6bfcbb0fc95141ea8f322613c0"),
    ] {
        assert_eq!(rfc_tag(algorithm, Version::V0x10), hex(expected), "{algorithm:?}");
    }
}

/// SplitMix64, for reproducible "random" cases on every target (no RNG crate in Wasm tests).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// `min` to `min + spread - 1` random bytes.
    fn bytes(&mut self, min: u64, spread: u64) -> Vec<u8> {
        let len = min + self.below(spread);
        (0..len).map(|_| self.next() as u8).collect()
    }
}

#[allow(clippy::too_many_arguments)]
fn reference(
    algorithm: Algorithm,
    version: Version,
    (m, t, p): (u32, u32, u32),
    secret: &[u8],
    associated_data: &[u8],
    password: &[u8],
    salt: &[u8],
    out_len: usize,
) -> Vec<u8> {
    let algorithm = match algorithm {
        Algorithm::Argon2d => argon2::Algorithm::Argon2d,
        Algorithm::Argon2i => argon2::Algorithm::Argon2i,
        Algorithm::Argon2id => argon2::Algorithm::Argon2id,
    };
    let version = match version {
        Version::V0x10 => argon2::Version::V0x10,
        Version::V0x13 => argon2::Version::V0x13,
    };
    let mut builder = argon2::ParamsBuilder::new();
    builder.m_cost(m).t_cost(t).p_cost(p).output_len(out_len);
    if !associated_data.is_empty() {
        builder.data(argon2::AssociatedData::new(associated_data).unwrap());
    }
    let params = builder.build().unwrap();
    let hasher = if secret.is_empty() {
        argon2::Argon2::new(algorithm, version, params)
    } else {
        argon2::Argon2::new_with_secret(secret, algorithm, version, params).unwrap()
    };
    let mut out = vec![0u8; out_len];
    hasher.hash_password_into(password, salt, &mut out).unwrap();
    out
}

/// Agreement with RustCrypto on random parameters and inputs: small m (including sizes
/// that are not multiples of 4p, and enough blocks for more than one address block per
/// segment), t 1–4, p 1–4, every variant and version, lengths of every size class.
#[test]
fn agrees_with_rustcrypto_argon2_on_random_inputs() {
    let mut rng = Rng(0x6974_736f_7200_0001);
    let cases = if cfg!(debug_assertions) { 24 } else { 60 };
    for case in 0..cases {
        let algorithm = [Algorithm::Argon2d, Algorithm::Argon2i, Algorithm::Argon2id][case % 3];
        let version = if case % 5 == 4 { Version::V0x10 } else { Version::V0x13 };
        let p = 1 + rng.below(4) as u32;
        let t = 1 + rng.below(4) as u32;
        // 8p up to ~8p + 1100 KiB; every fourth case large enough for segments beyond 128.
        let extra = if case % 4 == 0 { 512 * p + rng.below(600) as u32 } else { rng.below(100) as u32 };
        let m = 8 * p + extra;
        let password = rng.bytes(0, 80);
        let salt = rng.bytes(8, 40);
        let secret = if case % 3 == 1 { rng.bytes(1, 32) } else { Vec::new() };
        let associated_data = if case % 4 == 2 { rng.bytes(1, 32) } else { Vec::new() };
        let out_len = [4, 16, 32, 63, 64, 65, 100, 128, 1024][rng.below(9) as usize];

        let mut ours = vec![0u8; out_len];
        Argon2::new(algorithm, version, Params::new(m, t, p).unwrap())
            .with_secret(&secret)
            .with_associated_data(&associated_data)
            .hash_into(&password, &salt, &mut ours)
            .unwrap();
        let theirs = reference(algorithm, version, (m, t, p), &secret, &associated_data, &password, &salt, out_len);
        assert_eq!(ours, theirs, "case {case}: {algorithm:?} {version:?} m={m} t={t} p={p} out={out_len}");
    }
}

#[test]
fn agrees_with_rustcrypto_at_the_password_policies() {
    // itsor's test policy and OWASP's (the one logins use).
    for (m, t, p) in [(1024, 1, 1), (19_456, 2, 1)] {
        let mut ours = [0u8; 32];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(m, t, p).unwrap())
            .hash_into(b"correct horse battery", b"itsor-no-such-account", &mut ours)
            .unwrap();
        let theirs = reference(
            Algorithm::Argon2id,
            Version::V0x13,
            (m, t, p),
            &[],
            &[],
            b"correct horse battery",
            b"itsor-no-such-account",
            32,
        );
        assert_eq!(ours.to_vec(), theirs, "m={m} t={t} p={p}");
    }
}

#[test]
fn parameters_are_checked_as_the_rfc_asks() {
    assert_eq!(Params::new(32, 1, 0), Err(Error::Lanes(0)));
    assert_eq!(Params::new(u32::MAX, 1, 1 << 24), Err(Error::Lanes(1 << 24)));
    assert_eq!(Params::new(32, 0, 1), Err(Error::NoPasses));
    assert_eq!(Params::new(31, 1, 4), Err(Error::MemoryTooLittle { m_cost: 31, min: 32 }));
    assert_eq!(Params::new(7, 1, 1), Err(Error::MemoryTooLittle { m_cost: 7, min: 8 }));
    let params = Params::new(8, 1, 1).unwrap();
    assert_eq!((params.m_cost(), params.t_cost(), params.p_cost()), (8, 1, 1));

    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut out = [0u8; 32];
    assert_eq!(argon2.hash_into(b"pw", b"7 bytes", &mut out), Err(Error::SaltTooShort));
    assert_eq!(argon2.hash_into(b"pw", b"", &mut out), Err(Error::SaltTooShort));
    assert_eq!(argon2.hash_into(b"pw", b"8 bytes!", &mut out[..3]), Err(Error::OutputTooShort));
    assert_eq!(argon2.hash_into(b"pw", b"8 bytes!", &mut out[..4]), Ok(()));
    assert_eq!(argon2.hash_into(b"", b"8 bytes!", &mut out), Ok(()));
    assert!(Error::MemoryTooLittle { m_cost: 7, min: 8 }.to_string().contains("7 KiB"));
}

#[test]
fn memory_that_cannot_be_had_is_an_error_not_an_abort() {
    // 4 TiB: more than a 64-bit process can reserve here, and than wasm32 can address.
    let params = Params::new(u32::MAX, 1, 1).unwrap();
    let mut out = [0u8; 32];
    let result = Argon2::new(Algorithm::Argon2id, Version::V0x13, params).hash_into(b"pw", b"saltsalt", &mut out);
    assert!(matches!(result, Err(Error::OutOfMemory(_))), "{result:?}");
}
