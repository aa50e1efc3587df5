//! How amounts and instants read in outputs: money in the asset's own units (¥160,000,000,
//! 12.5 BTC, from the decimals the venue declares) and instants in the venue's local time
//! beside UTC. Integer arithmetic only, so the same input always gives the same text.
//! These are the formatters [`crate::text`] and [`crate::report`] read with.

use exops_core::Timestamp;

use crate::metrics::{AssetUnit, Metrics};

const DAY_MICROS: i64 = 86_400_000_000;
const HOUR_MICROS: i64 = 3_600_000_000;
const MINUTE_MICROS: i64 = 60_000_000;

/// `1234567` as `1,234,567`.
///
/// ```
/// assert_eq!(exops_sim::units::grouped(1_234_567), "1,234,567");
/// assert_eq!(exops_sim::units::grouped(999), "999");
/// ```
pub fn grouped(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// The symbol written before amounts of a fiat currency, for the few everyone reads.
fn symbol(code: &str) -> Option<&'static str> {
    match code {
        "JPY" => Some("¥"),
        "USD" => Some("$"),
        "EUR" => Some("€"),
        "GBP" => Some("£"),
        _ => None,
    }
}

/// `amount_minor` of an asset with `decimals`: `¥160,000,000`, `$1,234.5`, `12.5 BTC`.
/// Trailing zeros of the fraction are dropped; the integer part is grouped.
///
/// ```
/// use exops_sim::units::money_in;
///
/// assert_eq!(money_in(160_000_000, "JPY", 0), "¥160,000,000");
/// assert_eq!(money_in(1_250_000_000, "BTC", 8), "12.5 BTC");
/// assert_eq!(money_in(-123_450, "USD", 2), "-$1,234.5");
/// ```
pub fn money_in(amount_minor: i64, code: &str, decimals: u8) -> String {
    let scale = 10_u128.pow(u32::from(decimals.min(30)));
    let magnitude = u128::from(amount_minor.unsigned_abs());
    let (whole, fraction) = (magnitude / scale, magnitude % scale);
    let mut number = grouped(whole as u64);
    if fraction != 0 {
        let digits = format!("{fraction:0width$}", width = usize::from(decimals));
        number.push('.');
        number.push_str(digits.trim_end_matches('0'));
    }
    let sign = if amount_minor < 0 { "-" } else { "" };
    match symbol(code) {
        Some(symbol) => format!("{sign}{symbol}{number}"),
        None => format!("{sign}{number} {code}"),
    }
}

/// An amount of the asset named `code` as the run's venue declares it; an asset the
/// venue does not list reads in minor units.
///
/// ```
/// # use std::path::Path;
/// # use exops_sim::{Options, Plan, Scenario, simulate};
/// # let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019"));
/// # let scenario = Scenario::load(&root.join("scenario.toml"))?;
/// # let plan = Plan::load(&root.join("plan.toml"))?;
/// // No customers (scale 0): the venue, its dates and its units are all these need.
/// let metrics = simulate(&scenario, &plan, &Options { scale_percent: 0, ..Options::default() }, &mut |_| {})?.metrics;
/// assert_eq!(exops_sim::units::money(&metrics, 150_000_000, "BTC"), "1.5 BTC");
/// assert_eq!(exops_sim::units::money(&metrics, 7, "XYZ"), "7 XYZ (minor units)");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn money(metrics: &Metrics, amount_minor: i64, code: &str) -> String {
    match unit(&metrics.assets, code) {
        Some(unit) => money_in(amount_minor, code, unit.decimals),
        None => format!("{amount_minor} {code} (minor units)"),
    }
}

fn unit<'a>(assets: &'a [AssetUnit], code: &str) -> Option<&'a AssetUnit> {
    assets.iter().find(|asset| asset.code == code)
}

