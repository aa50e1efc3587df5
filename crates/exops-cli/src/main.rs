//! `exops`: replay, inspect and check exchange-operations event logs, keep them durable,
//! and simulate recovery plans. Every decision is the libraries'; this crate parses
//! arguments (cli.rs), runs the command, and maps failures to exit codes (failure.rs).

mod cli;
mod failure;
mod log_commands;
mod nats_commands;
mod output;
mod replay_commands;
mod sim_commands;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::cli::{Cli, Command, FleetCommand, LogCommand, ReportFormat};
use crate::failure::Failure;

fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Replay { source, at, format } => replay_commands::replay(&source, at, format),
        Command::Timeline { source, services, at, format } => replay_commands::timeline(&source, &services, at, format),
        Command::Check { source, strict, format } => replay_commands::check_command(&source, strict, format),
        Command::Simulate {
            scenario,
            plan,
            seed,
            scale,
            branch_from,
            branch_at,
            log_out,
            report,
            mermaid,
            format,
            strict,
            runs,
        } => sim_commands::simulate(sim_commands::SimulateArgs {
            scenario,
            plan,
            seed,
            scale_percent: scale,
            branch_from,
            branch_at,
            log_out,
            report,
            mermaid,
            json: format == ReportFormat::Json,
            strict,
            runs,
        }),
        Command::Compare {
            scenario,
            plans,
            seed,
            scale,
            branch_from,
            branch_at,
            report,
            mermaid,
            format,
            strict,
            runs,
        } => sim_commands::compare(sim_commands::CompareArgs {
            scenario,
            plans,
            seed,
            scale_percent: scale,
            branch_from,
            branch_at,
            report,
            mermaid,
            json: format == ReportFormat::Json,
            strict,
            runs,
        }),
        Command::Gen { events, seed, data_dir, format } => {
            log_commands::generate(&data_dir, events, seed, format == ReportFormat::Json)
        }
        Command::Lint { plan, scenario, format } => {
            sim_commands::lint(&plan, scenario.as_deref(), format == ReportFormat::Json)
        }
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "exops", &mut script);
            output::emit(&String::from_utf8_lossy(&script))
        }
        Command::Serve { target, data_dir, replicas, no_stdin, format } => {
            nats_commands::serve(&target, &data_dir, replicas, no_stdin, format == ReportFormat::Json)
        }
        Command::Fleet(FleetCommand::Status { target, data_dir, format }) => {
            nats_commands::fleet_status(&target, &data_dir, format == ReportFormat::Json)
        }
        Command::Log(command) => match command {
            LogCommand::Init { data_dir, format } => log_commands::init(&data_dir, format == ReportFormat::Json),
            LogCommand::Import { file, data_dir, snapshot_every, format } => {
                log_commands::import(&data_dir, &file, snapshot_every, format == ReportFormat::Json)
            }
            LogCommand::Export { data_dir, from_seq, to_seq, format } => {
                log_commands::export(&data_dir, from_seq, to_seq, format)
            }
            LogCommand::Append { data_dir, snapshot_every, format } => {
                log_commands::append(&data_dir, snapshot_every, format == ReportFormat::Json)
            }
            LogCommand::Verify { data_dir, expect_head, format } => {
                log_commands::verify(&data_dir, expect_head.as_ref(), format == ReportFormat::Json)
            }
            LogCommand::Head { data_dir, format } => log_commands::head(&data_dir, format == ReportFormat::Json),
            LogCommand::Stats { data_dir, format } => log_commands::stats(&data_dir, format == ReportFormat::Json),
            LogCommand::Push { target, data_dir, replicas, format } => {
                nats_commands::push(&target, &data_dir, replicas, format == ReportFormat::Json)
            }
            LogCommand::Claim { target, data_dir, format } => {
                nats_commands::claim(&target, &data_dir, format == ReportFormat::Json)
            }
            LogCommand::Follow { target, data_dir, until_head, name, format } => {
                nats_commands::follow(&target, &data_dir, until_head, name.as_deref(), format == ReportFormat::Json)
            }
        },
    }
}

/// Whether the raw arguments ask for JSON: clap's own errors come before a command
/// exists to ask.
fn args_want_json() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.windows(2).any(|pair| pair[0] == "--format" && pair[1] == "json")
        || args.iter().any(|arg| arg == "--format=json")
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let is_usage_error = error.use_stderr();
            if is_usage_error && args_want_json() {
                // clap's message up to its usage line, as one sentence.
                let rendered = error.render().to_string();
                let message: Vec<&str> = rendered
                    .lines()
                    .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more information"))
                    .map(str::trim)
                    .filter(|line| !line.is_empty())
                    .collect();
                let message = message.join(" ");
                eprintln!("{}", Failure::usage(message.trim_start_matches("error: ")).to_json());
                return ExitCode::from(failure::Code::Usage.exit());
            }
            // --help and --version print to standard output and exit 0; usage errors exit 2.
            error.exit();
        }
    };
    let json = cli.command.wants_json();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if json {
                eprintln!("{}", failure.to_json());
            } else if !failure.shown {
                eprintln!("exops: error: {}", failure.message);
            }
            ExitCode::from(failure.code.exit())
        }
    }
}
