//! The scenario parser over arbitrary text (which also folds the scenario's own events
//! through the state machine at load): an error or a scenario, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = exops_sim::scenario::Scenario::parse("fuzz.toml", text);
});
