//! Making a container, up to the point where the runtime takes over:
//!
//! 1. resolve the image and check the options against the host;
//! 2. reserve the name and make the container's directory (its bundle);
//! 3. mount the overlay rootfs and write /etc/hostname and /etc/hosts;
//! 4. build the OCI spec (image config + options + Docker's defaults) and save it with
//!    the container's record.
//!
//! Everything made here is released by [`Undo`] if a later step fails. This runs in the
//! container's monitor, so a CLI killed half-way leaves either nothing or a container.

use crate::error::{io_err, EngineError, Result};
use crate::layout::ContainerPaths;
use crate::options::{NetworkMode, RunOptions};
use crate::record::{ContainerRecord, ProcessId, State};
use crate::{fsutil, ids, overlay, spec, user, Engine};
use mydocker_image::timestamp::now_rfc3339;
use oci_spec::runtime::Spec;

/// A container ready for the runtime.
pub struct Prepared {
    pub record: ContainerRecord,
    pub spec: Spec,
    pub paths: ContainerPaths,
}

/// Releases, in reverse order, what a failed creation made.
pub(crate) struct Undo<'a> {
    engine: &'a Engine,
    paths: ContainerPaths,
    name: Option<String>,
    mounted: bool,
    /// Mount requests whose anonymous volumes were made.
    volumes: Vec<crate::volumes::MountRequest>,
    armed: bool,
}

impl Drop for Undo<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if self.mounted {
            let _ = overlay::unmount_rootfs(&self.paths);
        }
        let _ = fsutil::remove_dir_all(&self.paths.dir);
        if let Some(name) = self.name.take() {
            self.engine.release_name(&name);
        }
        self.engine.remove_anonymous_volumes(&self.volumes);
    }
}

