//! Record ids: numeric strings, as Bigin's are. Ids must be unique across every server
//! process on one database without coordination, so each id combines the time in
//! milliseconds with a per-process random prefix and a counter; the database's unique key is
//! the final guard.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Generates 19-digit numeric ids that sort by creation time.
#[derive(Debug)]
pub struct RecordIdGenerator {
    process_prefix: u64,
    counter: AtomicU64,
}

/// Milliseconds are counted from 2024-01-01 so ids stay 19 digits for centuries.
const EPOCH_MILLISECONDS: u64 = 1_704_067_200_000;

impl RecordIdGenerator {
    pub fn new() -> RecordIdGenerator {
        RecordIdGenerator {
            process_prefix: rand::random::<u64>() % 100,
            counter: AtomicU64::new(rand::random::<u64>() % 10_000),
        }
    }

    /// The next id: 1 + 11 digits of milliseconds + 2 digits of process + 5 of counter.
    pub fn next_id(&self) -> String {
        let milliseconds = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_millis() as u64)
            .unwrap_or(EPOCH_MILLISECONDS)
            .saturating_sub(EPOCH_MILLISECONDS)
            % 100_000_000_000;
        let sequence = self.counter.fetch_add(1, Ordering::Relaxed) % 100_000;
        let id = 1_000_000_000_000_000_000u64
            + milliseconds * 10_000_000
            + self.process_prefix * 100_000
            + sequence;
        id.to_string()
    }
}

impl Default for RecordIdGenerator {
    fn default() -> Self {
        RecordIdGenerator::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_19_digit_numbers() {
        let generator = RecordIdGenerator::new();
        let ids: Vec<String> = (0..50_000).map(|_| generator.next_id()).collect();
        assert!(
            ids.iter()
                .all(|id| id.len() == 19 && crate::validate::is_record_id(id))
        );
        let unique: HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
    }
}
