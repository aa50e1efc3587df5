//! The plan parser over arbitrary text: an error or a plan, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = exops_sim::plan::Plan::parse("fuzz.toml", text);
});
