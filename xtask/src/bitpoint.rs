//! Generates `fixtures/bitpoint-2019/events.jsonl`: the dated steps of BITPoint Japan's
//! July 2019 hot-wallet theft and phased reopening (from shared history, each marked
//! historical or modelled in its `note`), with a seeded sample of customer operations
//! and next-business-day settlements of delayed withdrawals.
//!
//! Every event goes through the real decoder and state machine while it is generated,
//! so the fixture is known to parse and to apply without a single rejection.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use exops_core::{Envelope, Outcome, ServiceKind, State, Timestamp};
use exops_jsonl::{LineDecoder, Writer};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

const SEED: u64 = 20_190_711;
const CUSTOMERS: u32 = 300;
const CRYPTO: [&str; 5] = ["BTC", "ETH", "XRP", "LTC", "BCH"];
const INCIDENT: &str = "BP-2019-07-hot-wallet";
/// Order-size cap while spot trading reopened, in JPY. The real cap is not in the
/// sources; this one is modelled.
const ORDER_CAP_JPY: i64 = 1_000_000;

/// An event before it gets its sequence number and id.
struct Draft {
    at: Timestamp,
    /// Operator events sort before customer operations at the same instant.
    class: u8,
    actor: String,
    body: Value,
    note: Option<String>,
    /// A settlement that is written only when the asset has queued withdrawals.
    settles: Option<&'static str>,
}

fn jst(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(&format!("{text}+09:00")).expect("fixture instants are written correctly")
}

fn operator(at: &str, actor: &str, body: Value, note: &str) -> Draft {
    Draft { at: jst(at), class: 0, actor: actor.to_owned(), body, note: Some(note.to_owned()), settles: None }
}

fn crypto_selectors(service: &str) -> Vec<String> {
    CRYPTO.iter().map(|code| format!("{service}:{code}")).collect()
}

