//! Workloads shared by the benchmarks: seeded, so every run measures the same events.

use exops_core::{
    Actor, AssetClass, AssetSpec, Cause, Envelope, Event, HoldLifted, HoldPlaced, MarketId, OrderSubmitted, OrderType,
    Selector, Timestamp, Transfer, VenueSpec,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub const MARKETS: usize = 24;

/// A venue with a few dozen assets and markets against JPY.
pub fn venue() -> VenueSpec {
    let mut assets = vec![AssetSpec {
        code: "JPY".into(),
        class: AssetClass::Fiat,
        decimals: 0,
        networks: Vec::new(),
        liabilities_minor: 1 << 50,
        hot_minor: 1 << 50,
        cold_minor: 1 << 50,
    }];
    let mut markets = Vec::new();
    for index in 0..MARKETS {
        let code = format!("C{index}");
        markets.push(format!("{code}/JPY"));
        assets.push(AssetSpec {
            code,
            class: AssetClass::Crypto,
            decimals: 8,
            networks: Vec::new(),
            liabilities_minor: 1 << 50,
            hot_minor: 1 << 50,
            cold_minor: 1 << 50,
        });
    }
    VenueSpec { name: "Bench Venue".into(), assets, markets, margin: true, approvals_required: Vec::new() }
}

/// `count` events: the venue, then customer operations (orders, deposits, withdrawals)
/// from a million customers with a hold placed or lifted every ~1,000 events.
pub fn workload(count: usize, seed: u64) -> Vec<Envelope> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut events = Vec::with_capacity(count);
    let start = Timestamp::parse_rfc3339("2019-07-01T00:00:00Z").expect("a valid instant").unix_micros();
    let mut customer_ids = vec![0_u64; 1_000_000];
    let mut staff_id = 0;
    let mut open_holds: Vec<String> = Vec::new();
    let mut hold_counter = 0;
    for seq in 1..=count as u64 {
        let at = Timestamp::from_unix_micros(start + seq as i64 * 1_000);
        let (actor, id, event) = if seq == 1 {
            staff_id += 1;
            (Actor::System("bench".into()), staff_id, Event::VenueDeclared(venue()))
        } else if rng.random_range(0..1_000) == 0 {
            staff_id += 1;
            let event = if open_holds.len() < 4 && (open_holds.is_empty() || rng.random_range(0..2) == 0) {
                hold_counter += 1;
                let name = format!("h{hold_counter}");
                open_holds.push(name.clone());
                let market = rng.random_range(0..MARKETS);
                Event::HoldPlaced(HoldPlaced {
                    hold: name,
                    cause: Cause::Maintenance,
                    services: vec![
                        Selector::parse(&format!("trading:C{market}/JPY")).expect("a valid selector"),
                        Selector::parse("withdrawals:*").expect("a valid selector"),
                    ],
                    mode: None,
                    max_order_notional_minor: None,
                    reason: None,
                })
            } else {
                let index = rng.random_range(0..open_holds.len());
                Event::HoldLifted(HoldLifted { hold: open_holds.swap_remove(index), services: None })
            };
            (Actor::Staff("ops".into()), staff_id, event)
        } else {
            let customer = rng.random_range(0..1_000_000_u32);
            customer_ids[customer as usize] += 1;
            let event = match rng.random_range(0..10) {
                0..6 => Event::OrderSubmitted(OrderSubmitted {
                    market: MarketId(rng.random_range(0..MARKETS as u16)),
                    order_type: OrderType::Limit,
                    notional_minor: rng.random_range(1..1_000_000),
                }),
                6..8 => Event::DepositReceived(Transfer {
                    asset: exops_core::AssetId(rng.random_range(0..=MARKETS as u16)),
                    network: None,
                    amount_minor: rng.random_range(1..1_000_000),
                }),
                _ => Event::WithdrawalRequested(Transfer {
                    asset: exops_core::AssetId(rng.random_range(0..=MARKETS as u16)),
                    network: None,
                    amount_minor: rng.random_range(1..1_000_000),
                }),
            };
            (Actor::Customer(customer), customer_ids[customer as usize], event)
        };
        events.push(Envelope { seq, at, id, actor, event, note: None });
    }
    events
}
