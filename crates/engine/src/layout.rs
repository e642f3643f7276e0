//! Where the engine keeps its state. Everything lives under one root (default
//! `/var/lib/mydocker`), and runtime files under an exec root (default `/run/mydocker`),
//! so tests can run side by side in roots of their own.
//!
//! ```text
//! <root>/image/                      the image store (mydocker-image)
//! <root>/containers/<id>/            one container: the OCI bundle
//!     container.json                 its record (config and state)
//!     config.json                    the OCI runtime spec
//!     upper/ work/                   its overlayfs writable layer
//!     rootfs/                        the overlayfs mount point
//!     hostname hosts resolv.conf     files bound into the container
//!     <id>-json.log                  its log (json-file, rotated to .1, .2, ...)
//!     lock                           flock guarding read-modify-write of the record
//! <root>/names/<name>                the container id owning <name> (made by hard link)
//! <root>/volumes/<name>/_data        volumes (see volumes.rs)
//! <root>/network/                    networks and their endpoints (mydocker-network)
//! <exec root>/                       runtime files (pid files, sockets)
//! ```

use crate::error::{io_err, Result};
use std::path::{Path, PathBuf};

pub const DEFAULT_ROOT: &str = "/var/lib/mydocker";
pub const DEFAULT_EXEC_ROOT: &str = "/run/mydocker";

#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
    pub exec_root: PathBuf,
}

impl Layout {
    pub fn new(root: PathBuf, exec_root: PathBuf) -> Self {
        Layout { root, exec_root }
    }

    pub fn image_root(&self) -> PathBuf {
        self.root.join("image")
    }

    pub fn containers(&self) -> PathBuf {
        self.root.join("containers")
    }

    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.containers().join(id)
    }

    pub fn names(&self) -> PathBuf {
        self.root.join("names")
    }

    pub fn create_dirs(&self) -> Result<()> {
        for dir in [self.containers(), self.names(), self.exec_root.clone()] {
            std::fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
        }
        Ok(())
    }
}

/// The paths of one container's bundle.
pub struct ContainerPaths {
    pub dir: PathBuf,
}

impl ContainerPaths {
    pub fn new(dir: &Path) -> Self {
        ContainerPaths {
            dir: dir.to_path_buf(),
        }
    }
    pub fn record(&self) -> PathBuf {
        self.dir.join("container.json")
    }
    /// The process creating the container, until its record exists.
    pub fn creator(&self) -> PathBuf {
        self.dir.join("creator.json")
    }
    pub fn spec(&self) -> PathBuf {
        self.dir.join("config.json")
    }
    pub fn upper(&self) -> PathBuf {
        self.dir.join("upper")
    }
    pub fn work(&self) -> PathBuf {
        self.dir.join("work")
    }
    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }
    pub fn hostname(&self) -> PathBuf {
        self.dir.join("hostname")
    }
    pub fn hosts(&self) -> PathBuf {
        self.dir.join("hosts")
    }
    pub fn resolv(&self) -> PathBuf {
        self.dir.join("resolv.conf")
    }
}
