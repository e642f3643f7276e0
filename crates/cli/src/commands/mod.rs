//! One short handler per command; each calls the engine and prints.

mod containers;
mod images;
mod lifecycle;
mod logs;
mod network;
mod observe;
mod run;
mod volume;

use crate::cli::{Command, ContainerCommand, ImageCommand};
use mydocker_engine::Engine;

/// Runs a command; returns the process exit code.
pub fn dispatch(engine: &Engine, command: Command, default_network: &str) -> anyhow::Result<i32> {
    match command {
        Command::Run(args) => run::run(engine, *args, default_network),
        Command::Ps(args) => containers::ps(engine, args),
        Command::Exec(args) => run::exec(engine, args),
        Command::Logs(args) => logs::logs(engine, args),
        Command::Start(args) => lifecycle::start(engine, args),
        Command::Stop(args) => lifecycle::stop(engine, args),
        Command::Restart(args) => lifecycle::restart(engine, args),
        Command::Kill(args) => lifecycle::kill(engine, args),
        Command::Rm(args) => lifecycle::rm(engine, args),
        Command::Wait(args) => lifecycle::wait(engine, args),
        Command::Inspect(args) => containers::inspect(engine, args),
        Command::Attach(args) => lifecycle::attach(engine, args),
        Command::Pause(args) => lifecycle::pause(engine, args),
        Command::Unpause(args) => lifecycle::unpause(engine, args),
        Command::Rename(args) => lifecycle::rename(engine, args),
        Command::Top(args) => observe::top(engine, args),
        Command::Stats(args) => observe::stats(engine, args),
        Command::Container(c) => match c.command {
            ContainerCommand::Prune { .. } => lifecycle::prune(engine),
            ContainerCommand::Ls(args) => containers::ps(engine, args),
        },
        Command::Network(args) => network::network(engine, args.command),
        Command::Port(args) => network::port(engine, args),
        Command::Volume(args) => volume::volume(engine, args.command),
        Command::Cp(args) => volume::cp(engine, args),
        Command::System(s) => match s.command {
            crate::cli::SystemCommand::Reset { force } => {
                if !force {
                    anyhow::bail!(
                        "system reset removes everything under this root; pass -f to confirm"
                    );
                }
                engine.reset()?;
                Ok(0)
            }
        },
        Command::Import(args) => images::import(engine, args),
        Command::Images(args) => images::images(engine, args),
        Command::Load(args) => images::load(engine, args),
        Command::Save(args) => images::save(engine, args),
        Command::Tag(args) => images::tag(engine, args),
        Command::Rmi(args) => images::rmi(engine, args),
        Command::History(args) => images::history(engine, args),
        Command::Commit(args) => images::commit(engine, args),
        Command::Export(args) => images::export(engine, args),
        Command::Image(a) => match a.command {
            ImageCommand::Ls(args) => images::images(engine, args),
            ImageCommand::Inspect {
                format,
                images: names,
            } => images::inspect(engine, &names, format.as_deref()),
            ImageCommand::Prune { all, .. } => images::prune(engine, all),
            ImageCommand::Rm(args) => images::rmi(engine, args),
            ImageCommand::History(args) => images::history(engine, args),
            ImageCommand::Tag(args) => images::tag(engine, args),
            ImageCommand::Import(args) => images::import(engine, args),
            ImageCommand::Load(args) => images::load(engine, args),
            ImageCommand::Save(args) => images::save(engine, args),
        },
    }
}

/// Runs `f` for each named container, printing the name on success and Docker's
/// `Error response from daemon: ...` line on failure; exit code 1 if any failed.
pub fn for_each(names: &[String], mut f: impl FnMut(&str) -> mydocker_engine::Result<()>) -> i32 {
    let mut code = 0;
    for name in names {
        match f(name) {
            Ok(()) => println!("{name}"),
            Err(e) => {
                eprintln!("Error response from daemon: {e}");
                code = 1;
            }
        }
    }
    code
}

/// Prints `inspect` results: a JSON array, or each value through a `--format` template.
pub fn print_inspected(values: &[serde_json::Value], format: Option<&str>) -> anyhow::Result<()> {
    match format {
        None => println!("{}", serde_json::to_string_pretty(values)?),
        Some(t) => {
            for v in values {
                println!(
                    "{}",
                    crate::template::render(t, v).map_err(|e| anyhow::anyhow!(e))?
                );
            }
        }
    }
    Ok(())
}
