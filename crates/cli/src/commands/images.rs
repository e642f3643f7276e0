//! `mydocker import` and `mydocker images`.

use crate::cli::{ImagesArgs, ImportArgs};
use crate::{table, units};
use mydocker_engine::image::timestamp::parse_rfc3339;
use mydocker_engine::Engine;

pub fn import(engine: &Engine, args: ImportArgs) -> anyhow::Result<i32> {
    let id = engine.images().import(
        &args.source,
        args.reference.as_deref(),
        &args.change,
        args.message.as_deref(),
    )?;
    println!("{id}");
    Ok(0)
}

pub fn images(engine: &Engine, args: ImagesArgs) -> anyhow::Result<i32> {
    let list = engine.images().list()?;
    let short = |id: &str| -> String {
        let hex = id.strip_prefix("sha256:").unwrap_or(id);
        if args.no_trunc {
            id.to_string()
        } else {
            hex[..hex.len().min(12)].to_string()
        }
    };
    if args.quiet {
        let mut seen = std::collections::HashSet::new();
        for img in &list {
            if seen.insert(img.id.clone()) {
                println!("{}", short(&img.id));
            }
        }
        return Ok(0);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|img| {
            let created = img
                .created
                .as_deref()
                .and_then(parse_rfc3339)
                .map(|ns| {
                    format!(
                        "{} ago",
                        units::human_duration(now - (ns / 1_000_000_000) as i64)
                    )
                })
                .unwrap_or_else(|| "N/A".into());
            vec![
                img.repository.clone(),
                img.tag.clone(),
                short(&img.id),
                created,
                units::human_size(img.size),
            ]
        })
        .collect();
    table::print(&["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], &rows);
    Ok(0)
}
