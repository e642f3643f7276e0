//! The mydocker engine: containers made from images.
//!
//! The CLI parses the user's words into options and calls the [`Engine`]; the engine keeps
//! container records, prepares each container's rootfs and OCI runtime spec, and drives the
//! runtime. Data flows one way: CLI -> engine -> (image store, network, runtime).
//!
//! The life of `mydocker run` is in [`run`](crate::run) (module docs list the steps).

mod error;
mod foreground;
pub mod fsutil;
pub mod ids;
pub mod layout;
pub mod options;
mod overlay;
pub mod record;
mod run;
pub mod spec;
pub mod user;
pub mod validate;

pub use error::{EngineError, Result};
pub use layout::Layout;
pub use mydocker_image as image;
pub use options::{NetworkMode, Resources, RunOptions, Ulimit};
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

    /// Claims `name` for container `id`: the file `<root>/names/<name>` is created with
    /// O_EXCL, so of two commands racing for one name exactly one wins.
    fn reserve_name(&self, name: &str, id: &str) -> Result<()> {
        let path = self.layout.names().join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                use std::io::Write;
                f.write_all(id.as_bytes()).map_err(io_err("write", &path))
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let owner = std::fs::read_to_string(&path).unwrap_or_default();
                Err(EngineError::NameInUse {
                    name: name.to_string(),
                    id: owner,
                })
            }
            Err(e) => Err(io_err("reserve name", &path)(e)),
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

    fn release_name(&self, name: &str) {
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
                out.push(r);
            }
        }
        out.sort_by(|a, b| b.created.cmp(&a.created));
        Ok(out)
    }

    /// Finds a container by full id, name, or unique id prefix.
    pub fn find_container(&self, name_or_id: &str) -> Result<ContainerRecord> {
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

    /// Removes a stopped container: its directory and its name.
    pub fn remove_container(&self, name_or_id: &str) -> Result<String> {
        let rec = self.find_container(name_or_id)?;
        if rec.state.status == Status::Running
            && nix::sys::signal::kill(nix::unistd::Pid::from_raw(rec.state.pid), None).is_ok()
        {
            return Err(EngineError::InvalidArgument(format!(
                "cannot remove container \"/{}\": container is running: stop the container before removing or force remove",
                rec.name
            )));
        }
        let paths = layout::ContainerPaths::new(&self.layout.container_dir(&rec.id));
        overlay::unmount_rootfs(&paths)?;
        fsutil::remove_dir_all(&paths.dir)?;
        self.release_name(&rec.name);
        Ok(rec.id)
    }
}