/// The venue's local clock: an offset from UTC and the zone's name.
///
/// ```
/// use exops_core::Timestamp;
/// use exops_sim::units::Clock;
///
/// let tokyo = Clock { offset_micros: 9 * 3_600_000_000, zone: "JST".to_owned() };
/// let theft = Timestamp::parse_rfc3339("2019-07-11T22:12:00+09:00")?;
/// assert_eq!(tokyo.both(theft), "2019-07-11 22:12 JST (13:12 UTC)");
/// assert_eq!(tokyo.local(theft), "2019-07-11 22:12 JST");
/// assert_eq!(tokyo.date(theft), "2019-07-11");
/// assert_eq!(tokyo.offset_text(), "UTC+9");
/// let late = Timestamp::parse_rfc3339("2019-07-12T02:00:00+09:00")?;
/// assert_eq!(tokyo.both(late), "2019-07-12 02:00 JST (2019-07-11 17:00 UTC)", "the UTC date when it differs");
/// let utc = Clock { offset_micros: 0, zone: "UTC".to_owned() };
/// assert!(utc.is_utc());
/// assert_eq!(utc.both(theft), "2019-07-11 13:12 UTC");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clock {
    /// Local time minus UTC, in microseconds.
    pub offset_micros: i64,
    /// `JST`, or `UTC+9` when the scenario names no zone, or `UTC`.
    pub zone: String,
}

impl Clock {
    /// The clock of the run's venue, from the scenario's `utc_offset_hours` and
    /// `time_zone`.
    ///
    /// ```
    /// # use std::path::Path;
    /// # use exops_sim::{Options, Plan, Scenario, simulate};
    /// # let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019"));
    /// # let scenario = Scenario::load(&root.join("scenario.toml"))?;
    /// # let plan = Plan::load(&root.join("plan.toml"))?;
    /// // No customers (scale 0): the venue, its dates and its units are all these need.
    /// let metrics = simulate(&scenario, &plan, &Options { scale_percent: 0, ..Options::default() }, &mut |_| {})?.metrics;
    /// let clock = exops_sim::units::Clock::of(&metrics);
    /// assert_eq!(clock.offset_micros, 9 * 3_600_000_000);
    /// assert_eq!(clock.zone, metrics.time_zone.clone().unwrap_or_else(|| "UTC+9".to_owned()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn of(metrics: &Metrics) -> Clock {
        let hours = i64::from(metrics.utc_offset_hours);
        let zone = match (&metrics.time_zone, hours) {
            (Some(zone), _) => zone.clone(),
            (None, 0) => "UTC".to_owned(),
            (None, hours) => format!("UTC{hours:+}"),
        };
        Clock { offset_micros: hours * HOUR_MICROS, zone }
    }

    /// Whether local time is UTC (no offset).
    pub fn is_utc(&self) -> bool {
        self.offset_micros == 0
    }

    /// Local micros since the epoch: what calendar arithmetic in the zone works on.
    pub fn local_micros(&self, at: Timestamp) -> i64 {
        at.unix_micros().saturating_add(self.offset_micros)
    }

    /// `UTC+9` style description of the offset, for captions.
    pub fn offset_text(&self) -> String {
        let hours = self.offset_micros / HOUR_MICROS;
        if hours == 0 { "UTC".to_owned() } else { format!("UTC{hours:+}") }
    }

    /// `2019-07-11 22:12 JST (13:12 UTC)`; the UTC part gives its date when it differs;
    /// in UTC itself, `2019-07-11 13:12 UTC`.
    pub fn both(&self, at: Timestamp) -> String {
        let local = format!("{} {}", date_time(self.local_micros(at)), self.zone);
        if self.is_utc() {
            return local;
        }
        let utc = at.unix_micros();
        let same_day = self.local_micros(at).div_euclid(DAY_MICROS) == utc.div_euclid(DAY_MICROS);
        if same_day {
            format!("{local} ({} UTC)", time_of_day(utc))
        } else {
            format!("{local} ({} UTC)", date_time(utc))
        }
    }

    /// `2019-07-11 22:12 JST`.
    pub fn local(&self, at: Timestamp) -> String {
        format!("{} {}", date_time(self.local_micros(at)), self.zone)
    }

    /// `2019-07-11` in the zone.
    pub fn date(&self, at: Timestamp) -> String {
        let (year, month, day) = civil(self.local_micros(at).div_euclid(DAY_MICROS));
        format!("{year:04}-{month:02}-{day:02}")
    }
}

