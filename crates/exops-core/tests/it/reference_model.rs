//! A deliberately simple reference model of holds, written independently of the core:
//! services are plain strings, selectors are resolved by matching those strings, every
//! ladder is written out literally, and each service's mode, cap and covering holds are
//! recomputed by scanning every hold.

use std::collections::{BTreeMap, BTreeSet};

use exops_core::{Event, Mode, Timestamp};

/// The canonical service names of the test venue, in the venue's service order.
pub const SERVICES: [&str; 13] = [
    "trading:BTC/JPY",
    "trading:USDT/JPY",
    "deposits:JPY",
    "withdrawals:JPY",
    "deposits:BTC",
    "withdrawals:BTC",
    "deposits:USDT@erc20",
    "deposits:USDT@tron",
    "withdrawals:USDT@erc20",
    "withdrawals:USDT@tron",
    "margin",
    "onboarding",
    "login",
];

/// The modes of a service kind, least restrictive first.
fn ladder(kind: &str) -> &'static [Mode] {
    match kind {
        "trading" => &[Mode::Online, Mode::LimitOnly, Mode::PostOnly, Mode::CancelOnly, Mode::Halted],
        "deposits" => &[Mode::Open, Mode::Closed],
        "withdrawals" => &[Mode::Open, Mode::Delayed, Mode::Closed],
        "margin" => &[Mode::Open, Mode::CloseOnly, Mode::Closed],
        "onboarding" => &[Mode::Open, Mode::Closed],
        "login" => &[Mode::Open, Mode::ReadOnly, Mode::Closed],
        other => panic!("the model knows no service kind `{other}`"),
    }
}

/// The modes of the service's kind (the test uses it only to generate fitting modes).
pub fn ladder_of(service: &str) -> &'static [Mode] {
    ladder(kind(service))
}

/// `trading:BTC/JPY` → `trading`, `margin` → `margin`.
fn kind(service: &str) -> &str {
    service.split(':').next().unwrap_or(service)
}

/// The rung a hold with `mode` (fully closed when `None`) puts `service` on, or `None`
/// when that mode is not on the service's ladder.
fn rung(service: &str, mode: Option<Mode>) -> Option<usize> {
    let ladder = ladder(kind(service));
    match mode {
        None => Some(ladder.len() - 1),
        Some(mode) => ladder.iter().position(|rung| *rung == mode),
    }
}

fn selector_matches(selector: &str, service: &str) -> bool {
    selector == "*"
        || selector == service
        || selector.strip_suffix('*').is_some_and(|prefix| prefix.ends_with(':') && service.starts_with(prefix))
        || service.starts_with(&format!("{selector}@"))
}

/// The services a selector covers; empty when it names nothing in the venue.
pub fn resolve(selector: &str) -> BTreeSet<String> {
    SERVICES.iter().filter(|service| selector_matches(selector, service)).map(|service| service.to_string()).collect()
}

/// The union of what `selectors` cover, or why one of them names nothing.
fn resolve_all(selectors: &[String]) -> Result<BTreeSet<String>, String> {
    let mut covers = BTreeSet::new();
    for selector in selectors {
        let resolved = resolve(selector);
        if resolved.is_empty() {
            return Err(format!("selector `{selector}` names no service"));
        }
        covers.extend(resolved);
    }
    Ok(covers)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-:/".contains(c))
}

/// Whether a hold with `mode` and `cap` may cover `covers`.
fn check_shape(covers: &BTreeSet<String>, mode: Option<Mode>, cap: Option<i64>) -> Result<(), String> {
    if let Some(service) = covers.iter().find(|service| rung(service, mode).is_none()) {
        return Err(format!("mode {mode:?} is not a mode of `{service}`"));
    }
    if let Some(cap) = cap {
        if cap <= 0 {
            return Err(format!("cap {cap} is not positive"));
        }
        if let Some(service) = covers.iter().find(|service| kind(service) != "trading") {
            return Err(format!("cap on non-trading `{service}`"));
        }
    }
    if cap.is_none() && covers.iter().all(|service| rung(service, mode) == Some(0)) {
        return Err("the hold restricts nothing".to_owned());
    }
    Ok(())
}

