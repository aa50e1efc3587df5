//! The focused views a test snapshots. Each serialises in a fixed order (the venue's
//! service and asset order, or name order), with the field names of `exops replay
//! --format json|yaml`; docs/testing.md states when each may change.

use std::collections::BTreeMap;

use exops_core::{HoldView, IncidentView, Mode, OrderedMap, Timestamp};
use serde::Serialize;

/// The full view: exops-core's `StateView`, what `exops replay --format yaml` prints.
pub use exops_core::StateView;

/// One service in [`ServicesView`]: its effective mode, since when, the active holds
/// covering it (in the order they were placed) and its order-size cap, when it has one.
///
/// ```
/// let line = exops_testkit::ServiceLine {
///     mode: exops_core::Mode::Closed,
///     since: exops_core::Timestamp::from_unix_micros(0),
///     holds: vec!["maint".to_owned()],
///     max_order_notional_minor: None,
/// };
/// assert_eq!(exops_testkit::yaml(&line), "mode: closed\nsince: 1970-01-01T00:00:00Z\nholds:\n- maint\n");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceLine {
    pub mode: Mode,
    pub since: Timestamp,
    pub holds: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_order_notional_minor: Option<i64>,
}

/// Every service by name, in the venue's service order.
///
/// ```
/// let view = exops_testkit::ServicesView(Default::default());
/// assert_eq!(exops_testkit::yaml(&view), "{}\n");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ServicesView(pub OrderedMap<ServiceLine>);

/// Every active hold by name (name order), as the full view shows them.
///
/// ```
/// let view = exops_testkit::HoldsView(Default::default());
/// assert_eq!(exops_testkit::yaml(&view), "{}\n");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct HoldsView(pub BTreeMap<String, HoldView>);

/// Every incident by name (name order), as the full view shows them.
///
/// ```
/// let view = exops_testkit::IncidentsView(Default::default());
/// assert_eq!(exops_testkit::yaml(&view), "{}\n");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct IncidentsView(pub BTreeMap<String, IncidentView>);

/// The ledger of every asset by code, in declaration order, as the full view shows it.
///
/// ```
/// let view = exops_testkit::LedgerView(Default::default());
/// assert_eq!(exops_testkit::yaml(&view), "{}\n");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct LedgerView(pub OrderedMap<exops_core::LedgerView>);

/// What customers met, as the full view's `impact` shows it.
///
/// ```
/// let view = exops_testkit::ImpactView(exops_core::ImpactView { customers_affected: 3, services: Default::default() });
/// assert_eq!(exops_testkit::yaml(&view), "customers_affected: 3\nservices: {}\n");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ImpactView(pub exops_core::ImpactView);

pub(crate) fn services(view: &StateView) -> ServicesView {
    ServicesView(OrderedMap(
        view.services
            .0
            .iter()
            .map(|(name, service)| {
                (
                    name.clone(),
                    ServiceLine {
                        mode: service.mode,
                        since: service.since,
                        holds: service.holds.clone(),
                        max_order_notional_minor: service.max_order_notional_minor,
                    },
                )
            })
            .collect(),
    ))
}
