//! Time as the store records it: UTC, truncated to microseconds (PostgreSQL's precision), so
//! a value read back equals the value written on both backends.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

pub(crate) fn now() -> DateTime<Utc> {
    normalize(Utc::now())
}

pub(crate) fn normalize(time: DateTime<Utc>) -> DateTime<Utc> {
    time.duration_trunc(TimeDelta::microseconds(1))
        .unwrap_or(time)
}