#[derive(Clone, Debug)]
pub struct Hold {
    pub name: String,
    pub mode: Option<Mode>,
    pub cap: Option<i64>,
    pub covers: BTreeSet<String>,
    pub active: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Model {
    declared: bool,
    /// Every hold ever placed, in placement order.
    holds: Vec<Hold>,
    /// Incident → the services its blast radius covers.
    incidents: BTreeMap<String, BTreeSet<String>>,
    /// When each service's mode or cap last changed.
    since: BTreeMap<String, Timestamp>,
}

impl Model {
    fn active_hold(&self, name: &str) -> Option<usize> {
        self.holds.iter().position(|hold| hold.active && hold.name == name)
    }

    /// The active holds, in placement order.
    pub fn active_holds(&self) -> impl Iterator<Item = &Hold> {
        self.holds.iter().filter(|hold| hold.active)
    }

    /// How many holds were ever placed.
    pub fn holds_placed(&self) -> usize {
        self.holds.len()
    }

    /// The name of the `index`-th active hold (modulo their number), if any is active.
    pub fn active_hold_name(&self, index: usize) -> Option<&str> {
        let active: Vec<&Hold> = self.active_holds().collect();
        (!active.is_empty()).then(|| active[index % active.len()].name.as_str())
    }

    /// What an active hold still covers.
    pub fn covers_of(&self, name: &str) -> Option<&BTreeSet<String>> {
        self.active_hold(name).map(|index| &self.holds[index].covers)
    }

    fn covering(&self, service: &str) -> impl Iterator<Item = &Hold> {
        self.active_holds().filter(move |hold| hold.covers.contains(service))
    }

    /// Names of the active holds covering `service`, in placement order.
    pub fn covering_names(&self, service: &str) -> Vec<String> {
        self.covering(service).map(|hold| hold.name.clone()).collect()
    }

    /// The effective mode: the highest rung any covering hold sets, open when none.
    pub fn mode(&self, service: &str) -> Mode {
        let level = self
            .covering(service)
            .map(|hold| rung(service, hold.mode).expect("placed holds have valid modes"))
            .max()
            .unwrap_or(0);
        ladder(kind(service))[level]
    }

    /// The smallest cap of the covering holds.
    pub fn cap(&self, service: &str) -> Option<i64> {
        self.covering(service).filter_map(|hold| hold.cap).min()
    }

    /// The hold that sets the mode: the first placed among those on the highest rung,
    /// none when the service is open.
    pub fn dominant(&self, service: &str) -> Option<String> {
        let rung_of = |hold: &Hold| rung(service, hold.mode).expect("placed holds have valid modes");
        let top = self.covering(service).map(rung_of).max().filter(|top| *top > 0)?;
        self.covering(service).find(|hold| rung_of(hold) == top).map(|hold| hold.name.clone())
    }

    /// The hold that sets the cap: the first placed among those with the smallest cap.
    fn cap_holder(&self, service: &str) -> Option<String> {
        let cap = self.cap(service)?;
        self.covering(service).find(|hold| hold.cap == Some(cap)).map(|hold| hold.name.clone())
    }

    pub fn since(&self, service: &str) -> Option<Timestamp> {
        self.since.get(service).copied()
    }

    fn gates(&self) -> Vec<(Mode, Option<i64>)> {
        SERVICES.iter().map(|service| (self.mode(service), self.cap(service))).collect()
    }

    /// What a service's gate and covering holds are, beyond its mode and cap.
    fn holdings(&self) -> Vec<(Option<String>, Option<String>, Vec<String>)> {
        SERVICES
            .iter()
            .map(|service| (self.dominant(service), self.cap_holder(service), self.covering_names(service)))
            .collect()
    }

    /// Applies one event, or says why it must be rejected (leaving the model unchanged).
    /// On success, returns the services whose mode or cap changed and those whose mode,
    /// cap, dominant hold, cap hold or covering holds changed, each in service order.
    pub fn apply(&mut self, event: &Event, at: Timestamp) -> Result<(Vec<String>, Vec<String>), String> {
        let (before, held_before) = (self.gates(), self.holdings());
        let mut next = self.clone();
        next.apply_inner(event)?;
        let (after, held_after) = (next.gates(), next.holdings());
        let declared = matches!(event, Event::VenueDeclared(_));
        let mut changed = Vec::new();
        let mut gates_or_holds_changed = Vec::new();
        for (index, service) in SERVICES.iter().enumerate() {
            if declared || before[index] != after[index] {
                changed.push(service.to_string());
            }
            if declared || before[index] != after[index] || held_before[index] != held_after[index] {
                gates_or_holds_changed.push(service.to_string());
            }
        }
        for service in &changed {
            next.since.insert(service.clone(), at);
        }
        *self = next;
        Ok((changed, gates_or_holds_changed))
    }

