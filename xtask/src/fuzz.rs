//! `cargo xtask fuzz`: every cargo-fuzz target in `fuzz/`, each for a bounded time, from
//! the seed corpora kept in the repository (`fuzz/corpus/TARGET`). What the fuzzer finds
//! new goes to `target/fuzz-corpus/TARGET`, so a run never changes the repository; a
//! crash leaves its input in `fuzz/artifacts/TARGET/` and fails the command.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The targets, in the order they run (the names of `fuzz/fuzz_targets/*.rs`).
fn targets(root: &Path) -> Result<Vec<String>> {
    let dir = root.join("fuzz/fuzz_targets");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| entry.path().file_stem().map(|stem| stem.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    Ok(names)
}

/// Whether `cargo +nightly fuzz` can run here.
fn cargo_fuzz_available() -> bool {
    Command::new("cargo").args(["+nightly", "fuzz", "--version"]).output().is_ok_and(|output| output.status.success())
}

pub fn fuzz(root: &Path, seconds: u64, only: Option<&str>) -> Result<()> {
    if seconds == 0 {
        bail!("--seconds must be at least 1");
    }
    if !cargo_fuzz_available() {
        bail!(
            "`cargo +nightly fuzz` is not available: install it with `cargo install cargo-fuzz --locked` \
             (the nightly toolchain must be installed too: `rustup toolchain list`)"
        );
    }
    let all = targets(root)?;
    let chosen: Vec<&String> = match only {
        Some(name) => {
            let found: Vec<&String> = all.iter().filter(|target| *target == name).collect();
            if found.is_empty() {
                bail!("no fuzz target `{name}`; targets: {}", all.join(", "));
            }
            found
        }
        None => all.iter().collect(),
    };
    for target in chosen {
        let scratch = crate::target_dir()?.join("fuzz-corpus").join(target);
        std::fs::create_dir_all(&scratch).with_context(|| format!("cannot create {}", scratch.display()))?;
        let seeds = root.join("fuzz/corpus").join(target);
        let max_time = format!("-max_total_time={seconds}");
        let args = [
            "+nightly",
            "fuzz",
            "run",
            target.as_str(),
            scratch.to_str().context("the target directory is not UTF-8")?,
            seeds.to_str().context("the corpus directory is not UTF-8")?,
            "--",
            max_time.as_str(),
            "-rss_limit_mb=2048",
            "-max_len=65536",
        ];
        eprintln!("xtask: $ cargo {}", args.join(" "));
        let status = Command::new("cargo")
            .args(args)
            .current_dir(root.join("fuzz"))
            .status()
            .context("cannot start `cargo fuzz`")?;
        if !status.success() {
            bail!("fuzz target `{target}` failed ({status}); its input is under fuzz/artifacts/{target}/");
        }
    }
    eprintln!("xtask: every fuzz target ran {seconds} s without a finding");
    Ok(())
}

pub fn fuzz_args(root: &Path, args: &[&str]) -> Result<()> {
    let mut seconds = 60;
    let mut only = None;
    let mut rest = args;
    while let [flag, value, tail @ ..] = rest {
        match *flag {
            "--seconds" => seconds = value.parse().with_context(|| format!("--seconds {value}: not a whole number"))?,
            "--target" => only = Some(*value),
            _ => bail!("unknown option `{flag}`; `cargo xtask fuzz [--seconds N] [--target NAME]`"),
        }
        rest = tail;
    }
    if let [flag] = rest {
        bail!("`{flag}` needs a value; `cargo xtask fuzz [--seconds N] [--target NAME]`");
    }
    fuzz(root, seconds, only)
}