/// The dated steps. Times are JST; a date without a time in the sources gets a modelled
/// time of day, and says so.
fn operator_events() -> Vec<Draft> {
    let mut all_crypto_transfers = crypto_selectors("deposits");
    all_crypto_transfers.extend(crypto_selectors("withdrawals"));
    let asset = |code: &str, decimals: u8, liabilities: i64, hot: i64, cold: i64| {
        json!({"code": code, "class": if code == "JPY" { "fiat" } else { "crypto" }, "decimals": decimals,
               "liabilities_minor": liabilities, "hot_minor": hot, "cold_minor": cold})
    };
    let coin = |units: i64, decimals: u32| units * 10_i64.pow(decimals);
    let mut drafts = vec![
        operator(
            "2019-07-01T00:00:00",
            "system:exops-fixture",
            json!({"kind": "venue_declared", "name": "BITPoint Japan", "margin": true,
                   "approvals_required": ["ciso", "ceo"],
                   "assets": [
                       asset("JPY", 0, 12_000_000_000, 2_000_000_000, 10_500_000_000),
                       asset("BTC", 8, coin(4_000, 8), coin(1_300, 8), coin(2_900, 8)),
                       asset("ETH", 8, coin(40_000, 8), coin(12_000, 8), coin(29_000, 8)),
                       asset("XRP", 6, coin(100_000_000, 6), coin(35_000_000, 6), coin(66_000_000, 6)),
                       asset("LTC", 8, coin(70_000, 8), coin(24_000, 8), coin(47_000, 8)),
                       asset("BCH", 8, coin(25_000, 8), coin(9_000, 8), coin(16_500, 8)),
                   ],
                   "markets": ["BTC/JPY", "ETH/JPY", "XRP/JPY", "LTC/JPY", "BCH/JPY"]}),
            "modelled: the venue as of 2019-07-01; BITPoint's assets (BTC, BCH, ETH, LTC, XRP) and JPY are \
             historical, the balances are modelled (ETH kept at 8 decimals so amounts fit 64-bit minor units)",
        ),
        operator(
            "2019-07-01T00:00:00",
            "system:exops-fixture",
            json!({"kind": "role_granted", "person": "ciso-1", "role": "ciso"}),
            "modelled: the approvers are fictional role holders",
        ),
        operator(
            "2019-07-01T00:00:00",
            "system:exops-fixture",
            json!({"kind": "role_granted", "person": "ceo-1", "role": "ceo"}),
            "modelled: the approvers are fictional role holders",
        ),
        operator(
            "2019-07-11T22:12:00",
            "system:monitoring",
            json!({"kind": "incident_opened", "incident": INCIDENT, "category": "wallet_compromise",
                   "title": "Errors sending XRP from the hot wallet", "blast_radius": ["*"]}),
            "historical: 22:12 JST error detected in XRP sends (coindeskjapan)",
        ),
        operator(
            "2019-07-11T22:39:00",
            "staff:ops",
            json!({"kind": "theft_recorded", "incident": INCIDENT,
                   "stolen": [{"asset": "XRP", "wallet": "hot", "amount_minor": coin(30_000_000, 6)}]}),
            "historical: 22:39 JST XRP theft confirmed (coindeskjapan); amount modelled",
        ),
        operator(
            "2019-07-11T22:39:00",
            "staff:ops",
            json!({"kind": "incident_updated", "incident": INCIDENT, "status": "identified"}),
            "historical: theft confirmed at 22:39 JST (coindeskjapan)",
        ),
        operator(
            "2019-07-12T02:00:00",
            "staff:ops",
            json!({"kind": "theft_recorded", "incident": INCIDENT, "stolen": [
                {"asset": "BTC", "wallet": "hot", "amount_minor": coin(1_000, 8)},
                {"asset": "ETH", "wallet": "hot", "amount_minor": coin(10_000, 8)},
                {"asset": "LTC", "wallet": "hot", "amount_minor": coin(20_000, 8)},
                {"asset": "BCH", "wallet": "hot", "amount_minor": coin(7_500, 8)},
            ]}),
            "historical: ~02:00 JST theft confirmed on BTC, BCH, ETH, LTC and XRP (coindeskjapan); per-asset \
             amounts are modelled so the total is near the reported 3.02bn JPY at July 2019 prices",
        ),
        operator(
            "2019-07-12T06:30:00",
            "staff:ops",
            json!({"kind": "hold_placed", "hold": "crypto-transfers-suspended",
                   "cause": {"incident": INCIDENT}, "services": all_crypto_transfers}),
            "historical: 06:30 JST crypto deposits and withdrawals suspended (coindeskjapan)",
        ),
        operator(
            "2019-07-12T10:30:00",
            "staff:ops",
            json!({"kind": "hold_placed", "hold": "all-services-suspended",
                   "cause": {"incident": INCIDENT}, "services": ["*"]}),
            "historical: 10:30 JST all services suspended, new accounts included (coindeskjapan, nikkeibp)",
        ),
        operator(
            "2019-08-06T14:00:00",
            "staff:ops",
            json!({"kind": "hold_lifted", "hold": "all-services-suspended",
                   "services": ["deposits:JPY", "withdrawals:JPY", "login"]}),
            "historical: ~14:00 JST JPY deposits and withdrawals resumed (bitpoint.co.jp notice, apptimes); \
             login reopening with them is modelled (customers need it to withdraw JPY)",
        ),
        operator(
            "2019-08-09T14:00:00",
            "staff:ops",
            json!({"kind": "hold_lifted", "hold": "all-services-suspended", "services": ["margin"]}),
            "historical: ~14:00 JST OTC margin trading (leverage, MT4) resumed (recovery plan; fee-refund notice)",
        ),
        operator(
            "2019-08-13T10:00:00",
            "staff:ops",
            json!({"kind": "hold_placed", "hold": "spot-order-size-caps", "cause": {"incident": INCIDENT},
                   "services": ["trading:*"], "mode": "online", "max_order_notional_minor": ORDER_CAP_JPY,
                   "reason": "temporary order-size caps"}),
            "historical: 2019-08-13 spot trading resumed with temporary order-size caps (apptimes); the time of \
             day, the cap's size and its end date are not in the sources (modelled; the cap stays on here)",
        ),
        operator(
            "2019-08-13T10:00:00",
            "staff:ops",
            json!({"kind": "hold_lifted", "hold": "all-services-suspended", "services": ["trading:*"]}),
            "historical: 2019-08-13 spot crypto trading resumed (apptimes); time of day modelled",
        ),
        operator(
            "2019-09-12T10:00:00",
            "staff:ops",
            json!({"kind": "refund_paid", "incident": INCIDENT, "asset": "JPY", "amount_minor": 40_000_000,
                   "customers": 4_000, "reason": "price differences on orders filled badly during the outage"}),
            "historical: 2019-09-12 refunds of price differences (cointelegraph jp); amount, customer count and \
             time of day modelled",
        ),
        operator(
            "2019-09-12T10:00:00",
            "staff:ops",
            json!({"kind": "refund_paid", "incident": INCIDENT, "asset": "JPY", "amount_minor": 120_000_000,
                   "customers": 12_000,
                   "reason": "position fees charged from 07-12 10:30 to 08-09 14:00"}),
            "historical: 2019-09-12 refunds of position fees for 07-12 10:30 .. 08-09 14:00 (cointelegraph jp); \
             amount, customer count and time of day modelled",
        ),
        operator(
            "2019-09-17T10:00:00",
            "staff:ops",
            json!({"kind": "hold_placed", "hold": "forced-password-reset", "cause": "maintenance",
                   "services": ["login"], "mode": "read_only",
                   "reason": "every customer must reset their password"}),
            "historical: 2019-09-17 .. 09-24 forced password reset (hedge.guide); modelled as login read_only, \
             times of day modelled",
        ),
        operator(
            "2019-09-24T18:00:00",
            "staff:ops",
            json!({"kind": "hold_lifted", "hold": "forced-password-reset"}),
            "historical: forced password reset ended 2019-09-24 (hedge.guide); time of day modelled",
        ),
    ];
    for (hour, code) in ["10", "11", "12", "13", "14"].iter().zip(CRYPTO) {
        drafts.push(operator(
            &format!("2019-09-25T{hour}:00:00"),
            "staff:security",
            json!({"kind": "keys_rotated", "incident": INCIDENT, "asset": code}),
            "modelled: keys rotated before crypto withdrawals resumed (date not in the sources)",
        ));
    }
    drafts.extend([
        operator(
            "2019-09-26T15:00:00",
            "staff:security-reviewer",
            json!({"kind": "security_review_passed", "incident": INCIDENT}),
            "modelled: security review passed before crypto withdrawals resumed (date not in the sources)",
        ),
        operator(
            "2019-09-27T10:00:00",
            "staff:ciso-1",
            json!({"kind": "approval_given", "incident": INCIDENT, "role": "ciso"}),
            "modelled: approval to reopen crypto withdrawals (date not in the sources)",
        ),
        operator(
            "2019-09-27T11:00:00",
            "staff:ceo-1",
            json!({"kind": "approval_given", "incident": INCIDENT, "role": "ceo"}),
            "modelled: approval to reopen crypto withdrawals (date not in the sources)",
        ),
        operator(
            "2019-09-30T10:00:00",
            "staff:ops",
            json!({"kind": "hold_placed", "hold": "cold-wallet-only", "cause": {"incident": INCIDENT},
                   "services": crypto_selectors("withdrawals"), "mode": "delayed",
                   "reason": "cold wallet only: crypto sends settle the next business day or later"}),
            "historical: the recovery plan's cold-wallet-only custody with next-business-day settlement \
             (bitpoint.co.jp plan); placed when withdrawals resumed, end date not in the sources",
        ),
        operator(
            "2019-09-30T10:00:00",
            "staff:ops",
            json!({"kind": "hold_lifted", "hold": "crypto-transfers-suspended",
                   "services": crypto_selectors("withdrawals")}),
            "historical: 2019-09-30 crypto withdrawals resumed (apptimes); time of day modelled",
        ),
        operator(
            "2019-09-30T10:00:00",
            "staff:ops",
            json!({"kind": "hold_lifted", "hold": "all-services-suspended",
                   "services": crypto_selectors("withdrawals")}),
            "historical: 2019-09-30 crypto withdrawals resumed (apptimes); time of day modelled",
        ),
        operator(
            "2019-12-10T17:00:00",
            "staff:ops",
            json!({"kind": "hold_lifted", "hold": "crypto-transfers-suspended"}),
            "historical: ~17:00 JST 2019-12-10 crypto deposits resumed (apptimes)",
        ),
        operator(
            "2019-12-10T17:00:00",
            "staff:ops",
            json!({"kind": "hold_lifted", "hold": "all-services-suspended",
                   "services": crypto_selectors("deposits")}),
            "historical: ~17:00 JST 2019-12-10 crypto deposits resumed; all services back for existing users \
             (apptimes). Onboarding stays held: its reopening date is unverified",
        ),
        operator(
            "2019-12-10T17:00:00",
            "staff:ops",
            json!({"kind": "incident_updated", "incident": INCIDENT, "status": "monitoring"}),
            "modelled: monitoring once existing users have every service back",
        ),
    ]);
    drafts
}