    fn apply_inner(&mut self, event: &Event) -> Result<(), String> {
        if !self.declared && !matches!(event, Event::VenueDeclared(_)) {
            return Err("no venue yet".to_owned());
        }
        match event {
            Event::VenueDeclared(_) => {
                if self.declared {
                    return Err("venue already declared".to_owned());
                }
                self.declared = true;
            }
            Event::IncidentOpened(opened) => {
                if self.incidents.contains_key(&opened.incident) {
                    return Err(format!("incident `{}` exists", opened.incident));
                }
                if !opened.stolen.is_empty() || opened.blast_radius.is_empty() {
                    return Err("the model opens only theft-free incidents with a blast radius".to_owned());
                }
                let selectors: Vec<String> = opened.blast_radius.iter().map(ToString::to_string).collect();
                let blast = resolve_all(&selectors)?;
                self.incidents.insert(opened.incident.clone(), blast);
            }
            Event::HoldPlaced(placed) => {
                if !valid_name(&placed.hold) {
                    return Err(format!("`{}` is not a valid hold name", placed.hold));
                }
                if self.holds.iter().any(|hold| hold.name == placed.hold) {
                    return Err(format!("hold name `{}` was used before", placed.hold));
                }
                if placed.services.is_empty() {
                    return Err("no selectors".to_owned());
                }
                let selectors: Vec<String> = placed.services.iter().map(ToString::to_string).collect();
                let covers = resolve_all(&selectors)?;
                check_shape(&covers, placed.mode, placed.max_order_notional_minor)?;
                match &placed.cause {
                    exops_core::Cause::Incident(incident) => {
                        let Some(blast) = self.incidents.get(incident) else {
                            return Err(format!("no incident `{incident}`"));
                        };
                        if let Some(outside) = covers.iter().find(|service| !blast.contains(*service)) {
                            return Err(format!("`{outside}` is outside the blast radius of `{incident}`"));
                        }
                    }
                    exops_core::Cause::Maintenance => {}
                    other => panic!("the model does not place holds caused by {other}"),
                }
                self.holds.push(Hold {
                    name: placed.hold.clone(),
                    mode: placed.mode,
                    cap: placed.max_order_notional_minor,
                    covers,
                    active: true,
                });
            }
            Event::HoldLifted(lifted) => {
                let Some(index) = self.active_hold(&lifted.hold) else {
                    return Err(format!("no active hold `{}`", lifted.hold));
                };
                let released = match &lifted.services {
                    None => self.holds[index].covers.clone(),
                    Some(selectors) => {
                        if selectors.is_empty() {
                            return Err("an empty list of services to release".to_owned());
                        }
                        let selectors: Vec<String> = selectors.iter().map(ToString::to_string).collect();
                        let released = resolve_all(&selectors)?;
                        if let Some(outside) =
                            released.iter().find(|service| !self.holds[index].covers.contains(*service))
                        {
                            return Err(format!("hold `{}` does not cover `{outside}`", lifted.hold));
                        }
                        released
                    }
                };
                let hold = &mut self.holds[index];
                hold.covers.retain(|service| !released.contains(service));
                hold.active = !hold.covers.is_empty();
            }
            Event::HoldModeSet(set) => {
                let Some(index) = self.active_hold(&set.hold) else {
                    return Err(format!("no active hold `{}`", set.hold));
                };
                check_shape(&self.holds[index].covers, Some(set.mode), set.max_order_notional_minor)?;
                let hold = &mut self.holds[index];
                hold.mode = Some(set.mode);
                hold.cap = set.max_order_notional_minor;
            }
            other => panic!("the model does not handle `{}`", other.kind_name()),
        }
        Ok(())
    }
}

#[test]
fn the_model_resolves_selectors_by_name() {
    let names = |selector: &str| resolve(selector).into_iter().collect::<Vec<_>>();
    assert_eq!(names("withdrawals:USDT"), ["withdrawals:USDT@erc20", "withdrawals:USDT@tron"]);
    assert_eq!(names("deposits:USDT@tron"), ["deposits:USDT@tron"]);
    assert_eq!(names("trading:*"), ["trading:BTC/JPY", "trading:USDT/JPY"]);
    assert_eq!(names("withdrawals:BTC"), ["withdrawals:BTC"]);
    assert_eq!(names("*").len(), SERVICES.len());
    assert!(names("withdrawals:BTC@tron").is_empty());
    assert!(names("deposits:USD").is_empty());
    assert!(names("trading:ETH/JPY").is_empty());
}