impl Engine {
    /// Steps 1 to 4 for a new container; `monitor` is the process that will own it.
    pub fn prepare_new(&self, opts: &RunOptions, monitor: ProcessId) -> Result<Prepared> {
        // 1. image and options
        let image = self.images.lookup(&opts.image)?;
        crate::validate::resources(&opts.resources)?;
        let args = spec::command_line(opts, &image.config)?;
        let image_config = image.config.config().clone().unwrap_or_default();
        let exposed_ports: Vec<String> = image_config.exposed_ports().clone().unwrap_or_default();
        self.port_mappings(&opts.net.publish, opts.net.publish_all, &exposed_ports)?;
        let netns_path = match &opts.network {
            NetworkMode::Container(other) => {
                let other = self.find_container(other)?;
                if !other.state.init.is_alive() {
                    return Err(EngineError::Conflict(format!(
                        "cannot join network of a non running container: {}",
                        other.id
                    )));
                }
                Some(std::path::PathBuf::from(format!(
                    "/proc/{}/ns/net",
                    other.state.init.pid
                )))
            }
            NetworkMode::Network(name) if name != crate::options::DEFAULT_NETWORK => {
                self.networks()?.inspect(name)?;
                None
            }
            _ => None,
        };

        // 2. directory, then name. The directory says who is creating it, so a name whose
        // creation was cut short (its creator died) can be told from one still being made.
        if let Some(n) = &opts.name {
            if !ids::valid_name(n) {
                return Err(EngineError::InvalidArgument(format!(
                    "Invalid container name ({n}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
                )));
            }
        }
        let id = ids::new_id();
        let paths = ContainerPaths::new(&self.layout.container_dir(&id));
        let mut undo = Undo {
            engine: self,
            paths: ContainerPaths::new(&paths.dir),
            name: None,
            mounted: false,
            volumes: Vec::new(),
            armed: true,
        };
        std::fs::create_dir_all(&paths.dir).map_err(io_err("create", &paths.dir))?;
        let creator = serde_json::to_vec(&monitor).unwrap_or_default();
        fsutil::write_atomic_with(&paths.creator(), &creator, false)?;
        let name = match &opts.name {
            Some(n) => {
                self.reserve_name(n, &id)?;
                n.clone()
            }
            None => self.reserve_random_name(&id)?,
        };
        undo.name = Some(name.clone());

        // 3. rootfs
        overlay::mount_rootfs(&paths, &image.layers, || self.short_layers(&image.id))?;
        undo.mounted = true;
        let hostname = opts
            .hostname
            .clone()
            .unwrap_or_else(|| ids::short_id(&id).to_string());
        undo.volumes = opts.mounts.clone();
        let extra_mounts = self.prepare_mounts(&opts.mounts, &paths.rootfs())?;
        let (hosts, resolv) = self.initial_etc_files(&opts.network, &opts.net)?;
        write_etc_files(&paths, &hostname, &hosts, &resolv)?;

        // 4. spec and record
        let user_spec = opts
            .user
            .clone()
            .or_else(|| image_config.user().clone())
            .unwrap_or_default();
        let exec_user = user::resolve(&paths.rootfs(), &user_spec)?;
        let cwd = opts
            .workdir
            .clone()
            .or_else(|| image_config.working_dir().clone())
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| "/".into());
        let env = spec::environment(opts, &image.config, &hostname, &exec_user.home);
        let resources =
            spec::linux_resources(&opts.resources, crate::validate::host_has_swap_limit());
        let runtime_spec = spec::build(
            opts,
            spec::SpecInputs {
                id: &id,
                bundle: &paths.dir,
                hostname: &hostname,
                args: args.clone(),
                env,
                cwd,
                user: &exec_user,
                resources,
                netns_path,
                extra_mounts,
            },
        )?;
        let spec_json = serde_json::to_vec_pretty(&runtime_spec)
            .map_err(|e| EngineError::InvalidArgument(format!("encode spec: {e}")))?;
        fsutil::write_atomic_with(&paths.spec(), &spec_json, !opts.remove)?;
        let mut config = opts.clone();
        if config.stop_signal.is_none() {
            config.stop_signal = image_config.stop_signal().clone();
        }
        let mut state = State::new();
        state.monitor = monitor;
        let record = ContainerRecord {
            id: id.clone(),
            name,
            image: opts.image.clone(),
            image_id: image.id.clone(),
            created: now_rfc3339(),
            args,
            hostname,
            layers: image.layers.clone(),
            config,
            state,
            exposed_ports,
            endpoints: Vec::new(),
        };
        record.save(&paths.record())?;
        if let Some(cidfile) = &opts.cidfile {
            write_cidfile(cidfile, &id)?;
        }
        undo.armed = false;
        Ok(Prepared {
            record,
            spec: runtime_spec,
            paths,
        })
    }

    /// Prepares an existing container to start again: its rootfs is mounted again.
    pub fn prepare_existing(&self, id: &str, monitor: ProcessId) -> Result<Prepared> {
        let paths = ContainerPaths::new(&self.layout.container_dir(id));
        let (record, ()) = crate::record::update(&paths.dir, |r| {
            if r.state.status.is_active() && r.state.monitor.is_alive() {
                return Err(EngineError::InvalidArgument(format!(
                    "container {} is already running",
                    r.id
                )));
            }
            r.state.monitor = monitor;
            r.state.stopped_by_user = false;
            Ok(())
        })?;
        let spec = Spec::load(paths.spec()).map_err(|e| {
            EngineError::InvalidArgument(format!("load spec of {}: {e}", record.id))
        })?;
        overlay::mount_rootfs(&paths, &record.layers, || {
            self.short_layers(&record.image_id)
        })?;
        Ok(Prepared {
            record,
            spec,
            paths,
        })
    }
}

impl Engine {
    /// Short names of an image's layers for deep images (see `overlay::mount_rootfs`).
    pub(crate) fn short_layers(&self, image_id: &str) -> Result<(std::path::PathBuf, Vec<String>)> {
        let image = self.images.lookup(image_id)?;
        let lower = self.images.lower_dirs(&image)?;
        Ok((lower.base, lower.dirs))
    }
}

/// Writes the id to `--cidfile`. The file appears with its content in one step (a hard
/// link of a finished temp file, which fails if the file exists), so a reader never sees
/// it empty.
fn write_cidfile(path: &std::path::Path, id: &str) -> Result<()> {
    let tmp = path.with_file_name(format!(
        ".{}.{id}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    std::fs::write(&tmp, id).map_err(io_err("write cidfile", &tmp))?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    linked.map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => EngineError::InvalidArgument(format!(
            "Container ID file found, make sure the other container isn't running or delete {}",
            path.display()
        )),
        _ => io_err("create cidfile", path)(e),
    })
}

/// /etc/hostname, /etc/hosts and /etc/resolv.conf, bound into the container.
fn write_etc_files(
    paths: &ContainerPaths,
    hostname: &str,
    hosts: &str,
    resolv: &str,
) -> Result<()> {
    for (path, text) in [
        (paths.hostname(), format!("{hostname}\n")),
        (paths.hosts(), hosts.to_string()),
        (paths.resolv(), resolv.to_string()),
    ] {
        std::fs::write(&path, text).map_err(io_err("write", &path))?;
    }
    Ok(())
}
