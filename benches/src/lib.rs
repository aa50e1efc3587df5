//! Shared by the benchmarks: the seeded synthetic workload, and the size of a run.

use exops_core::Envelope;

/// The first `count` events of the seeded synthetic log (`exops gen`'s events).
pub fn workload(count: usize, seed: u64) -> Vec<Envelope> {
    exops_sim::generate::Generator::new(seed).take(count).collect()
}

/// `cargo xtask bench --quick` sets `EXOPS_BENCH_QUICK=1` to run smaller sizes.
pub fn quick() -> bool {
    std::env::var_os("EXOPS_BENCH_QUICK").is_some()
}
