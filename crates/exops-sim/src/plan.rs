//! Recovery plans (TOML): ordered phases, each with a gate and actions. Actions are
//! operator events in the event catalog's vocabulary; the simulator dates them when
//! their phase opens.
//!
//! ```toml
//! name = "What BITPoint did"
//!
//! [[phases]]
//! id = "jpy-funding"
//! title = "JPY deposits and withdrawals"
//! gate = { at = "2019-08-06T14:00:00+09:00" }
//! actions = [
//!   { kind = "hold_lifted", hold = "all-services-suspended", services = ["deposits:JPY", "withdrawals:JPY"] },
//! ]
//!
//! [[phases]]
//! id = "crypto-withdrawals"
//! gate = { requires = ["jpy-funding"], controls_met = "BP-2019-07", stable_hours = 72 }
//! actions = [{ kind = "hold_lifted", hold = "crypto-transfers-suspended" }]
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use exops_core::{Actor, Timestamp};
// Customer operations are never plan actions and never seen by a gate.
use exops_jsonl::CUSTOMER_KINDS;
use serde::Deserialize;

use crate::toml_events::{EventTemplate, template};
use crate::uncertainty::Spread;

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct GateFile {
    #[serde(default)]
    at: Option<String>,
    #[serde(default)]
    after_incident: Option<String>,
    #[serde(default)]
    requires: Vec<String>,
    #[serde(default)]
    seen: Vec<String>,
    #[serde(default)]
    controls_met: Option<String>,
    #[serde(default)]
    stable_hours: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct PhaseFile {
    id: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    gate: GateFile,
    #[serde(default)]
    actions: Vec<toml::Table>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    name: String,
    #[serde(default)]
    description: Option<String>,
    phases: Vec<PhaseFile>,
}

/// What must hold before a phase opens. Every condition given must hold.
///
/// ```
/// let text = r#"
/// name = "p"
/// [[phases]]
/// id = "funding"
/// gate = { at = "2019-08-06T14:00:00+09:00" }
/// [[phases]]
/// id = "crypto"
/// gate = { requires = ["funding"], seen = ["keys_rotated"], controls_met = "BP-2019-07", stable_hours = 72 }
/// "#;
/// let plan = exops_sim::Plan::parse("p.toml", text)?;
/// assert_eq!(plan.phases[0].gate.at.map(|at| at.to_string()).as_deref(), Some("2019-08-06T05:00:00Z"));
/// let gate = &plan.phases[1].gate;
/// assert_eq!(gate.requires, [0], "phases by index");
/// assert_eq!(gate.seen, ["keys_rotated"]);
/// assert_eq!((gate.controls_met.as_deref(), gate.stable_hours), (Some("BP-2019-07"), Some(72)));
/// assert_eq!(gate.at_spread, None, "a single date, not a range");
/// # Ok::<(), exops_sim::plan::PlanError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Gate {
    /// Not before this instant.
    pub at: Option<Timestamp>,
    /// Not before this long after the first incident opened (microseconds).
    pub after_incident_micros: Option<i64>,
    /// These phases (by index) are done.
    pub requires: Vec<usize>,
    /// An event of each of these kinds has been applied.
    pub seen: Vec<String>,
    /// The withdrawals of every asset this wallet compromise stole may reopen: its
    /// controls are met (keys rotated, review passed, every required approval given),
    /// and so are those of any other incident that stole one of them
    /// (`State::incident_controls`, the rule `apply` enforces).
    pub controls_met: Option<String>,
    /// No service changed mode for this many hours.
    pub stable_hours: Option<u32>,
    /// `at` given as a range (micros since the epoch): `at` is its central value, and
    /// each run of a sweep draws it.
    pub at_spread: Option<Spread>,
    /// `after_incident` given as a range (microseconds), likewise.
    pub after_incident_spread: Option<Spread>,
}

/// One phase of a plan: when its gate opens, its actions are applied, in order.
///
/// ```
/// use std::path::Path;
///
/// let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019/plan.toml"));
/// let plan = exops_sim::Plan::load(path)?;
/// let ids: Vec<&str> = plan.phases.iter().map(|phase| phase.id.as_str()).collect();
/// assert!(ids.contains(&"jpy-funding"));
/// // Each phase names the line of its `id`, for messages.
/// let text = std::fs::read_to_string(path).expect("the plan reads");
/// let line = text.lines().nth(plan.phases[0].line - 1).expect("the line");
/// assert!(line.contains("jpy-funding"), "{line}");
/// # Ok::<(), exops_sim::plan::PlanError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phase {
    /// Its id, unique in the plan (what `requires` and the reports name).
    pub id: String,
    /// A title for the reports.
    pub title: Option<String>,
    /// What must hold before it opens.
    pub gate: Gate,
    /// The operator events it applies, checked against the event catalog at load.
    pub(crate) actions: Vec<EventTemplate>,
    /// The line of the phase's `id` in the plan file.
    pub line: usize,
}

