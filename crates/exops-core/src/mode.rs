//! Service modes. Each kind of service has its own ladder of modes, from fully open to
//! fully closed; a service's effective mode is the highest rung any hold puts it on.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::venue::ServiceKind;

/// Every mode name of every service kind, as written in logs and outputs.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Online,
    LimitOnly,
    PostOnly,
    CancelOnly,
    Halted,
    Open,
    Delayed,
    CloseOnly,
    ReadOnly,
    Closed,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Online => "online",
            Mode::LimitOnly => "limit_only",
            Mode::PostOnly => "post_only",
            Mode::CancelOnly => "cancel_only",
            Mode::Halted => "halted",
            Mode::Open => "open",
            Mode::Delayed => "delayed",
            Mode::CloseOnly => "close_only",
            Mode::ReadOnly => "read_only",
            Mode::Closed => "closed",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A rung on a service kind's ladder: 0 is fully open, [`ladder`]`(kind).len() - 1`
/// fully closed.
pub type Level = u8;

const TRADING: &[Mode] = &[Mode::Online, Mode::LimitOnly, Mode::PostOnly, Mode::CancelOnly, Mode::Halted];
const DEPOSITS: &[Mode] = &[Mode::Open, Mode::Closed];
const WITHDRAWALS: &[Mode] = &[Mode::Open, Mode::Delayed, Mode::Closed];
const MARGIN: &[Mode] = &[Mode::Open, Mode::CloseOnly, Mode::Closed];
const ONBOARDING: &[Mode] = &[Mode::Open, Mode::Closed];
const LOGIN: &[Mode] = &[Mode::Open, Mode::ReadOnly, Mode::Closed];

/// The modes of one service kind, least restrictive first.
pub fn ladder(kind: ServiceKind) -> &'static [Mode] {
    match kind {
        ServiceKind::Trading => TRADING,
        ServiceKind::Deposits => DEPOSITS,
        ServiceKind::Withdrawals => WITHDRAWALS,
        ServiceKind::Margin => MARGIN,
        ServiceKind::Onboarding => ONBOARDING,
        ServiceKind::Login => LOGIN,
    }
}

/// The rung of `mode` on `kind`'s ladder, if that kind has it.
pub fn level_of(kind: ServiceKind, mode: Mode) -> Option<Level> {
    ladder(kind).iter().position(|rung| *rung == mode).map(|index| index as Level)
}

/// The fully closed rung of a kind.
pub fn closed_level(kind: ServiceKind) -> Level {
    (ladder(kind).len() - 1) as Level
}

pub fn mode_at(kind: ServiceKind, level: Level) -> Mode {
    ladder(kind)[usize::from(level)]
}

/// The modes valid for `kind`, for error messages.
pub fn valid_modes(kind: ServiceKind) -> String {
    ladder(kind).iter().map(|mode| mode.name()).collect::<Vec<_>>().join("|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ladder_starts_open_and_ends_closed() {
        for kind in ServiceKind::ALL {
            let modes = ladder(kind);
            assert!(matches!(modes[0], Mode::Online | Mode::Open), "{kind}");
            assert!(matches!(modes[modes.len() - 1], Mode::Halted | Mode::Closed), "{kind}");
            assert_eq!(level_of(kind, mode_at(kind, closed_level(kind))), Some(closed_level(kind)));
        }
    }
}
