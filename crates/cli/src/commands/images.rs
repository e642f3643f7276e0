//! `mydocker import` and `mydocker images`.

use crate::cli::{
    CommitArgs, ExportArgs, HistoryArgs, ImagesArgs, ImportArgs, LoadArgs, RmiArgs, SaveArgs,
    TagArgs,
};
use crate::{table, units};
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
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|img| {
            let created = units::ago(img.created.as_deref());
            let mut row = vec![img.repository.clone(), img.tag.clone()];
            if args.digests {
                row.push(img.digest.clone().unwrap_or_else(|| "<none>".into()));
            }
            row.extend([short(&img.id), created, units::human_size(img.size)]);
            row
        })
        .collect();
    let mut header = vec!["REPOSITORY", "TAG"];
    if args.digests {
        header.push("DIGEST");
    }
    header.extend(["IMAGE ID", "CREATED", "SIZE"]);
    table::print(&header, &rows);
    Ok(0)
}

/// Draws load/save progress with indicatif when stdout is a terminal.
struct Bars {
    multi: indicatif::MultiProgress,
    bars: std::cell::RefCell<std::collections::HashMap<String, indicatif::ProgressBar>>,
}

impl Bars {
    fn new() -> Option<Bars> {
        nix::unistd::isatty(std::io::stdout()).ok()?.then(|| Bars {
            multi: indicatif::MultiProgress::new(),
            bars: Default::default(),
        })
    }
}

impl mydocker_engine::image::Progress for Bars {
    fn layer(&self, event: mydocker_engine::image::LayerProgress<'_>) {
        use mydocker_engine::image::LayerProgress as L;
        let short = |id: &str| {
            id.trim_start_matches("sha256:")
                .chars()
                .take(12)
                .collect::<String>()
        };
        let mut bars = self.bars.borrow_mut();
        match event {
            L::Started { id, total } => {
                let bar = self
                    .multi
                    .add(indicatif::ProgressBar::new(total.unwrap_or(0)));
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{prefix}: {bar:40} {bytes}/{total_bytes}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                bar.set_prefix(short(id));
                bars.insert(id.to_string(), bar);
            }
            L::Advanced { id, done } => {
                if let Some(b) = bars.get(id) {
                    b.set_position(done);
                }
            }
            L::Skipped { id } => {
                let _ = self.multi.println(format!("{}: Already exists", short(id)));
            }
            L::Finished { id } => {
                if let Some(b) = bars.remove(id) {
                    b.finish();
                }
            }
        }
    }
}

fn progress() -> Box<dyn mydocker_engine::image::Progress> {
    match Bars::new() {
        Some(b) => Box::new(b),
        None => Box::new(mydocker_engine::image::NoProgress),
    }
}

pub fn load(engine: &Engine, args: LoadArgs) -> anyhow::Result<i32> {
    let p = if args.quiet {
        Box::new(mydocker_engine::image::NoProgress)
    } else {
        progress()
    };
    let loaded = match &args.input {
        Some(path) => engine.images().load_path(path, p.as_ref())?,
        None => {
            if nix::unistd::isatty(std::io::stdin()).unwrap_or(false) {
                anyhow::bail!("requested load from stdin, but stdin is empty");
            }
            engine
                .images()
                .load_reader(&mut std::io::stdin().lock(), p.as_ref())?
        }
    };
    if !args.quiet {
        for l in &loaded {
            for m in l.messages() {
                println!("{m}");
            }
        }
    }
    Ok(0)
}