/// `2019-07-11 13:12` of micros since the epoch (in whatever zone they count).
///
/// ```
/// assert_eq!(exops_sim::units::date_time(0), "1970-01-01 00:00");
/// assert_eq!(exops_sim::units::date_time(1_562_850_720_000_000), "2019-07-11 13:12");
/// ```
pub fn date_time(micros: i64) -> String {
    let (year, month, day) = civil(micros.div_euclid(DAY_MICROS));
    format!("{year:04}-{month:02}-{day:02} {}", time_of_day(micros))
}

fn time_of_day(micros: i64) -> String {
    let of_day = micros.rem_euclid(DAY_MICROS);
    format!("{:02}:{:02}", of_day / HOUR_MICROS, of_day % HOUR_MICROS / MINUTE_MICROS)
}

/// A duration in whole minutes, hours or days, as short as it reads: `45 min`, `6 h`,
/// `3 d 4 h`.
///
/// ```
/// use exops_sim::units::duration;
///
/// const HOUR: i64 = 3_600_000_000;
/// assert_eq!(duration(45 * 60_000_000), "45 min");
/// assert_eq!(duration(6 * HOUR), "6 h");
/// assert_eq!(duration(76 * HOUR), "3 d 4 h");
/// assert_eq!(duration(72 * HOUR), "3 d");
/// ```
pub fn duration(micros: i64) -> String {
    let minutes = micros.max(0) / MINUTE_MICROS;
    if minutes < 60 {
        return format!("{minutes} min");
    }
    let hours = minutes / 60;
    if hours < 48 {
        return format!("{hours} h");
    }
    match hours % 24 {
        0 => format!("{} d", hours / 24),
        rest => format!("{} d {rest} h", hours / 24),
    }
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
pub(crate) fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_reads_in_the_assets_units() {
        assert_eq!(money_in(160_000_000, "JPY", 0), "¥160,000,000");
        assert_eq!(money_in(1_250_000_000, "BTC", 8), "12.5 BTC");
        assert_eq!(money_in(100_000_000, "BTC", 8), "1 BTC");
        assert_eq!(money_in(1, "BTC", 8), "0.00000001 BTC");
        assert_eq!(money_in(-123_450, "USD", 2), "-$1,234.5");
        assert_eq!(money_in(523_000_000_000_000, "XEM", 6), "523,000,000 XEM");
        assert_eq!(money_in(i64::MIN, "X", 0), "-9,223,372,036,854,775,808 X");
    }

    #[test]
    fn instants_read_in_local_time_beside_utc() {
        let jst = Clock { offset_micros: 9 * HOUR_MICROS, zone: "JST".to_owned() };
        let at = Timestamp::parse_rfc3339("2019-07-11T22:12:00+09:00").unwrap_or_default();
        assert_eq!(jst.both(at), "2019-07-11 22:12 JST (13:12 UTC)");
        let late = Timestamp::parse_rfc3339("2019-07-12T05:00:00+09:00").unwrap_or_default();
        assert_eq!(jst.both(late), "2019-07-12 05:00 JST (2019-07-11 20:00 UTC)");
        let utc = Clock { offset_micros: 0, zone: "UTC".to_owned() };
        assert_eq!(utc.both(at), "2019-07-11 13:12 UTC");
        assert_eq!(duration(45 * MINUTE_MICROS), "45 min");
        assert_eq!(duration(30 * HOUR_MICROS), "30 h");
        assert_eq!(duration(76 * HOUR_MICROS), "3 d 4 h");
    }
}
