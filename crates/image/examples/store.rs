//! A tiny driver of the image store for benchmarks and manual checks, until the CLI wires
//! the commands (`mydocker load/save/commit`).
//!
//! ```text
//! store ROOT load ARCHIVE|-           store ROOT save docker|oci OUT NAME...
//! store ROOT commit UPPER BASE REF    store ROOT images | inspect NAME | history NAME
//! store ROOT rmi NAME | prune | tag SRC DST
//! ```

use std::path::Path;
use std::process::ExitCode;

use mydocker_image::{CommitRequest, ImageStore, NoProgress, SaveFormat};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("store: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let [root, command, rest @ ..] = args else {
        return Err("usage: store ROOT COMMAND ARGS...".into());
    };
    let store = ImageStore::open(Path::new(root))?;
    match (command.as_str(), rest) {
        ("load", [path]) => {
            let loaded = if path == "-" {
                store.load_reader(&mut std::io::stdin().lock(), &NoProgress)?
            } else {
                store.load_path(Path::new(path), &NoProgress)?
            };
            for image in loaded {
                for line in image.messages() {
                    println!("{line}");
                }
            }
        }
        ("save", [format, out, names @ ..]) => {
            let format = match format.as_str() {
                "oci" | "oci-archive" => SaveFormat::OciArchive,
                _ => SaveFormat::DockerArchive,
            };
            let mut file = std::io::BufWriter::new(std::fs::File::create(out)?);
            store.save(names, format, &mut file, &NoProgress)?;
            std::io::Write::flush(&mut file)?;
        }
        ("commit", [upper, base, reference]) => {
            let id = store.commit(&CommitRequest {
                upper: Path::new(upper),
                base: Some(base.as_str()),
                reference: Some(reference.as_str()),
                changes: &[],
                message: None,
                author: None,
                created_by: None,
            })?;
            println!("{id}");
        }
        ("images", []) => {
            for row in store.list()? {
                println!("{}:{} {} {}", row.repository, row.tag, row.id, row.size);
            }
        }
        ("inspect", [name]) => println!("{:#}", store.inspect(name)?),
        ("history", [name]) => {
            for row in store.history(name)? {
                println!("{:?}", row);
            }
        }
        ("rmi", [name]) => {
            for line in store.remove(name, false, &[])? {
                println!("{line}");
            }
        }
        ("prune", []) => {
            let report = store.prune(false, &[])?;
            for line in report.events {
                println!("{line}");
            }
            println!("Total reclaimed space: {}", report.reclaimed);
        }
        ("tag", [source, target]) => store.tag(source, target)?,
        _ => return Err(format!("unknown command {command} or wrong arguments").into()),
    }
    Ok(())
}
