//! When to retry, and how long to wait: exponential backoff with full jitter, or what the
//! server asked for (Retry-After, X-RateLimit-Reset and the like) up to a cap.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Retry settings of an engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retries).
    pub max_retries: u32,
    /// First backoff step; doubles each retry.
    pub base_delay: Duration,
    /// Largest backoff step.
    pub max_delay: Duration,
    /// Longest wait a server may ask for; a longer Retry-After returns the 429/503 to the caller.
    pub max_server_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(5),
            max_server_wait: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    pub fn disabled() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// Full-jitter backoff for retry number `retry` (1-based): uniform in [0, min(max, base*2^(retry-1))].
    pub fn backoff(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(20);
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        let fraction: f64 = rand::random();
        ceiling.mul_f64(fraction)
    }
}

/// Statuses worth retrying: 429 and 5xx, except 501 (the server will never do it) and 505.
pub fn is_retryable_status(status: u16) -> bool {
    status == 429 || ((500..600).contains(&status) && status != 501 && status != 505)
}

/// How long the server asked us to wait, from `Retry-After` (seconds or HTTP date), then
/// `RateLimit-Reset` / `X-RateLimit-Reset` / `X-Rate-Limit-Reset` (seconds to wait, or a Unix
/// time when the number is that large).
pub fn server_requested_wait(headers: &[(String, String)], now: SystemTime) -> Option<Duration> {
    let find = |name: &str| {
        headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim())
    };
    if let Some(value) = find("retry-after")
        && let Some(wait) = parse_retry_after(value, now)
    {
        return Some(wait);
    }
    for name in ["ratelimit-reset", "x-ratelimit-reset", "x-rate-limit-reset"] {
        if let Some(value) = find(name)
            && let Some(wait) = parse_reset(value, now)
        {
            return Some(wait);
        }
    }
    None
}

fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let target = UNIX_EPOCH + Duration::from_secs(u64::try_from(date.timestamp()).ok()?);
    Some(target.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Numbers above this are Unix times rather than delays (about 1 year in seconds).
const UNIX_TIME_THRESHOLD: f64 = 31_536_000.0;

fn parse_reset(value: &str, now: SystemTime) -> Option<Duration> {
    let number = value
        .parse::<f64>()
        .ok()
        .filter(|number| number.is_finite() && *number >= 0.0)?;
    if number > UNIX_TIME_THRESHOLD {
        let now_seconds = now.duration_since(UNIX_EPOCH).ok()?.as_secs_f64();
        // Milliseconds since the epoch appear too (some APIs); scale them down.
        let target = if number > 1e11 {
            number / 1000.0
        } else {
            number
        };
        return Some(Duration::from_secs_f64((target - now_seconds).max(0.0)));
    }
    Some(Duration::from_secs_f64(number))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn retry_after_seconds_and_http_date() {
        let now = UNIX_EPOCH + Duration::from_secs(1_445_412_470);
        assert_eq!(
            server_requested_wait(&headers(&[("Retry-After", "7")]), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            server_requested_wait(
                &headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]),
                now
            ),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            server_requested_wait(
                &headers(&[("retry-after", "Wed, 21 Oct 2015 07:00:00 GMT")]),
                now
            ),
            Some(Duration::ZERO)
        );
        assert_eq!(
            server_requested_wait(&headers(&[("retry-after", "soon")]), now),
            None
        );
    }

    #[test]
    fn rate_limit_reset_as_delay_or_unix_time() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            server_requested_wait(&headers(&[("X-RateLimit-Reset", "3")]), now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            server_requested_wait(&headers(&[("x-ratelimit-reset", "1700000005")]), now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            server_requested_wait(&headers(&[("x-rate-limit-reset", "1700000002000")]), now),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            server_requested_wait(&headers(&[("x-ratelimit-reset", "-1")]), now),
            None
        );
    }

    #[test]
    fn retryable_statuses_and_bounded_backoff() {
        assert!(is_retryable_status(429));
        assert!(is_retryable_status(503));
        assert!(!is_retryable_status(501));
        assert!(!is_retryable_status(404));
        let policy = RetryPolicy::default();
        for retry in 1..40 {
            assert!(policy.backoff(retry) <= policy.max_delay);
        }
        assert!(policy.backoff(1) <= policy.base_delay);
    }
}
