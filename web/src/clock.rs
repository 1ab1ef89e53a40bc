//! Wall-clock helpers in UTC without a time-zone database: Unix seconds, the day number, seconds
//! until midnight and calendar dates (days → year-month-day after Howard Hinnant's
//! `civil_from_days`).

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds per day.
pub const DAY: u64 = 86_400;

/// Unix seconds now (0 if the clock is before 1970).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Seconds from `unix` until the next midnight UTC (1..=86400).
pub fn seconds_until_midnight(unix: u64) -> u64 {
    DAY - unix % DAY
}

/// `(year, month, day)` of day number `days` since 1970-01-01.
pub fn civil_from_days(days: u64) -> (i64, u32, u32) {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DD` (UTC) of `unix`.
pub fn date(unix: u64) -> String {
    let (y, m, d) = civil_from_days(unix / DAY);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DDTHH:MMZ` (UTC) of `unix`: minute precision.
pub fn minute(unix: u64) -> String {
    let secs = unix % DAY;
    format!("{}T{:02}:{:02}Z", date(unix), secs / 3600, secs % 3600 / 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_calendar_dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(951_782_400), "2000-02-29");
        assert_eq!(date(1_796_083_199), "2026-11-30");
        assert_eq!(date(1_796_083_200), "2026-12-01");
        assert_eq!(minute(1_796_083_199), "2026-11-30T23:59Z");
        assert_eq!(date(4_107_542_400), "2100-03-01");
        assert_eq!(seconds_until_midnight(1_796_083_199), 1);
        assert_eq!(seconds_until_midnight(1_796_083_200), DAY);
    }
}
