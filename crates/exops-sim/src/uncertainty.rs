//! Ranges instead of single values, for plans tested under uncertainty: a gate's date or
//! offset, a scenario event's date. `LOW..HIGH` draws uniformly, `LOW..MODE..HIGH` from
//! a triangular distribution; nothing else, so that what a sweep assumes stays explicit.
//! A single run uses each range's central value (the midpoint, or the mode); a sweep of
//! N runs draws every range once per run from a generator seeded by the run's seed, with
//! integer arithmetic only, so the whole sweep is deterministic.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// A range of integers (microseconds, or micros since the epoch for instants), as a plan
/// or a scenario writes `LOW..HIGH` (uniform) or `LOW..MODE..HIGH` (triangular).
///
/// ```
/// use rand::SeedableRng;
/// use exops_sim::uncertainty::Spread;
///
/// let uniform = Spread { low: 10, mode: None, high: 20 };
/// let triangular = Spread { low: 10, mode: Some(18), high: 20 };
/// assert_eq!((uniform.central(), triangular.central()), (15, 18));
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
/// for _ in 0..100 {
///     assert!((10..=20).contains(&triangular.draw(&mut rng)));
/// }
/// // The same seed, the same draws.
/// let draws = |seed| {
///     let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
///     (0..5).map(|_| uniform.draw(&mut rng)).collect::<Vec<_>>()
/// };
/// assert_eq!(draws(1), draws(1));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Spread {
    /// The lowest value.
    pub low: i64,
    /// The mode of a triangular distribution; `None`: uniform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<i64>,
    /// The highest value (included).
    pub high: i64,
}

/// Resolution of the triangular draw: the uniform variate takes 2^20 steps.
const STEPS: u128 = 1 << 20;

impl Spread {
    /// `LOW..HIGH` or `LOW..MODE..HIGH`, each part parsed by `value`; `Ok(None)` when
    /// `text` holds no `..` (a single value).
    pub(crate) fn parse(text: &str, value: &dyn Fn(&str) -> Result<i64, String>) -> Result<Option<Spread>, String> {
        if !text.contains("..") {
            return Ok(None);
        }
        let parts: Vec<&str> = text.split("..").collect();
        let values = parts.iter().map(|part| value(part.trim())).collect::<Result<Vec<i64>, String>>()?;
        let spread = match values[..] {
            [low, high] => Spread { low, mode: None, high },
            [low, mode, high] => Spread { low, mode: Some(mode), high },
            _ => {
                return Err(format!(
                    "`{text}` is not a range: give LOW..HIGH (uniform) or LOW..MODE..HIGH (triangular)"
                ));
            }
        };
        let ordered = match spread.mode {
            None => spread.low < spread.high,
            Some(mode) => spread.low <= mode && mode <= spread.high && spread.low < spread.high,
        };
        if !ordered {
            return Err(format!("`{text}`: a range runs from low to high (LOW < HIGH, LOW <= MODE <= HIGH)"));
        }
        Ok(Some(spread))
    }

    /// The value a single run uses: the mode, or the midpoint.
    pub fn central(&self) -> i64 {
        self.mode.unwrap_or_else(|| self.low + (self.high - self.low) / 2)
    }

    /// One draw, from `low` to `high` inclusive, with integer arithmetic only.
    pub fn draw(&self, rng: &mut ChaCha8Rng) -> i64 {
        let width = (self.high - self.low) as u128;
        match self.mode {
            None => self.low + rng.random_range(0..=self.high - self.low),
            Some(mode) => {
                // The inverse of the triangular distribution's CDF, in integers: with u
                // uniform in [0, 1), x = low + sqrt(u * W * C) below the mode's share C / W,
                // x = high - sqrt((1 - u) * W * (W - C)) above it.
                let rise = (mode - self.low) as u128;
                let u = rng.random_range(0..STEPS as u64) as u128;
                if u * width < STEPS * rise {
                    self.low + (u * width * rise / STEPS).isqrt() as i64
                } else {
                    self.high - ((STEPS - u) * width * (width - rise) / STEPS).isqrt() as i64
                }
            }
        }
    }
}

/// The seed of run `run` (0-based) of a sweep from `base` (splitmix64 of both): runs are
/// independent of each other and of how many threads run them.
///
/// ```
/// use exops_sim::sweep::run_seed;
///
/// assert_eq!(run_seed(2019, 3), run_seed(2019, 3));
/// assert_ne!(run_seed(2019, 0), run_seed(2019, 1));
/// assert_ne!(run_seed(2019, 0), run_seed(2020, 0));
/// ```
pub fn run_seed(base: u64, run: u32) -> u64 {
    let mut z = base ^ (u64::from(run) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn number(text: &str) -> Result<i64, String> {
        text.parse().map_err(|_| format!("`{text}` is not a number"))
    }

    #[test]
    fn ranges_parse_and_refuse_what_is_not_one() {
        assert_eq!(Spread::parse("5", &number).unwrap(), None);
        assert_eq!(Spread::parse("1..9", &number).unwrap(), Some(Spread { low: 1, mode: None, high: 9 }));
        assert_eq!(Spread::parse("1..3..9", &number).unwrap().map(|spread| spread.central()), Some(3));
        assert_eq!(Spread::parse("1..9", &number).unwrap().map(|spread| spread.central()), Some(5));
        for bad in ["9..1", "1..1", "1..10..9", "1..2..3..4", "1..x"] {
            assert!(Spread::parse(bad, &number).is_err(), "{bad}");
        }
    }

    #[test]
    fn draws_stay_in_range_and_follow_their_distribution() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let uniform = Spread { low: 0, mode: None, high: 99 };
        let triangular = Spread { low: 0, mode: Some(90), high: 100 };
        let (mut below_half, mut above_eighty) = (0, 0);
        for _ in 0..10_000 {
            let value = uniform.draw(&mut rng);
            assert!((0..=99).contains(&value));
            below_half += i32::from(value < 50);
            let value = triangular.draw(&mut rng);
            assert!((0..=100).contains(&value));
            above_eighty += i32::from(value >= 80);
        }
        // Uniform: half below 50. Triangular with mode 90: P(x >= 80) = 1 - 80² / (100 × 90) ≈ 0.289.
        assert!((4_700..=5_300).contains(&below_half), "{below_half}");
        assert!((2_600..=3_200).contains(&above_eighty), "{above_eighty}");
        assert_ne!(run_seed(1, 0), run_seed(1, 1));
        assert_eq!(run_seed(1, 5), run_seed(1, 5));
    }
}