/// The phases of `fixtures/bitpoint-2019/plan.toml`, each with the instant (JST) its gate
/// names: the dates BITPoint reopened each part of the service. A phase marker opens each,
/// before the steps of the same instant, so the state at a marker is the state as the
/// phase begins. (exops-testkit's tests check that these are the plan's phases.)
const PHASES: [(&str, &str); 9] = [
    ("jpy-funding", "2019-08-06T14:00:00"),
    ("margin", "2019-08-09T14:00:00"),
    ("spot-capped", "2019-08-13T10:00:00"),
    ("refunds", "2019-09-12T10:00:00"),
    ("password-reset", "2019-09-17T10:00:00"),
    ("password-reset-done", "2019-09-24T18:00:00"),
    ("controls", "2019-09-25T10:00:00"),
    ("crypto-withdrawals", "2019-09-30T10:00:00"),
    ("crypto-deposits", "2019-12-10T17:00:00"),
];

fn phase_markers() -> Vec<Draft> {
    PHASES
        .iter()
        .map(|(phase, at)| {
            operator(
                at,
                "staff:recovery-lead",
                json!({"kind": "phase_opened", "phase": phase}),
                "modelled: the phase of fixtures/bitpoint-2019/plan.toml that opens here (dated as the plan's gate)",
            )
        })
        .collect()
}

