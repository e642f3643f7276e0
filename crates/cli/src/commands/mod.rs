//! One short handler per command; each calls the engine and prints.

mod containers;
mod images;
mod run;

use crate::cli::Command;
use mydocker_engine::Engine;

/// Runs a command; returns the process exit code.
pub fn dispatch(engine: &Engine, command: Command) -> anyhow::Result<i32> {
    match command {
        Command::Run(args) => run::run(engine, *args),
        Command::Import(args) => images::import(engine, args),
        Command::Images(args) => images::images(engine, args),
        Command::Ps(args) => containers::ps(engine, args),
        Command::Rm(args) => containers::rm(engine, args),
    }
}
