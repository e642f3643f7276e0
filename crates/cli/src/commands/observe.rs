//! `mydocker top` and `mydocker stats`.

use crate::cli::{StatsArgs, TopArgs};
use crate::{table, units};
use mydocker_engine::{ContainerRecord, Engine};
use std::time::{Duration, Instant};

pub fn top(engine: &Engine, args: TopArgs) -> anyhow::Result<i32> {
    let (header, rows) = engine.top(&args.container, &args.ps_args)?;
    println!("{header}");
    for r in rows {
        println!("{r}");
    }
    Ok(0)
}

struct Sample {
    at: Instant,
    cpu_ns: u64,
}

pub fn stats(engine: &Engine, args: StatsArgs) -> anyhow::Result<i32> {
    let select = |engine: &Engine| -> anyhow::Result<Vec<ContainerRecord>> {
        if args.containers.is_empty() {
            Ok(engine
                .containers()?
                .into_iter()
                .filter(|c| args.all || c.state.status.is_active())
                .collect())
        } else {
            args.containers
                .iter()
                .map(|c| engine.find_container(c).map_err(Into::into))
                .collect()
        }
    };
    let host_memory = host_memory_bytes();
    let mut previous: std::collections::HashMap<String, Sample> = Default::default();
    loop {
        let list = select(engine)?;
        // CPU % needs two readings: take the first, wait, then show the difference.
        if previous.is_empty() {
            for c in &list {
                if let Ok(s) = engine.stats(c) {
                    previous.insert(
                        c.id.clone(),
                        Sample {
                            at: Instant::now(),
                            cpu_ns: s.cpu_usage_ns,
                        },
                    );
                }
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        let mut rows = Vec::new();
        for c in &list {
            let id = if args.no_trunc {
                c.id.clone()
            } else {
                c.id[..12].to_string()
            };
            let Some(s) = engine.stats(c).ok().filter(|_| c.state.status.is_active()) else {
                rows.push(vec![
                    id,
                    c.name.clone(),
                    "0.00%".into(),
                    "0B / 0B".into(),
                    "0.00%".into(),
                    "0B / 0B".into(),
                    "0B / 0B".into(),
                    "0".into(),
                ]);
                continue;
            };
            let now = Instant::now();
            let cpu = previous
                .get(&c.id)
                .map(|p| {
                    let wall = now.duration_since(p.at).as_nanos().max(1) as f64;
                    s.cpu_usage_ns.saturating_sub(p.cpu_ns) as f64 / wall * 100.0
                })
                .unwrap_or(0.0);
            previous.insert(
                c.id.clone(),
                Sample {
                    at: now,
                    cpu_ns: s.cpu_usage_ns,
                },
            );
            let limit = s
                .memory_limit
                .unwrap_or(host_memory)
                .min(host_memory.max(1));
            rows.push(vec![
                id,
                c.name.clone(),
                format!("{cpu:.2}%"),
                format!(
                    "{} / {}",
                    units::bytes_size(s.memory_usage),
                    units::bytes_size(limit)
                ),
                format!(
                    "{:.2}%",
                    s.memory_usage as f64 / limit.max(1) as f64 * 100.0
                ),
                "0B / 0B".into(),
                "0B / 0B".into(),
                s.pids_current.to_string(),
            ]);
        }
        if !args.no_stream {
            print!("\x1b[2J\x1b[H");
        }
        table::print(
            &[
                "CONTAINER ID",
                "NAME",
                "CPU %",
                "MEM USAGE / LIMIT",
                "MEM %",
                "NET I/O",
                "BLOCK I/O",
                "PIDS",
            ],
            &rows,
        );
        if args.no_stream {
            return Ok(0);
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn host_memory_bytes() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}
