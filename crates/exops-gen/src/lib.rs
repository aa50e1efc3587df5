//! Synthetic logs for benchmarks and load: a venue with dozens of assets and markets, a
//! million customers, ~99% customer operations (the rest routine custody sweeps), and an
//! incident every million events running through it (holds,
//! thefts, controls, approvals, lifts, refunds). Produced lazily, so a log of any length
//! streams in bounded memory; seeded, so the same seed gives the same log. `exops gen`
//! writes them into a data directory ([`write_log`]); the benchmarks fold them.

use exops_core::{
    Actor, ApprovalGiven, AssetClass, AssetId, AssetSpec, Cause, CustodyTransferred, Envelope, Event, HoldLifted,
    HoldPlaced, IncidentCategory, IncidentOpened, IncidentStatus, IncidentUpdated, KeysRotated, MarginAction,
    MarginRequested, MarketId, OrderCancelled, OrderSubmitted, OrderType, RefundPaid, RoleGranted,
    SecurityReviewPassed, Selector, Theft, Timestamp, Transfer, VenueSpec, Wallet,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub const CRYPTO_ASSETS: usize = 24;
pub const CUSTOMERS: u32 = 1_000_000;
/// Events between the start of one incident and the next: about a hundred incidents in
/// a 100 M-event log. (One every 50,000 events made the state's incident history, not the
/// replay, the thing that grew with the log: 2,000 incidents at 100 M events.)
const INCIDENT_EVERY: u64 = 1 << 20;
/// Every this many events, a routine operator event (a custody sweep between the hot and
/// cold wallets), so that about 1% of the log is operator events.
const SWEEP_EVERY: u64 = 100;

/// The generated venue: JPY and USD, 24 crypto assets, each traded against both.
///
/// ```
/// let venue = exops_gen::venue();
/// assert_eq!(venue.assets.len(), exops_gen::CRYPTO_ASSETS + 2);
/// assert_eq!(venue.markets.len(), 2 * exops_gen::CRYPTO_ASSETS);
/// ```
pub fn venue() -> VenueSpec {
    let plenty = 1_i64 << 52;
    let mut assets: Vec<AssetSpec> = ["JPY", "USD"]
        .iter()
        .map(|code| AssetSpec {
            code: (*code).to_owned(),
            class: AssetClass::Fiat,
            decimals: if *code == "JPY" { 0 } else { 2 },
            networks: Vec::new(),
            liabilities_minor: plenty,
            hot_minor: plenty,
            cold_minor: plenty,
        })
        .collect();
    let mut markets = Vec::new();
    for index in 0..CRYPTO_ASSETS {
        let code = format!("C{index:02}");
        markets.push(format!("{code}/JPY"));
        markets.push(format!("{code}/USD"));
        assets.push(AssetSpec {
            code,
            class: AssetClass::Crypto,
            decimals: 8,
            networks: Vec::new(),
            liabilities_minor: plenty,
            hot_minor: plenty,
            cold_minor: plenty,
        });
    }
    VenueSpec {
        name: "Synthetic Exchange".to_owned(),
        assets,
        markets,
        margin: true,
        approvals_required: vec!["ciso".into(), "ceo".into()],
        rules: exops_core::RulesVersion::CURRENT,
    }
}

/// The steps of one incident, in order, spread over `INCIDENT_EVERY` events.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Step {
    Open,
    Hold,
    Rotate,
    Review,
    ApproveCiso,
    ApproveCeo,
    Lift,
    Refund,
    Resolve,
    Idle,
}

const STEPS: [(u64, Step); 9] = [
    (0, Step::Open),
    (10, Step::Hold),
    (20_000, Step::Rotate),
    (21_000, Step::Review),
    (22_000, Step::ApproveCiso),
    (22_100, Step::ApproveCeo),
    (30_000, Step::Lift),
    (31_000, Step::Refund),
    (32_000, Step::Resolve),
];

/// An endless, seeded stream of valid envelopes: the same seed, the same log.
///
/// ```
/// use exops_core::{Outcome, State};
///
/// let events: Vec<_> = exops_gen::Generator::new(1).take(10_000).collect();
/// assert_eq!(events, exops_gen::Generator::new(1).take(10_000).collect::<Vec<_>>());
/// let mut state = State::new();
/// for event in &events {
///     assert!(!matches!(state.apply(event), Outcome::Rejected(_)), "valid by construction");
/// }
/// assert_eq!(state.seq(), 10_000);
/// ```
#[derive(Debug)]
pub struct Generator {
    rng: ChaCha8Rng,
    seq: u64,
    at_micros: i64,
    customer_ids: Vec<u64>,
    staff_id: u64,
    incident: u64,
    asset: u16,
}