/// Days from 2019-07-01 to 2019-12-31, as (month, day, weekday with Monday = 0).
fn days() -> Vec<(u32, u32, u32)> {
    let lengths = [(7, 31), (8, 31), (9, 30), (10, 31), (11, 30), (12, 31)];
    let mut weekday = 0; // 2019-07-01 was a Monday.
    let mut out = Vec::new();
    for (month, length) in lengths {
        for day in 1..=length {
            out.push((month, day, weekday));
            weekday = (weekday + 1) % 7;
        }
    }
    out
}

fn customer(at: Timestamp, customer: u32, body: Value) -> Draft {
    Draft { at, class: 1, actor: format!("customer:{customer}"), body, note: None, settles: None }
}

fn customer_operations(rng: &mut ChaCha8Rng) -> Vec<Draft> {
    let markets = ["BTC/JPY", "ETH/JPY", "XRP/JPY", "LTC/JPY", "BCH/JPY"];
    let decimals = |code: &str| if code == "XRP" { 6 } else { 8 };
    let mut drafts = Vec::new();
    for (month, day, _) in days() {
        for _ in 0..rng.random_range(2..=6) {
            let second = rng.random_range(0..86_400);
            let at = jst(&format!(
                "2019-{month:02}-{day:02}T{:02}:{:02}:{:02}",
                second / 3600,
                second / 60 % 60,
                second % 60
            ));
            let who = rng.random_range(1..=CUSTOMERS);
            let roll = rng.random_range(0..100);
            let body = match roll {
                0..25 => json!({"kind": "login_attempted"}),
                25..55 => {
                    let order_type = ["market", "limit", "post_only"][rng.random_range(0..3)];
                    let notional = rng.random_range(1..=150) * 10_000;
                    json!({"kind": "order_submitted", "market": markets[rng.random_range(0..5)],
                           "order_type": order_type, "notional_minor": notional})
                }
                55..60 => json!({"kind": "order_cancelled", "market": markets[rng.random_range(0..5)]}),
                60..90 => {
                    let kind = if roll < 75 { "deposit_received" } else { "withdrawal_requested" };
                    if rng.random_range(0..2) == 0 {
                        json!({"kind": kind, "asset": "JPY", "amount_minor": rng.random_range(1..=50) * 10_000})
                    } else {
                        let code = CRYPTO[rng.random_range(0..5)];
                        let amount = rng.random_range(1..=1_000) * 10_i64.pow(decimals(code) - 2);
                        json!({"kind": kind, "asset": code, "amount_minor": amount})
                    }
                }
                90..97 => {
                    let action = ["open", "close"][rng.random_range(0..2)];
                    json!({"kind": "margin_requested", "action": action,
                           "notional_minor": rng.random_range(1..=100) * 10_000})
                }
                _ => json!({"kind": "signup_requested"}),
            };
            drafts.push(customer(at, who, body));
        }
    }
    // The operations the fixture's README points at.
    let btc_withdrawal = json!({"kind": "withdrawal_requested", "asset": "BTC", "amount_minor": 5_000_000});
    drafts.push(customer(jst("2019-07-20T12:00:00"), 7, btc_withdrawal.clone()));
    drafts.push(customer(jst("2019-10-01T12:00:00"), 7, btc_withdrawal));
    drafts.push(customer(
        jst("2019-08-07T09:00:00"),
        8,
        json!({"kind": "withdrawal_requested", "asset": "JPY", "amount_minor": 200_000}),
    ));
    drafts.push(customer(
        jst("2019-08-14T09:00:00"),
        9,
        json!({"kind": "order_submitted", "market": "BTC/JPY", "order_type": "limit", "notional_minor": 3_000_000}),
    ));
    drafts.push(customer(jst("2019-12-11T09:00:00"), 10, json!({"kind": "signup_requested"})));
    drafts
}

