//! Timing side channels: an unknown e-mail must cost what a wrong password costs, and
//! signing up a taken e-mail what signing up a new one costs, or response times would tell
//! an attacker which addresses have accounts.
//!
//! These tests measure a few per cent, so they need the cores to themselves: `make test`
//! runs this module in a pass of its own, one test at a time, after the rest of the suite
//! (`cargo test --release -p itsor --test e2e timing:: -- --test-threads=1`). Running them
//! beside the other tests measures those tests' load as much as the server.
//!
//! The two kinds of request alternate in A-B-B-A order, so neither always goes first, and
//! the verdict is the median of the per-pair ratios: a pair sees the same load on both
//! sides, so drifts over the run cancel instead of landing on one median.

use std::time::Duration;

use crate::support::*;

/// How far an unknown e-mail's login may be from a wrong password's, as a fraction.
const LOGIN_TOLERANCE: f64 = 0.10;
/// How far a taken e-mail's sign-up may be from a new one's, as a fraction.
const SIGNUP_TOLERANCE: f64 = 0.15;

/// Which of the two kinds of request to time.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Side {
    A,
    B,
}

/// Runs `pairs` pairs of requests, `time(side, n)` timing one of them (`n` the pair's
/// index), in A-B-B-A order, and returns the median of the pairs' ratios `A / B`.
fn median_paired_ratio(pairs: usize, mut time: impl FnMut(Side, usize) -> Duration) -> f64 {
    let mut ratios: Vec<f64> = (0..pairs)
        .map(|n| {
            let (a, b) = if n % 2 == 0 {
                let a = time(Side::A, n);
                (a, time(Side::B, n))
            } else {
                let b = time(Side::B, n);
                (time(Side::A, n), b)
            };
            a.as_secs_f64() / b.as_secs_f64()
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}

#[test]
fn paired_ratios_see_a_real_difference_and_ignore_drift() {
    // The estimator itself: a 2× cost shows as 2 whatever the load does from pair to pair,
    // and the A-B-B-A order is kept.
    let load = |n: usize| Duration::from_millis(10 + 7 * (n as u64 % 5));
    let mut order = Vec::new();
    let ratio = median_paired_ratio(9, |side, n| {
        order.push(side);
        if side == Side::A { load(n) * 2 } else { load(n) }
    });
    assert!((ratio - 2.0).abs() < 1e-9, "{ratio}");
    assert_eq!(order[..4], [Side::A, Side::B, Side::B, Side::A]);
    let ratio = median_paired_ratio(9, |_, n| load(n));
    assert!((ratio - 1.0).abs() < 1e-9, "{ratio}");
}

#[test]
fn unknown_email_and_wrong_password_take_the_same_time() {
    let server = Server::builder().env("RATE_LIMIT_LOGIN_FAILURES", "0").env("RATE_LIMIT_AUTH_REQUESTS", "0").start();
    server.signup_ok("timing@example.com", PASSWORD);
    let mut bodies = std::collections::HashSet::new();
    let mut login = |email: &str| {
        let (took, resp) = timed(|| server.login(email, "definitely-not-the-password"));
        assert_error(&resp, 401, "INVALID_CREDENTIALS");
        bodies.insert(resp.body.clone());
        took
    };
    // Warm both paths before measuring.
    login("nobody@example.com");
    login("timing@example.com");
    let ratio = median_paired_ratio(40, |side, n| match side {
        Side::A => login(&format!("nobody{n}@example.com")),
        Side::B => login("timing@example.com"),
    });
    eprintln!("unknown e-mail / wrong password, median of paired ratios: {ratio:.3}");
    assert!((ratio - 1.0).abs() < LOGIN_TOLERANCE, "an unknown e-mail costs {ratio:.3}× a wrong password");
    assert_eq!(bodies.len(), 1, "the two failures must have identical bodies");
}

#[test]
fn signing_up_a_taken_email_costs_the_same_hashing_work() {
    let server = Server::builder().env("RATE_LIMIT_AUTH_REQUESTS", "0").start();
    server.signup_ok("taken@example.com", PASSWORD);
    let ratio = median_paired_ratio(24, |side, n| match side {
        Side::A => {
            let (took, resp) = timed(|| server.signup("taken@example.com", PASSWORD));
            assert_error(&resp, 409, "EMAIL_TAKEN");
            took
        }
        Side::B => {
            let (took, resp) = timed(|| server.signup(&format!("fresh{n}@example.com"), PASSWORD));
            assert_status(&resp, 201);
            took
        }
    });
    eprintln!("taken / new e-mail sign-up, median of paired ratios: {ratio:.3}");
    assert!((ratio - 1.0).abs() < SIGNUP_TOLERANCE, "signing up a taken e-mail costs {ratio:.3}× a new one");
}
