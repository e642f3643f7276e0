//! `mydocker`: a Docker-compatible command line over the mydocker engine.
//!
//! This binary is glue: it parses the user's words (clap), calls one engine function per
//! command, prints the result, and decides the exit code in one place (Docker's: the
//! container's own code for `run`, 125 when the engine fails, 126/127 when the command
//! cannot be executed or found).

mod book_flags;
mod cli;
mod commands;
mod table;
mod template;
mod units;

use clap::{CommandFactory, FromArgMatches};
use cli::Cli;
use mydocker_engine::{Engine, EngineError, Layout};
use std::process::ExitCode;

/// Exit code when the engine itself fails (Docker's).
const ENGINE_FAILURE: u8 = 125;

fn main() -> ExitCode {
    // A container's monitor is this binary, re-executed: it must not parse flags.
    let mut args = std::env::args_os();
    if args.nth(1).as_deref() == Some(std::ffi::OsStr::new(mydocker_engine::monitor::MONITOR_ARG)) {
        let root = args.next().unwrap_or_default().into();
        let exec_root = args.next().unwrap_or_default().into();
        if let Ok(level) = std::env::var("MYDOCKER_LOG_LEVEL") {
            init_logging(&level);
        }
        return ExitCode::from(mydocker_engine::monitor::main(root, exec_root) as u8);
    }
    let command = Cli::command();
    let argv = book_flags::rewrite(std::env::args_os().collect(), &command);
    let cli = match command
        .try_get_matches_from(argv)
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    init_logging(&cli.log_level);
    // `run` exits with Docker's engine codes (125/126/127); every other command, like
    // Docker's, exits 1 when the engine refuses ("Error response from daemon: ...").
    let is_run = matches!(cli.command, cli::Command::Run(_));
    match run(cli) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) if !is_run && e.downcast_ref::<EngineError>().is_some() => {
            eprintln!("Error response from daemon: {}", one_line(&e.to_string()));
            ExitCode::from(1)
        }
        Err(e) => {
            let code = e
                .downcast_ref::<EngineError>()
                .map(|e| e.exit_code())
                .unwrap_or(ENGINE_FAILURE as i32);
            // Every error type of the workspace already ends its message with its cause
            // ("write ...: Device or resource busy"); `{e:#}` would append each cause again.
            eprintln!("mydocker: {}", one_line(&e.to_string()));
            ExitCode::from(code as u8)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    let root = cli.root.clone();
    let exec_root = cli.exec_root.clone().unwrap_or_else(|| {
        if root == std::path::Path::new(mydocker_engine::layout::DEFAULT_ROOT) {
            mydocker_engine::layout::DEFAULT_EXEC_ROOT.into()
        } else {
            root.join("run")
        }
    });
    let engine = Engine::open(Layout::new(root, exec_root))?;
    commands::dispatch(&engine, cli.command, &cli.bridge)
}

/// clap's errors are several lines with usage; ours are one line, exit 125 like Docker's
/// flag errors. Help and version are not errors.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::from(ENGINE_FAILURE)
        }
        _ => {
            let text = e.render().to_string();
            let first = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments");
            eprintln!("mydocker: {}", first.trim_start_matches("error: "));
            ExitCode::from(ENGINE_FAILURE)
        }
    }
}

fn one_line(s: &str) -> String {
    s.lines().map(str::trim).collect::<Vec<_>>().join(" ")
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(format!(
        "{level},mydocker_runtime={level},mydocker_engine={level}"
    ))
    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
