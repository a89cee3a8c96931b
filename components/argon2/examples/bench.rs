//! Microbenchmark: milliseconds per Argon2id hash at OWASP's parameters (m = 19456 KiB,
//! t = 2, p = 1, 32-byte tag), itsor-argon2 against RustCrypto's `argon2`, alternating,
//! `ROUNDS` rounds of `N` hashes each. Natively itsor-argon2 is the scalar G and RustCrypto
//! uses AVX2 where the CPU has it; in Wasm itsor-argon2 is the SIMD128 G and RustCrypto the
//! portable code. Run it both ways:
//!
//! ```text
//! cargo run --release -p itsor-argon2 --example bench -- [ROUNDS] [N] [M_KIB] [T]
//! cargo build --release -p itsor --example wasi-run
//! CARGO_TARGET_WASM32_WASIP2_RUNNER=$CARGO_TARGET_DIR/release/examples/wasi-run \
//!     cargo run --release -p itsor-argon2 --example bench --target wasm32-wasip2 -- [ROUNDS] [N] [M_KIB] [T]
//! ```
//!
//! Each line is the wall time of one round divided by N (one thread, no I/O: CPU time on
//! an idle machine; take the minimum over rounds on a busy one). `M_KIB` and `T` replace
//! OWASP's memory and passes, e.g. `256 152` for the same number of block compressions in
//! a memory that fits the cache.

// A benchmark program: bad arguments or a failed hash end it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use itsor_argon2::{Algorithm, Argon2, Params, Version};

const P: u32 = 1;

fn ours(m: u32, t: u32, password: &[u8], salt: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let params = Params::new(m, t, P).unwrap();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params).hash_into(password, salt, &mut out).unwrap();
    out
}

fn rustcrypto(m: u32, t: u32, password: &[u8], salt: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let params = argon2::Params::new(m, t, P, Some(32)).unwrap();
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password_into(password, salt, &mut out)
        .unwrap();
    out
}

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u32>().expect("ROUNDS, N, M_KIB and T are numbers"));
    let rounds = args.next().unwrap_or(3);
    let n = args.next().unwrap_or(10);
    let m = args.next().unwrap_or(19_456);
    let t = args.next().unwrap_or(2);
    let target = if cfg!(target_arch = "wasm32") { "wasm32" } else { "native" };
    let ours_name = if cfg!(all(target_arch = "wasm32", target_feature = "simd128")) {
        "itsor-argon2 (simd128)"
    } else {
        "itsor-argon2 (scalar)"
    };
    assert_eq!(
        ours(m, t, b"password", b"saltsaltsalt"),
        rustcrypto(m, t, b"password", b"saltsaltsalt"),
        "same function"
    );
    println!("{target}: Argon2id m={m} KiB t={t} p={P}, {rounds} rounds of {n} hashes");
    for round in 1..=rounds {
        for (name, f) in
            [(ours_name, ours as fn(u32, u32, &[u8], &[u8]) -> [u8; 32]), ("RustCrypto argon2", rustcrypto)]
        {
            let start = Instant::now();
            for i in 0..n {
                std::hint::black_box(f(m, t, &i.to_le_bytes(), b"saltsaltsalt"));
            }
            let ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(n);
            println!("{target:6} round {round}: {name:24} {ms:7.2} ms/hash");
        }
    }
}
