//! A user's snapshot tests, written against exops-testkit's public API alone.

mod hand_written;
mod phases;
mod simulated;

/// A path in the exops repository, from this crate.
fn repository(relative: &str) -> String {
    format!("{}/../../{relative}", env!("CARGO_MANIFEST_DIR"))
}