impl Generator {
    /// The stream for `seed`, from the venue's declaration on.
    pub fn new(seed: u64) -> Generator {
        Generator {
            rng: ChaCha8Rng::seed_from_u64(seed),
            seq: 0,
            at_micros: Timestamp::parse_rfc3339("2020-01-01T00:00:00Z").map_or(0, Timestamp::unix_micros),
            customer_ids: vec![0; CUSTOMERS as usize + 1],
            staff_id: 0,
            incident: 0,
            asset: 0,
        }
    }

    fn staff(&mut self, event: Event) -> (Actor, u64, Event) {
        self.staff_id += 1;
        (Actor::Staff("ops".to_owned()), self.staff_id, event)
    }

    fn person(&mut self, name: &str, event: Event, id: u64) -> (Actor, u64, Event) {
        (Actor::Staff(name.to_owned()), id, event)
    }

    fn incident_name(&self) -> String {
        format!("INC-{}", self.incident)
    }

    fn operator_step(&mut self, step: Step) -> (Actor, u64, Event) {
        let incident = self.incident_name();
        let code = format!("C{:02}", self.asset);
        let hold = format!("hold-{}", self.incident);
        match step {
            Step::Open => self.staff(Event::IncidentOpened(IncidentOpened {
                incident,
                title: format!("hot wallet of {code} drained"),
                category: IncidentCategory::WalletCompromise,
                stolen: vec![Theft { asset: code, wallet: Wallet::Hot, amount_minor: 1_000_000_000 }],
                blast_radius: vec![Selector::All],
            })),
            Step::Hold => self.staff(Event::HoldPlaced(HoldPlaced {
                hold,
                cause: Cause::Incident(incident),
                services: vec![
                    Selector::parse(&format!("withdrawals:{code}")).expect("a valid selector"),
                    Selector::parse(&format!("deposits:{code}")).expect("a valid selector"),
                    Selector::parse(&format!("trading:{code}/JPY")).expect("a valid selector"),
                ],
                mode: None,
                max_order_notional_minor: None,
                reason: None,
            })),
            Step::Rotate => self.staff(Event::KeysRotated(KeysRotated { incident, asset: code })),
            Step::Review => self.person(
                "reviewer",
                Event::SecurityReviewPassed(SecurityReviewPassed { incident }),
                self.incident + 1,
            ),
            Step::ApproveCiso => self.person(
                "ciso-1",
                Event::ApprovalGiven(ApprovalGiven { incident, role: "ciso".into() }),
                self.incident + 1,
            ),
            Step::ApproveCeo => self.person(
                "ceo-1",
                Event::ApprovalGiven(ApprovalGiven { incident, role: "ceo".into() }),
                self.incident + 1,
            ),
            Step::Lift => self.staff(Event::HoldLifted(HoldLifted { hold, services: None })),
            Step::Refund => self.staff(Event::RefundPaid(RefundPaid {
                incident: Some(incident),
                asset: "JPY".into(),
                amount_minor: 1_000_000,
                customers: 100,
                reason: None,
            })),
            Step::Resolve => {
                self.staff(Event::IncidentUpdated(IncidentUpdated { incident, status: IncidentStatus::Resolved }))
            }
            Step::Idle => unreachable!("idle steps make no operator event"),
        }
    }

    /// Moves some of an asset between the wallets, hot to cold and back in turn.
    fn sweep(&mut self, seq: u64) -> (Actor, u64, Event) {
        let asset = self.rng.random_range(0..CRYPTO_ASSETS + 2);
        let code = if asset < 2 { ["JPY", "USD"][asset].to_owned() } else { format!("C{:02}", asset - 2) };
        let (from, to) = if (seq / SWEEP_EVERY).is_multiple_of(2) {
            (Wallet::Hot, Wallet::Cold)
        } else {
            (Wallet::Cold, Wallet::Hot)
        };
        let amount_minor = self.rng.random_range(1..1_000_000);
        self.staff(Event::CustodyTransferred(CustodyTransferred { asset: code, from, to, amount_minor }))
    }