/// A recovery plan: ordered phases, each a gate and actions.
///
/// ```
/// use std::path::Path;
///
/// use exops_sim::Plan;
///
/// let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019/plan.toml"));
/// let plan = Plan::load(path)?;
/// assert_eq!(plan.source, path.display().to_string());
/// assert_eq!(plan.phases.len(), 9);
/// let funding = &plan.phases[0];
/// assert_eq!(funding.id, "jpy-funding");
/// assert!(funding.gate.at.is_some(), "opens on a date");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Where it was read from (a path, or the name given to [`Plan::parse`]), for messages.
    pub source: String,
    /// Its name.
    pub name: String,
    /// Its description, if any.
    pub description: Option<String>,
    /// Its phases, in file order.
    pub phases: Vec<Phase>,
}

/// A plan that cannot be used: the message names the file, the line and what is valid.
///
/// ```
/// let error = exops_sim::Plan::parse("p.toml", "name = \"p\"\nphases = []\n").unwrap_err();
/// assert_eq!(error.to_string(), "p.toml: the plan has no [[phases]]");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanError(pub String);

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PlanError {}

/// Parses `25d`, `14h`, `30m` and sums like `25d14h`.
pub(crate) fn parse_duration(text: &str) -> Result<i64, String> {
    let invalid = || format!("`{text}` is not a duration like 25d, 36h, 90m or 25d14h");
    let mut total: i64 = 0;
    let mut digits = String::new();
    for character in text.chars() {
        if character.is_ascii_digit() {
            digits.push(character);
            continue;
        }
        let unit: i64 = match character {
            'd' => 86_400_000_000,
            'h' => 3_600_000_000,
            'm' => 60_000_000,
            _ => return Err(invalid()),
        };
        let amount: i64 = digits.parse().map_err(|_| invalid())?;
        total = amount.checked_mul(unit).and_then(|part| total.checked_add(part)).ok_or_else(invalid)?;
        digits.clear();
    }
    if !digits.is_empty() || text.is_empty() {
        return Err(invalid());
    }
    Ok(total)
}

/// The 1-based line where `needle` first appears after line `from`.
fn line_of(text: &str, needle: &str, from: usize) -> usize {
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, line)| line.contains(needle))
        .map_or(from.max(1), |(index, _)| index + 1)
}

