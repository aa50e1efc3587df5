//! `cargo xtask deny`: cargo-deny over the dependency tree (`deny.toml`, ADR 0005). The
//! advisory database is fetched when it can be; where it cannot (a machine that reaches
//! only the package registries), licences, bans and sources are still checked and the
//! command says that advisories were not.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

fn advisory_dbs() -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"));
    home.join("advisory-dbs")
}

/// Whether a copy of an advisory database is on this machine.
fn has_database(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut entries| entries.any(|entry| entry.is_ok_and(|entry| entry.path().is_dir())))
}

fn cargo_deny(root: &Path, args: &[&str]) -> Result<bool> {
    eprintln!("xtask: $ cargo deny {}", args.join(" "));
    let status = Command::new("cargo")
        .arg("deny")
        .args(args)
        .current_dir(root)
        .status()
        .context("cannot start `cargo deny` (install it with `cargo install cargo-deny --locked`)")?;
    Ok(status.success())
}

pub fn deny(root: &Path) -> Result<()> {
    let dbs = advisory_dbs();
    if !has_database(&dbs) && !cargo_deny(root, &["fetch", "db"])? {
        eprintln!(
            "xtask: the advisory database cannot be fetched and there is no copy in {}: checking licences, \
             bans and sources only; advisories were NOT checked",
            dbs.display()
        );
        if !cargo_deny(root, &["--offline", "check", "licenses", "bans", "sources"])? {
            bail!("cargo deny found a problem (deny.toml, docs/adr/0005-supply-chain.md)");
        }
        return Ok(());
    }
    if !cargo_deny(root, &["--offline", "check"])? {
        bail!("cargo deny found a problem (deny.toml, docs/adr/0005-supply-chain.md)");
    }
    eprintln!("xtask: advisories, bans, licences and sources check");
    Ok(())
}
