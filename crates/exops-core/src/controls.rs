//! The wallet-compromise controls: the one rule that decides whether a compromised
//! asset's withdrawals may reopen and what is still missing. `apply` enforces it, the view
//! shows it and the simulator's `controls_met` gate waits for it, all through here.

use std::collections::BTreeSet;

use crate::state::{CompromisedAsset, IncidentRecord, State};
use crate::venue::{AssetId, Venue};

/// One thing a wallet compromise still needs before withdrawals of an asset it
/// compromised may reopen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MissingControl {
    /// The asset's keys rotated (`keys_rotated`).
    KeysRotated(AssetId),
    /// The incident's security review passed (`security_review_passed`).
    SecurityReview,
    /// An approval by this role of the venue's `approvals_required` (`approval_given`).
    Approval(String),
}

impl MissingControl {
    /// What is missing and which event provides it, as a rejection lists it.
    pub fn describe(&self, venue: &Venue) -> String {
        match self {
            MissingControl::KeysRotated(asset) => {
                format!("keys of {} rotated (`keys_rotated`)", venue.asset(*asset).code)
            }
            MissingControl::SecurityReview => "a security review passed (`security_review_passed`)".to_owned(),
            MissingControl::Approval(role) => format!("approval by role `{role}` (`approval_given`)"),
        }
    }
}

/// An incident whose controls keep an asset's withdrawals closed, and what it still needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnmetControls {
    /// The incident, by slot.
    pub incident: u32,
    /// Never empty.
    pub missing: Vec<MissingControl>,
}

/// Whether withdrawals of one asset may reopen and, if not, what keeps them closed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WithdrawalControls {
    /// Every incident that compromised the asset and still needs something, in the order
    /// they were opened; empty when the withdrawals may reopen (or no incident
    /// compromised the asset).
    pub unmet: Vec<UnmetControls>,
}

impl WithdrawalControls {
    pub fn met(&self) -> bool {
        self.unmet.is_empty()
    }
}

/// Whether the withdrawals of every asset one incident compromised may reopen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IncidentControls {
    /// What the incident itself still needs for its assets: their keys, its review, its
    /// approvals.
    pub missing: Vec<MissingControl>,
    /// Other incidents (by slot, in opening order) that compromised one of its assets and
    /// still need something: those withdrawals wait for them too.
    pub held_back_by: Vec<u32>,
}

impl IncidentControls {
    pub fn met(&self) -> bool {
        self.missing.is_empty() && self.held_back_by.is_empty()
    }
}

impl State {
    /// May withdrawals of `asset` reopen, and if not, what is missing? A step that would
    /// move them out of `closed` is refused while this is not met.
    ///
    /// ```
    /// use exops_core::{AssetId, State};
    ///
    /// // No venue, no incident: nothing holds the withdrawals back.
    /// assert!(State::new().withdrawal_controls(AssetId(0)).met());
    /// ```
    pub fn withdrawal_controls(&self, asset: AssetId) -> WithdrawalControls {
        let unmet = (0_u32..)
            .zip(self.incidents())
            .filter_map(|(slot, incident)| {
                let compromised = incident.compromised.iter().find(|entry| entry.asset == asset)?;
                let missing = self.missing_controls(incident, std::slice::from_ref(compromised));
                (!missing.is_empty()).then_some(UnmetControls { incident: slot, missing })
            })
            .collect();
        WithdrawalControls { unmet }
    }

    /// May the withdrawals of every asset incident `slot` compromised reopen? `None` when
    /// there is no such incident or it compromised nothing, so has no controls.
    ///
    /// ```
    /// assert!(exops_core::State::new().incident_controls(0).is_none());
    /// ```
    pub fn incident_controls(&self, slot: u32) -> Option<IncidentControls> {
        let incident = self.incidents().get(slot as usize)?;
        if incident.compromised.is_empty() {
            return None;
        }
        let held_back_by: BTreeSet<u32> = incident
            .compromised
            .iter()
            .flat_map(|entry| self.withdrawal_controls(entry.asset).unmet)
            .map(|unmet| unmet.incident)
            .filter(|other| *other != slot)
            .collect();
        Some(IncidentControls {
            missing: self.missing_controls(incident, &incident.compromised),
            held_back_by: held_back_by.into_iter().collect(),
        })
    }

    /// The rule itself: what `incident` still needs before withdrawals of `assets` (ones it
    /// compromised) may reopen. Their keys rotated, its security review passed, and
    /// every role the venue requires approved.
    fn missing_controls(&self, incident: &IncidentRecord, assets: &[CompromisedAsset]) -> Vec<MissingControl> {
        let mut missing: Vec<MissingControl> = assets
            .iter()
            .filter(|entry| entry.keys_rotated_at.is_none())
            .map(|entry| MissingControl::KeysRotated(entry.asset))
            .collect();
        if incident.review_passed_at.is_none() {
            missing.push(MissingControl::SecurityReview);
        }
        let required = self.venue().map_or(&[][..], |venue| venue.approvals_required.as_slice());
        missing.extend(
            required
                .iter()
                .filter(|role| !incident.approvals.contains_key(*role))
                .map(|role| MissingControl::Approval(role.clone())),
        );
        missing
    }
}
