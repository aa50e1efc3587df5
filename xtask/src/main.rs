//! Project automation, reached through `cargo xtask …` (an alias in `.cargo/config.toml`).

mod bitpoint;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  ci                 format check, clippy (warnings are errors), every test, fixtures up to date
  fixtures           regenerate the generated fixtures (fixtures/*/events.jsonl)
  fixtures --check   fail if a generated fixture differs from what the generator writes";

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives one level below the root").to_path_buf()
}

fn run(program: &str, args: &[&str]) -> Result<()> {
    eprintln!("xtask: $ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
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

fn ci() -> Result<()> {
    run("cargo", &["fmt", "--all", "--check"])?;
    run("cargo", &["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"])?;
    run("cargo", &["test", "--workspace", "--all-targets", "--locked"])?;
    run("cargo", &["test", "--workspace", "--doc", "--locked"])?;
    fixtures(true)?;
    eprintln!("xtask: ci passed");
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["ci"] => ci(),
        ["fixtures"] => fixtures(false),
        ["fixtures", "--check"] => fixtures(true),
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
