//! `mydocker ps` and `mydocker inspect`.

use crate::cli::{InspectArgs, PsArgs};
use crate::{table, units};
use mydocker_engine::image::timestamp::parse_rfc3339;
use mydocker_engine::{ContainerRecord, Engine, Status};
use serde_json::json;

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn secs_of(t: &Option<String>) -> i64 {
    t.as_deref()
        .and_then(parse_rfc3339)
        .map(|ns| (ns / 1_000_000_000) as i64)
        .unwrap_or(0)
}

/// Docker's STATUS column: "Up 5 seconds", "Exited (0) 3 minutes ago", ...
pub fn status_text(c: &ContainerRecord) -> String {
    let now = now_secs();
    let st = &c.state;
    match st.status {
        Status::Created => "Created".into(),
        Status::Running => format!(
            "Up {}",
            units::human_duration(now - secs_of(&st.started_at))
        ),
        Status::Paused => format!(
            "Up {} (Paused)",
            units::human_duration(now - secs_of(&st.started_at))
        ),
        Status::Restarting => format!(
            "Restarting ({}) {} ago",
            st.exit_code,
            units::human_duration(now - secs_of(&st.finished_at))
        ),
        Status::Exited => format!(
            "Exited ({}) {} ago",
            st.exit_code,
            units::human_duration(now - secs_of(&st.finished_at))
        ),
    }
}

fn matches_filter(c: &ContainerRecord, filter: &str) -> anyhow::Result<bool> {
    let (key, value) = filter
        .split_once('=')
        .ok_or_else(|| anyhow::anyhow!("bad format of filter (expected name=value)"))?;
    Ok(match key {
        "status" => c.state.status.as_str() == value,
        "name" => c.name.contains(value),
        "id" => c.id.starts_with(value),
        "ancestor" => c.image == value || c.image_id.contains(value),
        "exited" => c.state.status == Status::Exited && c.state.exit_code.to_string() == value,
        _ => anyhow::bail!("invalid filter '{key}'"),
    })
}

pub fn ps(engine: &Engine, args: PsArgs) -> anyhow::Result<i32> {
    let mut list = Vec::new();
    // A filter on status shows stopped containers too, as in Docker.
    let all = args.all || args.latest || args.last.is_some() || !args.filter.is_empty();
    for c in engine.containers()? {
        let mut keep = all || c.state.status.is_active();
        for f in &args.filter {
            keep = keep && matches_filter(&c, f)?;
        }
        if keep {
            list.push(c);
        }
    }
    if args.latest {
        list.truncate(1);
    }
    if let Some(n) = args.last {
        list.truncate(n);
    }
    let trunc = !args.no_trunc;
    let id = |id: &str| {
        if trunc {
            id[..12.min(id.len())].to_string()
        } else {
            id.to_string()
        }
    };
    if args.quiet {
        for c in &list {
            println!("{}", id(&c.id));
        }
        return Ok(0);
    }
    let now = now_secs();
    let command = |c: &ContainerRecord| {
        let full = c.args.join(" ");
        let shown = if trunc && full.chars().count() > 20 {
            format!("{}…", full.chars().take(19).collect::<String>())
        } else {
            full
        };
        format!("\"{shown}\"")
    };
    let created = |c: &ContainerRecord| {
        format!(
            "{} ago",
            units::human_duration(now - secs_of(&Some(c.created.clone())))
        )
    };
    let ports = |c: &ContainerRecord| {
        c.endpoints
            .iter()
            .flat_map(|e| &e.ports)
            .map(|p| {
                format!(
                    "{}:{}->{}/{}",
                    p.host_ip, p.host_port, p.container_port, p.protocol
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let row_json = |c: &ContainerRecord| {
        json!({
            "Command": command(c),
            "CreatedAt": c.created,
            "ID": id(&c.id),
            "Image": c.image,
            "Labels": "",
            "LocalVolumes": "0",
            "Mounts": "",
            "Names": c.name,
            "Networks": "",
            "Ports": ports(c),
            "RunningFor": created(c),
            "Size": "0B",
            "State": c.state.status.as_str(),
            "Status": status_text(c),
        })
    };
    match args.format.as_deref() {
        None | Some("table") => {}
        Some("json") => {
            for c in &list {
                println!("{}", row_json(c));
            }
            return Ok(0);
        }
        Some(t) => {
            print_template(t, list.iter().map(row_json).collect())?;
            return Ok(0);
        }
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|c| {
            vec![
                id(&c.id),
                c.image.clone(),
                command(c),
                created(c),
                status_text(c),
                ports(c),
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

pub fn inspect(engine: &Engine, args: InspectArgs) -> anyhow::Result<i32> {
    let mut values = Vec::new();
    let mut code = 0;
    for name in &args.names {
        // Like Docker: a container first, then an image of that name.
        match engine.find_container(name) {
            Ok(rec) => values.push(engine.inspect_container(&rec)),
            Err(_) => match engine.images().inspect(name) {
                Ok(v) => values.push(v),
                Err(_) => {
                    eprintln!("Error: No such object: {name}");
                    code = 1;
                }
            },
        }
    }
    let format = args.format.as_deref().filter(|f| *f != "json");
    super::print_inspected(&values, format)?;
    Ok(code)
}

/// Prints rows through a `--format` Go template; `table ...` templates get a header and
/// aligned columns.
pub fn print_template(t: &str, rows: Vec<serde_json::Value>) -> anyhow::Result<()> {
    use crate::template;
    let rendered: Vec<String> = rows
        .iter()
        .map(|r| template::render(t, r).map_err(|e| anyhow::anyhow!(e)))
        .collect::<anyhow::Result<_>>()?;
    if template::is_table(t) {
        let header = template::header(t);
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let cells: Vec<Vec<String>> = rendered
            .iter()
            .map(|r| r.split('\t').map(String::from).collect())
            .collect();
        table::print(&header, &cells);
    } else {
        for r in rendered {
            println!("{r}");
        }
    }
    Ok(())
}
