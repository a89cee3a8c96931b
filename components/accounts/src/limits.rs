//! Rate limits: fixed-window counters in the shared database.
//!
//! A [`Limit`] allows `max` hits per `window` seconds in one bucket. Counting is one
//! atomic upsert (in [`crate::store`]), so concurrent requests (and several hosts on one
//! database) cannot race past the limit; counters survive restarts. This module decides
//! what a bucket is and what a count means, at the `now` its caller passes. Callers check limits before any password
//! hashing, so a flood costs the server almost nothing.

use crate::AuthError;
use crate::clock::Timestamp;
use crate::db::Database;
use crate::store::Store;

/// At most `max` hits per `window_seconds` in one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Hits allowed per window; 0 disables the limit.
    pub max: u32,
    /// Window length in seconds.
    pub window_seconds: u32,
}

/// What is being limited, and for whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bucket<'a> {
    /// Sign-up, login and password-change requests from one client address.
    AuthRequests {
        /// The client's address.
        client: &'a str,
    },
    /// Failed logins (and failed current-password checks) against one account.
    LoginFailures {
        /// The normalised e-mail address.
        account: &'a str,
    },
}

/// The prefix length an IPv6 client is limited by: one customer is typically given a whole
/// /64, so limiting single addresses would give it 2^64 budgets.
pub(crate) const IPV6_CLIENT_PREFIX: u8 = 64;

impl Bucket<'_> {
    fn key(self) -> String {
        match self {
            Bucket::AuthRequests { client } => format!("auth-requests:client:{}", client_key(client)),
            Bucket::LoginFailures { account } => format!("login-failures:account:{account}"),
        }
    }
}

/// An IPv4 address as it is; an IPv6 address as its /64 network (`2001:db8:1:2::/64`).
fn client_key(client: &str) -> String {
    match client.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => {
            let network = u128::from(v6) & (u128::MAX << (128 - u32::from(IPV6_CLIENT_PREFIX)));
            format!("{}/{IPV6_CLIENT_PREFIX}", std::net::Ipv6Addr::from(network))
        }
        _ => client.to_owned(),
    }
}

/// The rate limiter over a database.
pub(crate) struct Limiter<D> {
    store: Store<D>,
}

impl<D: Database> Limiter<D> {
    /// A limiter keeping its counters in `db`.
    pub(crate) fn new(db: D) -> Limiter<D> {
        Limiter { store: Store::new(db) }
    }

    /// Counts one hit in `bucket` at `now` and fails with [`AuthError::RateLimited`] once the
    /// window holds more than `limit.max` hits.
    pub(crate) fn hit(&self, bucket: Bucket<'_>, limit: Limit, now: Timestamp) -> Result<(), AuthError> {
        if limit.max == 0 {
            return Ok(());
        }
        let (hits, window_start) = self.count(bucket, limit, 1, now)?;
        if hits > i64::from(limit.max) { Err(rate_limited(window_start, limit, now)) } else { Ok(()) }
    }

    /// Forgets `bucket` (after a successful login, its failures no longer count).
    pub(crate) fn clear(&self, bucket: Bucket<'_>) -> Result<(), AuthError> {
        Ok(self.store.clear_hits(&bucket.key())?)
    }

    /// Deletes up to `batch` counters whose window started at or before `horizon` (Unix
    /// seconds): with `horizon` = now minus the longest window, only windows that are over.
    /// Returns how many.
    pub(crate) fn sweep(&self, horizon: i64, batch: u32) -> Result<usize, AuthError> {
        Ok(self.store.sweep_rate_limits(horizon, batch)?)
    }

    /// Adds `add` hits at `now` (0: just reads) and returns the window's hits and start.
    fn count(&self, bucket: Bucket<'_>, limit: Limit, add: i64, now: Timestamp) -> Result<(i64, i64), AuthError> {
        let now = now.unix();
        let expired_before = now - i64::from(limit.window_seconds);
        let counted = self.store.count_hits(&bucket.key(), now, add, expired_before)?;
        counted.ok_or_else(|| AuthError::Internal("rate limit upsert returned no row".into()))
    }
}

