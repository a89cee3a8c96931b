//! Time: the [`Timestamp`] instants the logic works with, their one text format (RFC 3339
//! in UTC at second precision, `2026-01-22T10:30:00Z`; fixed width, so stored values also
//! sort as text), and the [`Clock`] that says what time it is.
//!
//! The logic never reads the wall clock itself: [`Accounts`](crate::Accounts) asks the
//! [`Clock`] its embedder passed in (the component and the hosts pass [`WallClock`]), and
//! hands the instant down to the modules below it as a plain `now` argument. Tests pass a
//! clock they set, so they move time instead of sleeping.

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::AuthError;

const RFC3339_UTC: &[FormatItem<'static>] = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// A UTC instant at second precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(i64);

/// What time it is, for the account logic.
pub trait Clock {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

/// The real wall clock: WASI `wall-clock` inside the component, the system clock natively.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> Timestamp {
        Timestamp(OffsetDateTime::now_utc().unix_timestamp())
    }
}

/// A clock that stands still until a test moves it.
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct TestClock(std::cell::Cell<i64>);

#[cfg(test)]
impl TestClock {
    /// A clock showing `start`.
    pub(crate) fn at(start: Timestamp) -> TestClock {
        TestClock(std::cell::Cell::new(start.unix()))
    }

    /// Moves the clock `seconds` on.
    pub(crate) fn advance(&self, seconds: i64) {
        self.0.set(self.0.get() + seconds);
    }
}

#[cfg(test)]
impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.get())
    }
}

impl Timestamp {
    /// From seconds since the Unix epoch.
    pub fn from_unix(seconds: i64) -> Timestamp {
        Timestamp(seconds)
    }

    /// Seconds since the Unix epoch.
    pub fn unix(self) -> i64 {
        self.0
    }

    /// This instant plus `seconds`.
    pub fn plus_seconds(self, seconds: u32) -> Timestamp {
        Timestamp(self.0 + i64::from(seconds))
    }

    /// Formats as `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn to_rfc3339(self) -> String {
        OffsetDateTime::from_unix_timestamp(self.0).ok().and_then(|t| t.format(RFC3339_UTC).ok()).unwrap_or_default()
    }

    /// Parses the stored format back; anything else is a storage fault.
    pub fn parse_rfc3339(text: &str) -> Result<Timestamp, AuthError> {
        PrimitiveDateTime::parse(text, RFC3339_UTC)
            .map(|t| Timestamp(t.assume_utc().unix_timestamp()))
            .map_err(|_| AuthError::Internal(format!("stored timestamp is malformed: {text:?}")))
    }
}

/// A UTC calendar date and time of day, as PostgreSQL's `timestamp` carries it over
/// `spin:postgres` (`year, month, day, hour, minute, second, nanosecond`).
pub type Civil = (i32, u8, u8, u8, u8, u8, u32);

impl Timestamp {
    /// The instant a PostgreSQL `timestamp` (read as UTC) names, at second precision: the
    /// nanoseconds are dropped. `None` for an impossible date or time.
    pub fn from_civil((year, month, day, hour, minute, second, _nanos): Civil) -> Option<Timestamp> {
        let month = time::Month::try_from(month).ok()?;
        let date = time::Date::from_calendar_date(year, month, day).ok()?;
        let time = time::Time::from_hms(hour, minute, second).ok()?;
        Some(Timestamp(PrimitiveDateTime::new(date, time).assume_utc().unix_timestamp()))
    }

    /// This instant as a UTC calendar date and time, for a PostgreSQL `timestamp`.
    pub fn to_civil(self) -> Civil {
        let t = OffsetDateTime::from_unix_timestamp(self.0).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        (t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second(), 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_rfc3339_utc() {
        let t = Timestamp::from_unix(1_769_077_800);
        assert_eq!(t.to_rfc3339(), "2026-01-22T10:30:00Z");
        assert_eq!(Timestamp::parse_rfc3339("2026-01-22T10:30:00Z").expect("parses"), t);
        assert!(Timestamp::parse_rfc3339("2026-01-22 10:30:00").is_err());
    }

    #[test]
    fn civil_times_round_trip_at_second_precision() {
        let t = Timestamp::from_unix(1_769_077_800);
        assert_eq!(t.to_civil(), (2026, 1, 22, 10, 30, 0, 0));
        assert_eq!(Timestamp::from_civil((2026, 1, 22, 10, 30, 0, 999_999_999)), Some(t));
        assert_eq!(Timestamp::from_civil((2026, 2, 30, 0, 0, 0, 0)), None);
        assert_eq!(Timestamp::from_civil((2026, 13, 1, 0, 0, 0, 0)), None);
    }

    #[test]
    fn text_order_matches_time_order() {
        let a = Timestamp::from_unix(999_999_999).to_rfc3339();
        let b = Timestamp::from_unix(1_000_000_000).to_rfc3339();
        assert!(a < b);
    }
}
