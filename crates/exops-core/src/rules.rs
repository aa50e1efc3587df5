//! The rules version a log is folded with. The log stores attempted events and their
//! outcomes are recomputed on every replay, so a change to a rule would silently change
//! the state an old log folds to. Each log therefore declares, in `venue_declared`, the
//! rules it was written under ([`VenueSpec::rules`](crate::VenueSpec::rules); absent means
//! version 1), and [`State::apply`](crate::State::apply) folds it with those rules. A
//! version this build does not know cannot even be represented: [`RulesVersion::new`]
//! refuses it, and so does every decoder, naming the versions this build folds.
//!
//! Changing a rule means: bump [`RULES_VERSION`], add a variant to `Rules` (every match
//! on it then fails to compile until it says what the new version does), keep the old
//! behaviour for the old version, and add a golden log for the new one
//! (`crates/exops-replay/tests/rules/`). See docs/adr/0008-rules-version.md.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The newest rules version this build folds, and the one it declares for new venues.
/// Version 1 is the rules as they were when versions were introduced.
///
/// ```
/// assert_eq!(exops_core::RULES_VERSION, 1);
/// ```
pub const RULES_VERSION: u32 = 1;

/// The rules of each version this build knows. `State::apply` matches on it, so a new
/// version is a compile error at every place that must decide what it does.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Rules {
    /// The rules as they were when versions were introduced.
    V1,
}

/// A rules version this build knows: 1 to [`RULES_VERSION`], nothing else.
///
/// ```
/// use exops_core::{RULES_VERSION, RulesVersion};
/// assert_eq!(RulesVersion::new(1).unwrap(), RulesVersion::FIRST);
/// assert_eq!(RulesVersion::CURRENT.get(), RULES_VERSION);
/// let error = RulesVersion::new(RULES_VERSION + 1).unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     format!(
///         "rules version {} is newer than this build, which folds rules versions 1 to {RULES_VERSION}; \
///          fold this log with the exops that wrote it, or a later one",
///         RULES_VERSION + 1
///     )
/// );
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RulesVersion(Rules);

// The newest variant is `RULES_VERSION`: bumping one without the other fails to compile.
const _: () = assert!(RulesVersion::CURRENT.get() == RULES_VERSION);

impl RulesVersion {
    /// Version 1: what a declaration without `rules` (every log written before rules
    /// versions existed) is folded with.
    pub const FIRST: RulesVersion = RulesVersion(Rules::V1);
    /// [`RULES_VERSION`], the newest this build knows.
    pub const CURRENT: RulesVersion = RulesVersion(Rules::V1);

    /// The version numbered `version`, if this build knows it.
    ///
    /// ```
    /// let error = exops_core::RulesVersion::new(0).unwrap_err();
    /// assert!(error.to_string().starts_with("rules version 0 does not exist"), "{error}");
    /// ```
    pub const fn new(version: u32) -> Result<RulesVersion, RulesVersionError> {
        match version {
            0 => Err(RulesVersionError::Zero),
            1 => Ok(RulesVersion(Rules::V1)),
            found => Err(RulesVersionError::Newer { found }),
        }
    }

    /// Its number.
    ///
    /// ```
    /// assert_eq!(exops_core::RulesVersion::FIRST.get(), 1);
    /// ```
    pub const fn get(self) -> u32 {
        match self.0 {
            Rules::V1 => 1,
        }
    }

    /// Whether it is version 1, which a declaration leaves unsaid (so that logs written
    /// before versions existed render byte for byte as they were).
    ///
    /// ```
    /// assert!(exops_core::RulesVersion::FIRST.is_first());
    /// ```
    pub fn is_first(&self) -> bool {
        *self == RulesVersion::FIRST
    }

    pub(crate) fn rules(self) -> Rules {
        self.0
    }
}

/// A log declares version 1 unless it says otherwise.
impl Default for RulesVersion {
    fn default() -> RulesVersion {
        RulesVersion::FIRST
    }
}

impl fmt::Display for RulesVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.get())
    }
}

impl Serialize for RulesVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(self.get())
    }
}

impl<'de> Deserialize<'de> for RulesVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let version = u32::deserialize(deserializer)?;
        RulesVersion::new(version).map_err(serde::de::Error::custom)
    }
}

/// A rules version this build cannot fold a log with.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RulesVersionError {
    /// Versions are numbered from 1.
    #[error("rules version 0 does not exist: versions start at 1, and this build folds 1 to {RULES_VERSION}")]
    Zero,
    /// Written by a newer build, under rules this one does not have.
    #[error(
        "rules version {found} is newer than this build, which folds rules versions 1 to {RULES_VERSION}; \
         fold this log with the exops that wrote it, or a later one"
    )]
    Newer { found: u32 },
}