impl Plan {
    /// Reads and parses the plan at `path` (see [`Plan::parse`]).
    ///
    /// ```
    /// use std::path::Path;
    ///
    /// let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/mtgox-2014/plan.toml"));
    /// let plan = exops_sim::Plan::load(path)?;
    /// assert!(plan.name.starts_with("What happened"));
    /// let missing = exops_sim::Plan::load(Path::new("no/such/plan.toml")).unwrap_err();
    /// assert!(missing.to_string().starts_with("cannot read no/such/plan.toml: "), "{missing}");
    /// # Ok::<(), exops_sim::plan::PlanError>(())
    /// ```
    pub fn load(path: &Path) -> Result<Plan, PlanError> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| PlanError(format!("cannot read {}: {error}", path.display())))?;
        Plan::parse(&path.display().to_string(), &text)
    }

    /// Parses a plan's TOML `text`; `source` names it in messages. Phases must have
    /// unique ids, `requires` must name phases and form no cycle, and every action must be
    /// an operator event of the catalog.
    ///
    /// ```
    /// let text = r#"
    /// name = "Reopen logins"
    ///
    /// [[phases]]
    /// id = "logins"
    /// gate = { after_incident = "2d" }
    /// actions = [{ kind = "hold_lifted", hold = "all-suspended" }]
    ///
    /// [[phases]]
    /// id = "rest"
    /// gate = { requires = ["logins"], stable_hours = 24 }
    /// "#;
    /// let plan = exops_sim::Plan::parse("reopen.toml", text)?;
    /// assert_eq!(plan.phases[0].gate.after_incident_micros, Some(2 * 86_400_000_000));
    /// assert_eq!(plan.phases[1].gate.requires, [0]);
    ///
    /// let error = exops_sim::Plan::parse("reopen.toml", &text.replace("[\"logins\"]", "[\"login\"]")).unwrap_err();
    /// assert!(error.to_string().starts_with("reopen.toml:"), "{error}");
    /// # Ok::<(), exops_sim::plan::PlanError>(())
    /// ```
    pub fn parse(source: &str, text: &str) -> Result<Plan, PlanError> {
        let file: PlanFile = toml::from_str(text).map_err(|error| PlanError(format!("{source}: {error}")))?;
        if file.phases.is_empty() {
            return Err(PlanError(format!("{source}: the plan has no [[phases]]")));
        }
        let mut index_of: BTreeMap<String, usize> = BTreeMap::new();
        let mut lines = Vec::with_capacity(file.phases.len());
        let mut search_from = 1;
        for (index, phase) in file.phases.iter().enumerate() {
            let line = line_of(text, &format!("\"{}\"", phase.id), search_from);
            search_from = line;
            lines.push(line);
            if phase.id.trim().is_empty() {
                return Err(PlanError(format!("{source}:{line}: phases[{index}] has an empty or blank `id`")));
            }
            if index_of.insert(phase.id.clone(), index).is_some() {
                return Err(PlanError(format!("{source}:{line}: phase id `{}` is used twice", phase.id)));
            }
        }
        let default_actor = Actor::Staff("recovery".to_owned());
        let mut phases = Vec::with_capacity(file.phases.len());
        for (index, phase) in file.phases.into_iter().enumerate() {
            let line = lines[index];
            let at = |field: &str, text: &str| -> Result<Timestamp, PlanError> {
                Timestamp::parse_rfc3339(text).map_err(|error| {
                    PlanError(format!("{source}:{line}: phase `{}`: gate `{field}`: {error}", phase.id))
                })
            };
            let mut requires = Vec::with_capacity(phase.gate.requires.len());
            for required in &phase.gate.requires {
                match index_of.get(required) {
                    Some(other) if *other == index => {
                        return Err(PlanError(format!("{source}:{line}: phase `{}` requires itself", phase.id)));
                    }
                    Some(other) => requires.push(*other),
                    None => {
                        let where_line = line_of(text, &format!("\"{required}\""), line);
                        return Err(PlanError(format!(
                            "{source}:{where_line}: phase `{}` requires `{required}`, which is not a phase{}; \
                             phases: {}",
                            phase.id,
                            exops_core::did_you_mean(required, index_of.keys().map(String::as_str)),
                            index_of.keys().cloned().collect::<Vec<_>>().join(", ")
                        )));
                    }
                }
            }
            let gate_error = |field: &str, error: String| {
                PlanError(format!("{source}:{line}: phase `{}`: gate `{field}`: {error}", phase.id))
            };
            let instant_micros = |text: &str| {
                Timestamp::parse_rfc3339(text).map(|at| at.unix_micros()).map_err(|error| error.to_string())
            };
            let at_spread = match phase.gate.at.as_deref() {
                Some(text) => Spread::parse(text, &instant_micros).map_err(|error| gate_error("at", error))?,
                None => None,
            };
            let after_incident_spread = match phase.gate.after_incident.as_deref() {
                Some(text) => {
                    Spread::parse(text, &parse_duration).map_err(|error| gate_error("after_incident", error))?
                }
                None => None,
            };
            let gate = Gate {
                at: match (at_spread, phase.gate.at.as_deref()) {
                    (Some(spread), _) => Some(Timestamp::from_unix_micros(spread.central())),
                    (None, text) => text.map(|text| at("at", text)).transpose()?,
                },
                after_incident_micros: match (after_incident_spread, phase.gate.after_incident.as_deref()) {
                    (Some(spread), _) => Some(spread.central()),
                    (None, text) => {
                        text.map(parse_duration).transpose().map_err(|error| gate_error("after_incident", error))?
                    }
                },
                requires,
                seen: phase.gate.seen,
                controls_met: phase.gate.controls_met,
                stable_hours: phase.gate.stable_hours,
                at_spread,
                after_incident_spread,
            };
            for kind in &gate.seen {
                if CUSTOMER_KINDS.contains(&kind.as_str()) {
                    return Err(PlanError(format!(
                        "{source}:{line}: phase `{}`: gate `seen`: `{kind}` is a customer operation; those are gated, \
                         not applied, so it would never be seen",
                        phase.id
                    )));
                }
                if !exops_jsonl::KINDS.contains(&kind.as_str()) {
                    return Err(PlanError(format!(
                        "{source}:{line}: phase `{}`: gate `seen`: `{kind}` is not an event kind{}; kinds: {}",
                        phase.id,
                        exops_core::did_you_mean(kind, exops_jsonl::KINDS.iter().copied()),
                        exops_jsonl::KINDS.join(", ")
                    )));
                }
            }
            let mut actions = Vec::with_capacity(phase.actions.len());
            for (number, table) in phase.actions.iter().enumerate() {
                let label = format!("{source}:{line}: phase `{}` action {}", phase.id, number + 1);
                if table.contains_key("at") {
                    return Err(PlanError(format!(
                        "{label}: `at` is not allowed: an action happens when its phase opens (use the gate)"
                    )));
                }
                let action = template(table, &default_actor, &label).map_err(PlanError)?;
                if CUSTOMER_KINDS.contains(&action.kind()) {
                    return Err(PlanError(format!(
                        "{label}: `{}` is a customer operation; a plan's actions are operator events",
                        action.kind()
                    )));
                }
                if !exops_jsonl::KINDS.contains(&action.kind()) {
                    return Err(PlanError(format!(
                        "{label}: `{}` is not an event kind{}; kinds: {}",
                        action.kind(),
                        exops_core::did_you_mean(action.kind(), exops_jsonl::KINDS.iter().copied()),
                        exops_jsonl::KINDS.join(", ")
                    )));
                }
                if action.declares_venue() {
                    return Err(PlanError(format!("{label}: a plan cannot declare a venue")));
                }
                // Operator events name what they touch, so their fields can be checked now,
                // without a venue: a typo is found by lint, not at run time.
                action.decode(None, 2, Timestamp::from_unix_micros(0), 1, &label).map_err(PlanError)?;
                actions.push(action);
            }
            phases.push(Phase { id: phase.id, title: phase.title, gate, actions, line });
        }
        let plan = Plan { source: source.to_owned(), name: file.name, description: file.description, phases };
        if let Some(cycle) = plan.cycle() {
            let names: Vec<&str> = cycle.iter().map(|index| plan.phases[*index].id.as_str()).collect();
            return Err(PlanError(format!(
                "{source}:{}: phases require each other in a cycle, so none of them can open: {}",
                plan.phases[cycle[0]].line,
                names.join(" → ")
            )));
        }
        Ok(plan)
    }

    /// The plan with every gate range drawn once from `rng`, in phase order.
    pub(crate) fn drawn(&self, rng: &mut rand_chacha::ChaCha8Rng) -> Plan {
        let mut plan = self.clone();
        for phase in &mut plan.phases {
            if let Some(spread) = phase.gate.at_spread {
                phase.gate.at = Some(Timestamp::from_unix_micros(spread.draw(rng)));
            }
            if let Some(spread) = phase.gate.after_incident_spread {
                phase.gate.after_incident_micros = Some(spread.draw(rng));
            }
        }
        plan
    }

    /// A cycle in `requires`, as phase indices ending where they start.
    pub(crate) fn cycle(&self) -> Option<Vec<usize>> {
        // 0 = unvisited, 1 = on the current path, 2 = done.
        fn visit(plan: &Plan, at: usize, marks: &mut [u8], path: &mut Vec<usize>) -> Option<Vec<usize>> {
            marks[at] = 1;
            path.push(at);
            for next in &plan.phases[at].gate.requires {
                match marks[*next] {
                    1 => {
                        let start = path.iter().position(|index| index == next).unwrap_or(0);
                        let mut cycle = path[start..].to_vec();
                        cycle.push(*next);
                        return Some(cycle);
                    }
                    0 => {
                        if let Some(cycle) = visit(plan, *next, marks, path) {
                            return Some(cycle);
                        }
                    }
                    _ => {}
                }
            }
            path.pop();
            marks[at] = 2;
            None
        }
        let mut marks = vec![0_u8; self.phases.len()];
        for start in 0..self.phases.len() {
            if marks[start] == 0
                && let Some(cycle) = visit(self, start, &mut marks, &mut Vec::new())
            {
                return Some(cycle);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("25d14h").unwrap(), (25 * 24 + 14) * 3_600_000_000);
        assert_eq!(parse_duration("90m").unwrap(), 90 * 60_000_000);
        for bad in ["", "5", "d", "5x", "-3d", "99999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_name_the_line_and_what_is_valid() {
        let text = "name = \"p\"\n\n[[phases]]\nid = \"a\"\ngate = { requires = [\"b\"] }\n\n[[phases]]\nid = \"c\"\n";
        let error = Plan::parse("plan.toml", text).unwrap_err().to_string();
        assert_eq!(error, "plan.toml:5: phase `a` requires `b`, which is not a phase; phases: a, c");
        let cycle = "name = \"p\"\n[[phases]]\nid = \"a\"\ngate = { requires = [\"b\"] }\n[[phases]]\nid = \"b\"\ngate = { requires = [\"a\"] }\n";
        let error = Plan::parse("plan.toml", cycle).unwrap_err().to_string();
        assert!(
            error.contains("plan.toml:3: phases require each other in a cycle") && error.contains("a → b → a"),
            "{error}"
        );
        let typo = "name = \"p\"\n[[phases]]\nid = \"a\"\ngaet = {}\n";
        let error = Plan::parse("plan.toml", typo).unwrap_err().to_string();
        assert!(error.contains("line 4") && error.contains("unknown field `gaet`"), "{error}");
    }
}