/// Next-business-day settlement of delayed crypto withdrawals, 15:00 JST on weekdays.
fn settlements() -> Vec<Draft> {
    let mut drafts = Vec::new();
    for (month, day, weekday) in days() {
        if (month, day) < (10, 1) || weekday >= 5 {
            continue;
        }
        for code in CRYPTO {
            drafts.push(Draft {
                at: jst(&format!("2019-{month:02}-{day:02}T15:00:00")),
                class: 0,
                actor: "system:settlement".to_owned(),
                body: json!({"kind": "withdrawals_settled", "asset": code}),
                note: Some("modelled: next-business-day settlement from the cold wallet".to_owned()),
                settles: Some(code),
            });
        }
    }
    drafts
}

pub fn generate() -> Result<String> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    // Markers first: the sort below is stable, so each comes before the steps of its instant.
    let mut drafts = phase_markers();
    drafts.extend(operator_events());
    drafts.extend(customer_operations(&mut rng));
    drafts.extend(settlements());
    drafts.sort_by_key(|draft| (draft.at, draft.class));

    let mut decoder = LineDecoder::new("fixtures/bitpoint-2019 (generated)");
    let mut writer = Writer::new();
    let mut state = State::new();
    let mut ids: BTreeMap<String, u64> = BTreeMap::new();
    let mut text = String::new();
    for draft in drafts {
        if let Some(code) = draft.settles {
            let venue = state.venue().context("the venue is declared first")?;
            let asset = venue.asset_id(code).context("settled assets are declared")?;
            let queued: u64 = venue
                .transfer_services(ServiceKind::Withdrawals, asset)
                .map(|service| state.impact()[service as usize].backlog_count)
                .sum();
            if queued == 0 {
                continue;
            }
        }
        let id = ids.entry(draft.actor.clone()).or_insert(0);
        *id += 1;
        let Value::Object(body) = draft.body else { bail!("draft bodies are objects") };
        let mut object = serde_json::Map::new();
        object.insert("at".into(), json!(draft.at.to_string()));
        object.insert("id".into(), json!(*id));
        object.insert("actor".into(), json!(draft.actor));
        object.extend(body);
        if let Some(note) = draft.note {
            object.insert("note".into(), json!(note));
        }
        let line = serde_json::to_string(&Value::Object(object))?;
        let envelope: Envelope = decoder.decode(decoder.next_seq(), line.as_bytes())?;
        match state.apply(&envelope) {
            Outcome::Rejected(rejection) => bail!("generated event seq {} is rejected: {rejection}", envelope.seq),
            Outcome::Duplicate { .. } => bail!("generated event seq {} is a duplicate", envelope.seq),
            Outcome::Applied { .. } | Outcome::Customer(_) => {}
        }
        text.push_str(&writer.render(&envelope));
        text.push('\n');
    }
    Ok(text)
}
