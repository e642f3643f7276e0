//! The mydocker engine: containers made from images.
//!
//! The CLI parses the user's words into options and calls the [`Engine`]; the engine keeps
//! container records, prepares each container's rootfs and OCI runtime spec, and drives the
//! runtime. Data flows one way: CLI -> engine -> (image store, network, runtime).
//!
//! The life of a container: [`create`](crate::create) prepares it (image, name, rootfs,
//! spec), the [`monitor`] runs it through the runtime and stays with it until it ends,
//! [`lifecycle`](crate::lifecycle) holds the commands that act on it afterwards.

pub mod attach;
mod copy;
mod create;
mod error;
pub mod exec;
pub mod fsutil;
pub mod ids;
mod images;
mod inspect;
pub mod layout;
mod lifecycle;
pub mod logs;
pub mod monitor;
mod networking;
mod observe;
pub mod options;
mod overlay;
pub mod record;
pub mod spec;
mod terminal;
pub mod user;
pub mod validate;
pub mod volumes;

pub use attach::ClientOptions;
pub use copy::CpPath;
pub use error::{EngineError, Result};
pub use images::CommitOptions;
pub use layout::Layout;
pub use lifecycle::{parse_signal, RunResult};
pub use mydocker_image as image;
pub use mydocker_network as network;
pub use options::{
    LogOptions, NetworkMode, NetworkOptions, Resources, RestartPolicy, RunOptions, Ulimit,
};
pub use record::{ContainerRecord, Status};

use error::io_err;
use mydocker_image::ImageStore;

/// The engine: one state root, its image store and its containers.
pub struct Engine {
    layout: Layout,
    images: ImageStore,
}

impl Engine {
    pub fn open(layout: Layout) -> Result<Engine> {
        if !nix::unistd::geteuid().is_root() {
            return Err(EngineError::NotRoot);
        }
        layout.create_dirs()?;
        let images = ImageStore::open(&layout.image_root())?;
        Ok(Engine { layout, images })
    }

    pub fn images(&self) -> &ImageStore {
        &self.images
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Claims `name` for container `id`: the file `<root>/names/<name>` appears by a hard
    /// link of a finished temp file (link fails if it exists), so of two commands racing
    /// for one name exactly one wins.
    fn reserve_name(&self, name: &str, id: &str) -> Result<()> {
        let path = self.layout.names().join(name);
        // The file appears with its content in one step (link of a finished temp file),
        // so nobody ever sees a name without its owner.
        let tmp = self
            .layout
            .names()
            .join(format!(".{id}.{}", std::process::id()));
        std::fs::write(&tmp, id).map_err(io_err("write", &tmp))?;
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let owner = std::fs::read_to_string(&path).unwrap_or_default();
                if owner != id && self.name_is_stale(&owner) {
                    // Its owner never came to be (a creation killed half-way): reclaim it.
                    // Only the one who renames the stale file away may retry.
                    let grave = self.layout.names().join(format!(".stale.{owner}.{id}"));
                    if std::fs::rename(&path, &grave).is_ok() {
                        let _ = std::fs::remove_file(&grave);
                    }
                    return self.reserve_name(name, id);
                }
                Err(EngineError::NameInUse {
                    name: name.to_string(),
                    id: owner,
                })
            }
            Err(e) => Err(io_err("reserve name", &path)(e)),
        }
    }

    /// A name whose owner has no record and whose creation is over (or was cut short).
    fn name_is_stale(&self, owner: &str) -> bool {
        let dir = self.layout.container_dir(owner);
        let record = layout::ContainerPaths::new(&dir).record();
        match ContainerRecord::load(&record) {
            Ok(rec) => matches!(self.refresh(rec), Ok(None)),
            // No record yet: stale unless its creator is still at work.
            Err(_) => {
                let creator = std::fs::read(layout::ContainerPaths::new(&dir).creator())
                    .ok()
                    .and_then(|d| serde_json::from_slice::<record::ProcessId>(&d).ok());
                match creator {
                    Some(p) if p.is_alive() => false,
                    // The creator died half-way: nothing else will clean its directory.
                    Some(_) => {
                        let _ = overlay::unmount_rootfs(&layout::ContainerPaths::new(&dir));
                        let _ = fsutil::remove_dir_all(&dir);
                        true
                    }
                    // The directory is written before the name, so a name without a
                    // directory is left over, and one with a directory but no creator
                    // file is a moment from getting it.
                    None => !dir.exists(),
                }
            }
        }
    }

    fn reserve_random_name(&self, id: &str) -> Result<String> {
        loop {
            let name = ids::random_name();
            match self.reserve_name(&name, id) {
                Err(EngineError::NameInUse { .. }) => continue,
                other => return other.map(|()| name),
            }
        }
    }

    pub(crate) fn release_name(&self, name: &str) {
        let _ = std::fs::remove_file(self.layout.names().join(name));
    }

    /// Every container record, newest first.
    pub fn containers(&self) -> Result<Vec<ContainerRecord>> {
        let dir = self.layout.containers();
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(io_err("read", &dir))? {
            let entry = entry.map_err(io_err("read", &dir))?;
            let path = layout::ContainerPaths::new(&entry.path()).record();
            if let Ok(r) = ContainerRecord::load(&path) {
                if let Some(r) = self.refresh(r)? {
                    out.push(r);
                }
            }
        }
        out.sort_by(|a, b| b.created.cmp(&a.created));
        Ok(out)
    }

    /// Finds a container by full id, name, or unique id prefix.
    pub fn find_container(&self, name_or_id: &str) -> Result<ContainerRecord> {
        // Fast path: a full id or a name needs one record, not all of them.
        let by_name = std::fs::read_to_string(self.layout.names().join(name_or_id)).ok();
        let id = by_name.as_deref().unwrap_or(name_or_id);
        if ids::valid_name(name_or_id) || id.len() == 64 {
            let path = layout::ContainerPaths::new(&self.layout.container_dir(id)).record();
            if let Ok(rec) = ContainerRecord::load(&path) {
                if rec.id == name_or_id || rec.name == name_or_id {
                    return self
                        .refresh(rec)?
                        .ok_or_else(|| EngineError::NoSuchContainer(name_or_id.to_string()));
                }
            }
        }
        let all = self.containers()?;
        if let Some(r) = all
            .iter()
            .find(|r| r.id == name_or_id || r.name == name_or_id)
        {
            return Ok(r.clone());
        }
        let matches: Vec<_> = all
            .iter()
            .filter(|r| !name_or_id.is_empty() && r.id.starts_with(name_or_id))
            .collect();
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(EngineError::NoSuchContainer(name_or_id.to_string())),
            _ => Err(EngineError::InvalidArgument(format!(
                "multiple IDs found with provided prefix: {name_or_id}"
            ))),
        }
    }
}
