//! A local wall-clock reading passed into the engine (it reads no clock itself).

use serde::{Deserialize, Serialize};

/// Local date and time as the terminal shows it.
///
/// ```
/// use smartpos_core::time::LocalTime;
/// let t = LocalTime::from_unix(1_700_000_000, 8 * 3600);
/// assert_eq!(t.to_string(), "2023-11-15 06:13:20");
/// assert_eq!(t.f12(), "061320");
/// assert_eq!(t.f13(), "1115");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LocalTime {
    /// Year.
    pub year: i32,
    /// Month 1-12.
    pub month: u32,
    /// Day 1-31.
    pub day: u32,
    /// Hour 0-23.
    pub hour: u32,
    /// Minute.
    pub minute: u32,
    /// Second.
    pub second: u32,
}

impl LocalTime {
    /// From Unix seconds and an offset from UTC in seconds (civil-from-days, proleptic Gregorian).
    pub fn from_unix(secs: i64, utc_offset: i64) -> Self {
        let t = secs + utc_offset;
        let days = t.div_euclid(86_400);
        let sod = t.rem_euclid(86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + if month <= 2 { 1 } else { 0 }) as i32;
        LocalTime {
            year,
            month,
            day,
            hour: (sod / 3600) as u32,
            minute: ((sod % 3600) / 60) as u32,
            second: (sod % 60) as u32,
        }
    }
    /// Field 12: hhmmss.
    pub fn f12(&self) -> String {
        format!("{:02}{:02}{:02}", self.hour, self.minute, self.second)
    }
    /// Field 13: MMDD.
    pub fn f13(&self) -> String {
        format!("{:02}{:02}", self.month, self.day)
    }
}

impl std::fmt::Display for LocalTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(
            LocalTime::from_unix(0, 0).to_string(),
            "1970-01-01 00:00:00"
        );
        assert_eq!(
            LocalTime::from_unix(951_782_400, 0).to_string(),
            "2000-02-29 00:00:00"
        );
        assert_eq!(
            LocalTime::from_unix(1_798_761_599, 0).to_string(),
            "2026-12-31 23:59:59"
        );
    }
}
