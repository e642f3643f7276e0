//! `mydocker ps` and `mydocker rm` (the lifecycle issue grows these).

use crate::cli::{PsArgs, RmArgs};
use crate::table;
use mydocker_engine::{Engine, Status};

pub fn ps(engine: &Engine, args: PsArgs) -> anyhow::Result<i32> {
    let list: Vec<_> = engine
        .containers()?
        .into_iter()
        .filter(|c| args.all || c.state.status == Status::Running)
        .collect();
    let id = |id: &str| {
        if args.no_trunc {
            id.to_string()
        } else {
            id[..12.min(id.len())].to_string()
        }
    };
    if args.quiet {
        for c in &list {
            println!("{}", id(&c.id));
        }
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|c| {
            let status = match c.state.status {
                Status::Exited => format!("Exited ({})", c.state.exit_code),
                Status::Running => "Up".to_string(),
                Status::Created => "Created".to_string(),
            };
            vec![
                id(&c.id),
                c.image.clone(),
                format!("\"{}\"", c.args.join(" ")),
                c.created.clone(),
                status,
                String::new(),
                c.name.clone(),
            ]
        })
        .collect();
    table::print(
        &[
            "CONTAINER ID",
            "IMAGE",
            "COMMAND",
            "CREATED",
            "STATUS",
            "PORTS",
            "NAMES",
        ],
        &rows,
    );
    Ok(0)
}

pub fn rm(engine: &Engine, args: RmArgs) -> anyhow::Result<i32> {
    let mut failed = false;
    for name in &args.containers {
        match engine.remove_container(name) {
            Ok(_) => println!("{name}"),
            Err(e) => {
                eprintln!("Error response from daemon: {e}");
                failed = true;
            }
        }
    }
    Ok(if failed { 1 } else { 0 })
}
