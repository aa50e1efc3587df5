//! Nothing but tests: see `tests/it/`. A user's crate would have its own code here.