pub fn save(engine: &Engine, args: SaveArgs) -> anyhow::Result<i32> {
    let format = match args.format.as_str() {
        "docker" | "docker-archive" => mydocker_engine::image::SaveFormat::DockerArchive,
        "oci" | "oci-archive" => mydocker_engine::image::SaveFormat::OciArchive,
        f => anyhow::bail!("unknown archive format: {f} (use docker or oci-archive)"),
    };
    match &args.output {
        Some(path) => {
            // Written beside the target and renamed, so a failed save leaves no partial file.
            let tmp = path.with_extension("partial");
            let result = (|| -> anyhow::Result<()> {
                let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
                engine
                    .images()
                    .save(&args.images, format, &mut f, progress().as_ref())?;
                use std::io::Write;
                f.flush()?;
                std::fs::rename(&tmp, path)?;
                Ok(())
            })();
            if result.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            result?;
        }
        None => {
            if nix::unistd::isatty(std::io::stdout()).unwrap_or(false) {
                anyhow::bail!(
                    "cowardly refusing to save to a terminal. Use the -o flag or redirect"
                );
            }
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            engine.images().save(
                &args.images,
                format,
                &mut out,
                &mydocker_engine::image::NoProgress,
            )?;
        }
    }
    Ok(0)
}

pub fn tag(engine: &Engine, args: TagArgs) -> anyhow::Result<i32> {
    engine.images().tag(&args.source, &args.target)?;
    Ok(0)
}

pub fn rmi(engine: &Engine, args: RmiArgs) -> anyhow::Result<i32> {
    let mut code = 0;
    for name in &args.images {
        match engine.remove_image(name, args.force) {
            Ok(events) => {
                for e in events {
                    println!("{e}");
                }
            }
            Err(e) => {
                eprintln!("Error response from daemon: {e}");
                code = 1;
            }
        }
    }
    Ok(code)
}

pub fn history(engine: &Engine, args: HistoryArgs) -> anyhow::Result<i32> {
    let entries = engine.images().history(&args.image)?;
    let id = |id: &Option<String>| match id {
        Some(i) if args.no_trunc => i.clone(),
        Some(i) => i.trim_start_matches("sha256:").chars().take(12).collect(),
        None => "<missing>".into(),
    };
    if args.quiet {
        for e in &entries {
            println!("{}", id(&e.id));
        }
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            let created = units::ago(e.created.as_deref());
            let by = if args.no_trunc || e.created_by.chars().count() <= 45 {
                e.created_by.clone()
            } else {
                format!("{}…", e.created_by.chars().take(44).collect::<String>())
            };
            vec![
                id(&e.id),
                created,
                by,
                units::human_size(e.size),
                e.comment.clone(),
            ]
        })
        .collect();
    table::print(
        &["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"],
        &rows,
    );
    Ok(0)
}

pub fn inspect(engine: &Engine, names: &[String], format: Option<&str>) -> anyhow::Result<i32> {
    let mut values = Vec::new();
    let mut code = 0;
    for n in names {
        match engine.images().inspect(n) {
            Ok(v) => values.push(v),
            Err(_) => {
                eprintln!("Error: No such image: {n}");
                code = 1;
            }
        }
    }
    super::print_inspected(&values, format)?;
    Ok(code)
}

pub fn prune(engine: &Engine, all: bool) -> anyhow::Result<i32> {
    let report = engine.prune_images(all)?;
    if !report.events.is_empty() {
        println!("Deleted Images:");
        for e in &report.events {
            println!("{e}");
        }
        println!();
    }
    println!(
        "Total reclaimed space: {}",
        units::human_size(report.reclaimed)
    );
    Ok(0)
}

pub fn commit(engine: &Engine, args: CommitArgs) -> anyhow::Result<i32> {
    let id = engine.commit(
        &args.container,
        &mydocker_engine::CommitOptions {
            reference: args.reference,
            changes: args.change,
            message: args.message,
            author: args.author,
            pause: args.pause,
        },
    )?;
    println!("{id}");
    Ok(0)
}

pub fn export(engine: &Engine, args: ExportArgs) -> anyhow::Result<i32> {
    match &args.output {
        Some(path) => {
            let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
            engine.export(&args.container, &mut f)?;
            use std::io::Write;
            f.flush()?;
        }
        None => {
            if nix::unistd::isatty(std::io::stdout()).unwrap_or(false) {
                anyhow::bail!(
                    "cowardly refusing to save to a terminal. Use the -o flag or redirect"
                );
            }
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            engine.export(&args.container, &mut out)?;
        }
    }
    Ok(0)
}
