//! `mydocker volume ...` and `mydocker cp`.

use crate::cli::{CpArgs, VolumeCommand};
use crate::table;
use mydocker_engine::{CpPath, Engine};
use serde_json::json;

pub fn volume(engine: &Engine, cmd: VolumeCommand) -> anyhow::Result<i32> {
    match cmd {
        VolumeCommand::Create { name } => {
            let v = engine.create_volume(name.as_deref(), false)?;
            println!("{}", v.name);
        }
        VolumeCommand::Ls { quiet } => {
            let list = engine.volumes()?;
            if quiet {
                for v in &list {
                    println!("{}", v.name);
                }
            } else {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|v| vec!["local".to_string(), v.name.clone()])
                    .collect();
                table::print(&["DRIVER", "VOLUME NAME"], &rows);
            }
        }
        VolumeCommand::Inspect { format, volumes } => {
            let mut out = Vec::new();
            let mut code = 0;
            for name in &volumes {
                match engine.inspect_volume(name) {
                    Ok(v) => out.push(json!({
                        "CreatedAt": v.created,
                        "Driver": "local",
                        "Labels": v.labels,
                        "Mountpoint": engine.volume_data(&v.name),
                        "Name": v.name,
                        "Options": null,
                        "Scope": "local",
                    })),
                    Err(_) => {
                        eprintln!("Error: No such volume: {name}");
                        code = 1;
                    }
                }
            }
            super::print_inspected(&out, format.as_deref())?;
            return Ok(code);
        }
        VolumeCommand::Rm { force, volumes } => {
            return Ok(super::for_each(&volumes, |v| {
                engine.remove_volume(v, force)
            }));
        }
        VolumeCommand::Prune { all, .. } => {
            let removed = engine.prune_volumes(all)?;
            if !removed.is_empty() {
                println!("Deleted Volumes:");
                for v in removed {
                    println!("{v}");
                }
                println!();
            }
            println!("Total reclaimed space: 0B");
        }
    }
    Ok(0)
}

pub fn cp(engine: &Engine, args: CpArgs) -> anyhow::Result<i32> {
    engine.copy(&CpPath::parse(&args.src), &CpPath::parse(&args.dst))?;
    Ok(0)
}
