//! Image commands that need containers: `commit` (a container's writable layer becomes an
//! image layer), `export` (its whole filesystem as a tar), and `rmi`/`image prune`, which
//! must not delete what a container still uses.

use crate::error::{io_err, EngineError, Result};
use crate::layout::ContainerPaths;
use crate::record::Status;
use crate::Engine;
use mydocker_image::{CommitRequest, PruneReport, RemoveEvent};

/// What `mydocker commit` was asked for.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    pub reference: Option<String>,
    pub changes: Vec<String>,
    pub message: Option<String>,
    pub author: Option<String>,
    /// Freeze the container while its layer is read (Docker's default).
    pub pause: bool,
}

impl Engine {
    /// Image ids used by any container, running or not.
    pub fn images_in_use(&self) -> Result<Vec<String>> {
        Ok(self.containers()?.into_iter().map(|c| c.image_id).collect())
    }

    /// `mydocker rmi`.
    pub fn remove_image(&self, name: &str, force: bool) -> Result<Vec<RemoveEvent>> {
        let in_use = self.images_in_use()?;
        Ok(self.images.remove(name, force, &in_use)?)
    }

    /// `mydocker image prune`.
    pub fn prune_images(&self, all: bool) -> Result<PruneReport> {
        let in_use = self.images_in_use()?;
        Ok(self.images.prune(all, &in_use)?)
    }

    /// `mydocker commit`: returns the new image's id.
    pub fn commit(&self, name_or_id: &str, opts: &CommitOptions) -> Result<String> {
        let rec = self.find_container(name_or_id)?;
        let paths = ContainerPaths::new(&self.layout.container_dir(&rec.id));
        let pause = opts.pause && rec.state.status == Status::Running;
        if pause {
            self.pause(&rec.id)?;
        }
        let created_by = rec.args.join(" ");
        let upper = paths.upper();
        let result = self.images.commit(&CommitRequest {
            upper: &upper,
            base: Some(&rec.image_id),
            reference: opts.reference.as_deref(),
            changes: &opts.changes,
            message: opts.message.as_deref(),
            author: opts.author.as_deref(),
            created_by: Some(&created_by),
        });
        if pause {
            self.unpause(&rec.id)?;
        }
        Ok(result?)
    }

    /// `mydocker export`: the container's merged filesystem as a tar stream.
    pub fn export(&self, name_or_id: &str, out: &mut dyn std::io::Write) -> Result<()> {
        self.with_rootfs(name_or_id, |rootfs| {
            let mut builder = tar::Builder::new(out);
            builder.follow_symlinks(false);
            builder
                .append_dir_all(".", rootfs)
                .map_err(io_err("export", rootfs))?;
            builder.finish().map_err(io_err("export", rootfs))
        })
        .map_err(|e| match e {
            EngineError::Io { step, path, source } => EngineError::Io { step, path, source },
            other => other,
        })
    }
}