/// The refusal of a hit at `now` in the window that started at `window_start`.
fn rate_limited(window_start: i64, limit: Limit, now: Timestamp) -> AuthError {
    let ends = window_start + i64::from(limit.window_seconds);
    let retry_after = (ends - now.unix()).clamp(1, i64::from(limit.window_seconds));
    AuthError::RateLimited { retry_after: u32::try_from(retry_after).unwrap_or(limit.window_seconds) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> rusqlite::Connection {
        crate::schema::migrated_in_memory().expect("migrates")
    }

    /// `seconds` after a fixed instant.
    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix(1_800_000_000 + seconds)
    }

    #[test]
    fn allows_max_hits_per_window_then_says_when_to_retry() {
        let db = db();
        let limiter = Limiter::new(&db);
        let limit = Limit { max: 3, window_seconds: 60 };
        let bucket = Bucket::AuthRequests { client: "10.0.0.1" };
        for _ in 0..3 {
            limiter.hit(bucket, limit, at(0)).expect("within the limit");
        }
        assert_eq!(limiter.hit(bucket, limit, at(0)), Err(AuthError::RateLimited { retry_after: 60 }));
        assert_eq!(limiter.hit(bucket, limit, at(45)), Err(AuthError::RateLimited { retry_after: 15 }));
        limiter.hit(Bucket::AuthRequests { client: "10.0.0.2" }, limit, at(0)).expect("other clients are separate");
    }

    #[test]
    fn clear_forgets() {
        let db = db();
        let limiter = Limiter::new(&db);
        let limit = Limit { max: 2, window_seconds: 900 };
        let bucket = Bucket::LoginFailures { account: "a@b.co" };
        limiter.hit(bucket, limit, at(0)).expect("1");
        limiter.hit(bucket, limit, at(0)).expect("2");
        assert!(matches!(limiter.hit(bucket, limit, at(0)), Err(AuthError::RateLimited { .. })));
        limiter.clear(bucket).expect("clears");
        limiter.hit(bucket, limit, at(0)).expect("cleared");
    }

    #[test]
    fn an_ipv6_client_is_one_bucket_per_64() {
        let db = db();
        let limiter = Limiter::new(&db);
        let limit = Limit { max: 2, window_seconds: 60 };
        limiter.hit(Bucket::AuthRequests { client: "2001:db8:1:2::1" }, limit, at(0)).expect("1");
        limiter.hit(Bucket::AuthRequests { client: "2001:db8:1:2:ffff:ffff:ffff:ffff" }, limit, at(0)).expect("2");
        let third = limiter.hit(Bucket::AuthRequests { client: "2001:db8:1:2:abcd::7" }, limit, at(0));
        assert!(matches!(third, Err(AuthError::RateLimited { .. })), "the /64 is one client");
        limiter.hit(Bucket::AuthRequests { client: "2001:db8:1:3::1" }, limit, at(0)).expect("the next /64 is another");
        limiter.hit(Bucket::AuthRequests { client: "192.0.2.1" }, limit, at(0)).expect("IPv4 is per address");
        limiter.hit(Bucket::AuthRequests { client: "192.0.2.2" }, limit, at(0)).expect("IPv4 is per address");
        assert_eq!(Bucket::AuthRequests { client: "2001:DB8:1:2::9" }.key(), "auth-requests:client:2001:db8:1:2::/64");
    }

    #[test]
    fn windows_expire() {
        let db = db();
        let limiter = Limiter::new(&db);
        let limit = Limit { max: 1, window_seconds: 1 };
        let bucket = Bucket::AuthRequests { client: "c" };
        limiter.hit(bucket, limit, at(0)).expect("1");
        assert_eq!(limiter.hit(bucket, limit, at(0)), Err(AuthError::RateLimited { retry_after: 1 }));
        limiter.hit(bucket, limit, at(1)).expect("a new window");
        assert!(limiter.hit(bucket, limit, at(1)).is_err());
    }

    #[test]
    fn zero_disables() {
        let db = db();
        let limiter = Limiter::new(&db);
        for _ in 0..10 {
            limiter
                .hit(Bucket::AuthRequests { client: "c" }, Limit { max: 0, window_seconds: 60 }, at(0))
                .expect("off");
        }
    }
}