    fn customer_operation(&mut self) -> (Actor, u64, Event) {
        let customer = self.rng.random_range(1..=CUSTOMERS);
        let markets = (CRYPTO_ASSETS * 2) as u16;
        let assets = (CRYPTO_ASSETS + 2) as u16;
        let event = match self.rng.random_range(0..100) {
            0..45 => Event::OrderSubmitted(OrderSubmitted {
                market: MarketId(self.rng.random_range(0..markets)),
                order_type: [OrderType::Limit, OrderType::Market, OrderType::PostOnly][self.rng.random_range(0..3)],
                notional_minor: self.rng.random_range(1..1_000_000),
            }),
            45..55 => Event::OrderCancelled(OrderCancelled { market: MarketId(self.rng.random_range(0..markets)) }),
            55..70 => Event::LoginAttempted,
            70..82 => Event::DepositReceived(Transfer {
                asset: AssetId(self.rng.random_range(0..assets)),
                network: None,
                amount_minor: self.rng.random_range(1..1_000_000),
            }),
            82..94 => Event::WithdrawalRequested(Transfer {
                asset: AssetId(self.rng.random_range(0..assets)),
                network: None,
                amount_minor: self.rng.random_range(1..1_000_000),
            }),
            94..99 => Event::MarginRequested(MarginRequested {
                action: if self.rng.random_range(0..2) == 0 { MarginAction::Open } else { MarginAction::Close },
                notional_minor: self.rng.random_range(1..1_000_000),
            }),
            _ => Event::SignupRequested,
        };
        self.customer_ids[customer as usize] += 1;
        (Actor::Customer(customer), self.customer_ids[customer as usize], event)
    }
}

impl Iterator for Generator {
    type Item = Envelope;

    fn next(&mut self) -> Option<Envelope> {
        self.seq += 1;
        self.at_micros += 1_000;
        let (actor, id, event) = match self.seq {
            1 => (Actor::System("generator".into()), 1, Event::VenueDeclared(venue())),
            2 => (
                Actor::System("generator".into()),
                2,
                Event::RoleGranted(RoleGranted { person: "ciso-1".into(), role: "ciso".into() }),
            ),
            3 => (
                Actor::System("generator".into()),
                3,
                Event::RoleGranted(RoleGranted { person: "ceo-1".into(), role: "ceo".into() }),
            ),
            seq => {
                let position = (seq - 4) % INCIDENT_EVERY;
                if position == 0 {
                    self.incident += 1;
                    self.asset = self.rng.random_range(0..CRYPTO_ASSETS as u16);
                }
                let step = STEPS.iter().find(|(at, _)| *at == position).map_or(Step::Idle, |(_, step)| *step);
                if step != Step::Idle {
                    self.operator_step(step)
                } else if seq % SWEEP_EVERY == 0 {
                    self.sweep(seq)
                } else {
                    self.customer_operation()
                }
            }
        };
        Some(Envelope { seq: self.seq, at: Timestamp::from_unix_micros(self.at_micros), id, actor, event, note: None })
    }
}

/// Writes `events` generated events as a new log in `data_dir`, a block of 4,096 at a
/// time, each block fsynced. The events are valid by construction, so they go straight
/// to the segments ([`exops_log::BulkWriter`]) without the writer thread's bookkeeping;
/// snapshots are built by the first replay. `progress` hears the count after each block.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let mut heard = Vec::new();
/// let written = exops_gen::write_log(dir.path(), 10_000, 1, &mut |count| heard.push(count)).unwrap();
/// assert_eq!((written, heard), (10_000, vec![4_096, 8_192, 10_000]));
/// let summary = exops_log::inspect::walk(dir.path(), true).unwrap();
/// assert_eq!((summary.events, summary.blocks), (10_000, 3));
/// ```
pub fn write_log(
    data_dir: &std::path::Path,
    events: u64,
    seed: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, exops_log::StoreError> {
    let mut writer = exops_log::BulkWriter::open(data_dir)?;
    let mut generator = Generator::new(seed);
    let mut block: Vec<Envelope> = Vec::with_capacity(4096);
    let mut written = 0_u64;
    while written < events {
        block.clear();
        block.extend(generator.by_ref().take((events - written).min(4096) as usize));
        writer.append_block(&block)?;
        written += block.len() as u64;
        progress(written);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use exops_core::{Outcome, State};

    use super::*;

    #[test]
    fn a_generated_log_applies_without_a_rejection() {
        let mut state = State::new();
        for envelope in Generator::new(1).take(120_000) {
            if let Outcome::Rejected(rejection) = state.apply(&envelope) {
                panic!("seq {} ({}) rejected: {rejection}", envelope.seq, envelope.event.kind_name());
            }
        }
        let view = state.view();
        assert_eq!(view.incidents.len(), 1);
        assert!(view.incidents.values().all(|incident| incident.status == IncidentStatus::Resolved));
        // 1% custody sweeps, nine incident steps, three set-up events.
        assert_eq!(view.events.customer_operations, 120_000 - 1_200 - 9 - 3);
    }

    #[test]
    fn the_same_seed_gives_the_same_log() {
        let first: Vec<Envelope> = Generator::new(9).take(5_000).collect();
        let second: Vec<Envelope> = Generator::new(9).take(5_000).collect();
        assert_eq!(first, second);
        assert_ne!(first, Generator::new(10).take(5_000).collect::<Vec<_>>());
    }
}
