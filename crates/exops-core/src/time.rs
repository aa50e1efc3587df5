//! Instants in the event stream. Time in exops only ever comes from events; nothing in
//! this crate reads a clock.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant in UTC, stored as whole microseconds since the Unix epoch.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    unix_micros: i64,
}

/// Why a string is not an RFC 3339 instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampError {
    pub input: String,
    pub reason: String,
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not an RFC 3339 instant with an offset (e.g. 2019-07-12T06:30:00+09:00): {}",
            self.input, self.reason
        )
    }
}

impl std::error::Error for TimestampError {}

impl Timestamp {
    pub const MIN: Timestamp = Timestamp { unix_micros: i64::MIN };

    pub const fn from_unix_micros(unix_micros: i64) -> Self {
        Self { unix_micros }
    }

    pub const fn unix_micros(self) -> i64 {
        self.unix_micros
    }

    /// Parses an RFC 3339 instant; an offset (`Z` or `+09:00`) is required so that an
    /// instant never depends on the reader's time zone.
    pub fn parse_rfc3339(input: &str) -> Result<Self, TimestampError> {
        let parsed: jiff::Timestamp = input
            .parse()
            .map_err(|error: jiff::Error| TimestampError { input: input.to_owned(), reason: error.to_string() })?;
        Ok(Self::from_unix_micros(parsed.as_microsecond()))
    }

    fn to_jiff(self) -> Option<jiff::Timestamp> {
        jiff::Timestamp::from_microsecond(self.unix_micros).ok()
    }

    /// Whole microseconds from `earlier` to `self` (negative when `self` is earlier).
    pub fn micros_since(self, earlier: Timestamp) -> i64 {
        self.unix_micros.saturating_sub(earlier.unix_micros)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_jiff() {
            Some(instant) => write!(f, "{instant}"),
            None => write!(f, "@{}us", self.unix_micros),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        if let Some(beyond) = Timestamp::parse_beyond_rfc3339(&text) {
            return Ok(beyond);
        }
        Timestamp::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

impl Timestamp {
    /// The `@MICROSus` form [`fmt::Display`] (and so the serde form) writes for an
    /// instant RFC 3339 cannot spell (before the year -9999 or after 9999: a log takes
    /// any `i64` of microseconds), so that every instant written reads back. Only such an
    /// instant has this form; any other is written, and must be read, in RFC 3339.
    fn parse_beyond_rfc3339(text: &str) -> Option<Timestamp> {
        let micros: i64 = text.strip_prefix('@')?.strip_suffix("us")?.parse().ok()?;
        let instant = Timestamp::from_unix_micros(micros);
        instant.to_jiff().is_none().then_some(instant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_normalised_to_utc() {
        let tokyo = Timestamp::parse_rfc3339("2019-07-12T06:30:00+09:00").unwrap();
        assert_eq!(tokyo.to_string(), "2019-07-11T21:30:00Z");
        assert_eq!(tokyo, Timestamp::parse_rfc3339("2019-07-11T21:30:00Z").unwrap());
    }

    #[test]
    fn every_instant_reads_back_from_its_serde_form() {
        for micros in [i64::MIN, i64::MIN + 1, -377_705_116_800_000_001, -1, 0, 253_402_300_799_999_999, i64::MAX] {
            let instant = Timestamp::from_unix_micros(micros);
            let json = serde_json::to_string(&instant).unwrap();
            assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), instant, "{json}");
        }
        // The `@…us` form is only for instants RFC 3339 cannot spell.
        assert!(serde_json::from_str::<Timestamp>("\"@0us\"").is_err());
    }

    #[test]
    fn an_instant_without_offset_is_refused() {
        let error = Timestamp::parse_rfc3339("2019-07-12T06:30:00").unwrap_err();
        assert!(error.to_string().contains("with an offset"), "{error}");
    }
}
