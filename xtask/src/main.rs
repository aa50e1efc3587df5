//! Project automation, reached through `cargo xtask …` (an alias in `.cargo/config.toml`).

mod bench;
mod bitpoint;
mod deny;
mod docs_check;
mod fuzz;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  ci                 format check, the testkit's dependencies, clippy (warnings are errors), every
                     test and doc test (the fault loop with 2,000 seeds), fixtures up to date,
                     docs-check
  docs-check         run every command README.md and docs/*.md mark runnable (```text runnable)
                     and compare its output with what the document shows
  testkit-deps       fail if exops-testkit's normal dependencies include the storage stack
  fixtures           regenerate the generated fixtures (fixtures/*/events.jsonl)
  fixtures --check   fail if a generated fixture differs from what the generator writes
  bench [--quick]    run the criterion benchmarks, then the whole-process figures (the release binary:
                     BITPoint at 1,250%, replay peak memory at 4x the log), and print figure, rate,
                     same-run baseline, ratio, the brief's target and whether it is met; writes
                     bench-summary.json in the target directory (--quick: smaller and shorter runs;
                     --summary: only re-print the latest results)
  crash [--iterations N] [--seed S]
                     kill `exops log append` N times (default 1000) at seeded-random moments and check
                     that every acknowledged event survives (the crash test, in release mode)
  fuzz [--seconds N] [--target NAME]
                     run every cargo-fuzz target in fuzz/ for N seconds (default 60) from the seed
                     corpora in fuzz/corpus (needs the nightly toolchain and `cargo install cargo-fuzz`)
  deny               cargo-deny: advisories, licences, bans, sources (deny.toml; needs
                     `cargo install cargo-deny --locked`; says so when advisories cannot be fetched)
  sim-faults [--seeds N] [--seed S]
                     the seeded fault loop of crates/exops-log/tests/it/faults.rs on the simulated disk
                     (failed writes and syncs, short and corrupt reads, crashes that keep, drop, tear or
                     bit-flip unsynced writes), N seeds from 0 (default 10000) or the one seed S, in release";

/// Seeds `cargo xtask ci` runs the fault loop with (in its debug test run).
const CI_SIM_SEEDS: &str = "2000";

pub(crate) fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives one level below the root").to_path_buf()
}

