//! `start`, `stop`, `restart`, `kill`, `rm`, `wait`, `attach`, `pause`, `unpause`,
//! `rename`, `container prune`.

use super::for_each;
use crate::cli::{AttachArgs, ContainersArgs, KillArgs, RenameArgs, RmArgs, StartArgs, StopArgs};
use mydocker_engine::{ClientOptions, Engine, RunResult};

pub fn start(engine: &Engine, args: StartArgs) -> anyhow::Result<i32> {
    if args.attach || args.interactive {
        if args.containers.len() > 1 {
            anyhow::bail!("you cannot start and attach multiple containers at once");
        }
        let rec = engine.find_container(&args.containers[0])?;
        let client = ClientOptions {
            tty: rec.config.tty,
            stdin: args.interactive && rec.config.interactive,
            sig_proxy: true,
        };
        return Ok(match engine.start(&args.containers[0], Some(client))? {
            RunResult::Exited(code) => code,
            _ => 0,
        });
    }
    Ok(for_each(&args.containers, |c| {
        engine.start(c, None).map(|_| ())
    }))
}

pub fn stop(engine: &Engine, args: StopArgs) -> anyhow::Result<i32> {
    Ok(for_each(&args.containers, |c| {
        engine.stop(c, args.timeout, args.signal.as_deref())
    }))
}

pub fn restart(engine: &Engine, args: StopArgs) -> anyhow::Result<i32> {
    Ok(for_each(&args.containers, |c| {
        engine.restart(c, args.timeout, args.signal.as_deref())
    }))
}

pub fn kill(engine: &Engine, args: KillArgs) -> anyhow::Result<i32> {
    Ok(for_each(&args.containers, |c| engine.kill(c, &args.signal)))
}

pub fn rm(engine: &Engine, args: RmArgs) -> anyhow::Result<i32> {
    Ok(for_each(&args.containers, |c| {
        engine.remove(c, args.force, args.volumes).map(|_| ())
    }))
}

pub fn wait(engine: &Engine, args: ContainersArgs) -> anyhow::Result<i32> {
    let mut code = 0;
    for c in &args.containers {
        match engine.wait(c) {
            Ok(exit) => println!("{exit}"),
            Err(e) => {
                eprintln!("Error response from daemon: {e}");
                code = 1;
            }
        }
    }
    Ok(code)
}

pub fn attach(engine: &Engine, args: AttachArgs) -> anyhow::Result<i32> {
    let rec = engine.find_container(&args.container)?;
    let client = ClientOptions {
        tty: rec.config.tty,
        stdin: !args.no_stdin && rec.config.interactive,
        sig_proxy: args.sig_proxy,
    };
    Ok(match engine.attach(&args.container, client)? {
        RunResult::Exited(code) => code,
        _ => 0,
    })
}

pub fn pause(engine: &Engine, args: ContainersArgs) -> anyhow::Result<i32> {
    Ok(for_each(&args.containers, |c| engine.pause(c)))
}

pub fn unpause(engine: &Engine, args: ContainersArgs) -> anyhow::Result<i32> {
    Ok(for_each(&args.containers, |c| engine.unpause(c)))
}

pub fn rename(engine: &Engine, args: RenameArgs) -> anyhow::Result<i32> {
    engine.rename(&args.container, &args.new_name)?;
    Ok(0)
}

pub fn prune(engine: &Engine) -> anyhow::Result<i32> {
    let removed = engine.prune_containers()?;
    if !removed.is_empty() {
        println!("Deleted Containers:");
        for id in &removed {
            println!("{id}");
        }
        println!();
    }
    println!("Total reclaimed space: 0B");
    Ok(0)
}