/// The workspace's target directory as cargo resolves it (`CARGO_TARGET_DIR`, a
/// `build.target-dir` setting, or `target/` under the root).
pub(crate) fn target_dir() -> Result<PathBuf> {
    let output = Command::new("cargo")
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(project_root())
        .output()
        .context("cannot run `cargo metadata`")?;
    if !output.status.success() {
        bail!("`cargo metadata` failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("`cargo metadata` printed no JSON")?;
    let dir = metadata["target_directory"].as_str().context("`cargo metadata` names no target_directory")?;
    Ok(PathBuf::from(dir))
}

pub(crate) fn run(program: &str, args: &[&str]) -> Result<()> {
    run_with_env(program, args, &[])
}

fn run_with_env(program: &str, args: &[&str], env: &[(&str, &str)]) -> Result<()> {
    let shown: Vec<String> = env.iter().map(|(key, value)| format!("{key}={value} ")).collect();
    eprintln!("xtask: $ {}{program} {}", shown.concat(), args.join(" "));
    let status = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(project_root())
        .status()
        .with_context(|| format!("cannot start `{program}`"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// Writes (or, with `check`, compares) one generated file.
fn sync(path: &str, text: &str, check: bool) -> Result<()> {
    let target = project_root().join(path);
    if check {
        let current = std::fs::read_to_string(&target).with_context(|| format!("cannot read {path}"))?;
        if current != text {
            bail!(
                "{path} is out of date with its generator in xtask/src: run `cargo xtask fixtures` and review the diff"
            );
        }
        eprintln!("xtask: {path} is up to date");
    } else {
        std::fs::write(&target, text).with_context(|| format!("cannot write {path}"))?;
        eprintln!("xtask: wrote {path}");
    }
    Ok(())
}

fn fixtures(check: bool) -> Result<()> {
    sync("fixtures/bitpoint-2019/events.jsonl", &bitpoint::generate()?, check)
}

/// The crash test of `crates/exops-cli/tests/it/crash.rs`, in release mode, with its
/// iteration count (and optionally its seed) passed through the environment.
fn crash(iterations: u64, seed: Option<&str>) -> Result<()> {
    if iterations == 0 {
        bail!("--iterations must be at least 1");
    }
    let args = ["test", "--release", "--locked", "-p", "exops-cli", "--test", "it", "crash::", "--", "--nocapture"];
    eprintln!("xtask: $ EXOPS_CRASH_ITERATIONS={iterations} cargo {}", args.join(" "));
    let mut command = Command::new("cargo");
    command.args(args).current_dir(project_root()).env("EXOPS_CRASH_ITERATIONS", iterations.to_string());
    if let Some(seed) = seed {
        command.env("EXOPS_CRASH_SEED", seed);
    }
    let status = command.status().context("cannot start `cargo`")?;
    if !status.success() {
        bail!("the crash test failed ({status})");
    }
    Ok(())
}

/// Parses a seed: decimal, or hexadecimal after `0x`.
fn check_seed(value: &str) -> Result<()> {
    let parsed = match value.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).is_ok(),
        None => value.parse::<u64>().is_ok(),
    };
    if !parsed {
        bail!("--seed {value}: not a whole number (decimal, or hexadecimal after `0x`)");
    }
    Ok(())
}

/// The fault loop of `crates/exops-log/tests/it/faults.rs` in release mode.
fn sim_faults(args: &[&str]) -> Result<()> {
    let mut seeds = "10000".to_owned();
    let mut seed = None;
    let mut rest = args;
    while let [flag, value, tail @ ..] = rest {
        match *flag {
            "--seeds" => {
                let count: u64 = value.parse().with_context(|| format!("--seeds {value}: not a whole number"))?;
                if count == 0 {
                    bail!("--seeds must be at least 1");
                }
                seeds = count.to_string();
            }
            "--seed" => {
                check_seed(value)?;
                seed = Some(*value);
            }
            _ => bail!("unknown option `{flag}`\n{USAGE}"),
        }
        rest = tail;
    }
    if !rest.is_empty() {
        bail!("`{}` needs a value\n{USAGE}", rest[0]);
    }
    let args = ["test", "--release", "--locked", "-p", "exops-log", "--test", "it", "faults::", "--", "--nocapture"];
    let mut env = vec![("EXOPS_SIM_SEEDS", seeds.as_str())];
    if let Some(seed) = seed {
        env.push(("EXOPS_SIM_SEED", seed));
    }
    run_with_env("cargo", &args, &env).context("the fault loop failed: its message names the seed")
}

fn crash_args(args: &[&str]) -> Result<()> {
    let mut iterations = 1000;
    let mut seed = None;
    let mut rest = args;
    while let [flag, value, tail @ ..] = rest {
        match *flag {
            "--iterations" => {
                iterations = value.parse().with_context(|| format!("--iterations {value}: not a whole number"))?;
            }
            "--seed" => {
                check_seed(value)?;
                seed = Some(*value);
            }
            _ => bail!("unknown option `{flag}`\n{USAGE}"),
        }
        rest = tail;
    }
    if !rest.is_empty() {
        bail!("`{}` needs a value\n{USAGE}", rest[0]);
    }
    crash(iterations, seed)
}

/// exops-testkit must build without the storage stack (issue 10): no crate of it in its
/// normal dependency tree.
fn testkit_dependencies() -> Result<()> {
    eprintln!("xtask: $ cargo tree -p exops-testkit -e normal --prefix none");
    let output = Command::new("cargo")
        .args(["tree", "-p", "exops-testkit", "-e", "normal", "--prefix", "none", "--locked"])
        .current_dir(project_root())
        .output()
        .context("cannot start `cargo tree`")?;
    if !output.status.success() {
        bail!("`cargo tree -p exops-testkit` failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let tree = String::from_utf8(output.stdout).context("`cargo tree` printed something that is not UTF-8")?;
    let storage: std::collections::BTreeSet<&str> = tree
        .lines()
        .filter(|line| {
            ["sled ", "crossbeam", "blake3 ", "wincode ", "exops-log "].iter().any(|name| line.starts_with(name))
        })
        .collect();
    if !storage.is_empty() {
        bail!("exops-testkit depends on the storage stack: {}", storage.into_iter().collect::<Vec<_>>().join(", "));
    }
    eprintln!(
        "xtask: exops-testkit builds no storage crate ({} crates)",
        tree.lines().collect::<std::collections::BTreeSet<_>>().len()
    );
    Ok(())
}

fn ci() -> Result<()> {
    run("cargo", &["fmt", "--all", "--check"])?;
    testkit_dependencies()?;
    // The crates that ship build on exops-log's boundary alone: its `internals` feature is
    // enabled only by dev-dependencies and the benchmarks, which a workspace-wide build
    // would unify into every crate.
    run(
        "cargo",
        &["check", "--locked", "-p", "exops-cli", "-p", "exops-nats", "-p", "exops-sim", "-p", "exops-replay"],
    )?;
    run("cargo", &["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"])?;
    // Thousands of seeds of the fault loop ride along in the one debug test run.
    run_with_env("cargo", &["test", "--workspace", "--all-targets", "--locked"], &[("EXOPS_SIM_SEEDS", CI_SIM_SEEDS)])?;
    run("cargo", &["test", "--workspace", "--doc", "--locked"])?;
    fixtures(true)?;
    docs_check::docs_check(&project_root())?;
    eprintln!("xtask: ci passed");
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["ci"] => ci(),
        ["testkit-deps"] => testkit_dependencies(),
        ["docs-check"] => docs_check::docs_check(&project_root()),
        ["fixtures"] => fixtures(false),
        ["fixtures", "--check"] => fixtures(true),
        ["crash", rest @ ..] => crash_args(rest),
        ["sim-faults", rest @ ..] => sim_faults(rest),
        ["fuzz", rest @ ..] => fuzz::fuzz_args(&project_root(), rest),
        ["deny"] => deny::deny(&project_root()),
        ["bench"] => bench::bench(false, false),
        ["bench", "--quick"] => bench::bench(true, false),
        ["bench", "--summary"] => bench::bench(false, true),
        ["-h" | "--help" | "help"] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    }
}
