//! The life of `mydocker run`, top to bottom:
//!
//! 1. resolve the image and check the options against the host;
//! 2. reserve the name and make the container's directory (its bundle);
//! 3. mount the overlay rootfs and write /etc/hostname and /etc/hosts;
//! 4. build the OCI spec (image config + options + Docker's defaults) and save it;
//! 5. runtime `create` (cgroup, namespaces, rootfs, pivot_root ...), then `start` with the
//!    terminal attached, until the container exits;
//! 6. tear down: cgroup, overlay mount, and with `--rm` the directory and the name.
//!
//! Everything made in steps 2 to 5 is released by [`Teardown`] if a later step fails.

use crate::error::{io_err, EngineError, Result};
use crate::layout::ContainerPaths;
use crate::options::RunOptions;
use crate::record::{ContainerRecord, State, Status};
use crate::{foreground, fsutil, ids, overlay, spec, user, Engine};
use mydocker_image::timestamp::now_rfc3339;
use mydocker_runtime::Stdio;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

/// What a failed or finished run must release, in reverse order of making.
struct Teardown<'a> {
    engine: &'a Engine,
    paths: ContainerPaths,
    name: Option<String>,
    mounted: bool,
    /// Keep the directory and the name (a container without `--rm` that did start).
    keep: bool,
}

impl Teardown<'_> {
    fn release(&mut self) -> Result<()> {
        let mut first_err = None;
        if self.mounted {
            if let Err(e) = overlay::unmount_rootfs(&self.paths) {
                first_err.get_or_insert(e);
            }
            self.mounted = false;
        }
        if !self.keep {
            if let Err(e) = fsutil::remove_dir_all(&self.paths.dir) {
                first_err.get_or_insert(e);
            }
            if let Some(name) = self.name.take() {
                self.engine.release_name(&name);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

impl Drop for Teardown<'_> {
    fn drop(&mut self) {
        let _ = self.release();
    }
}

impl Engine {
    /// Runs a container in the foreground and returns its exit code.
    pub fn run(&self, opts: RunOptions) -> Result<i32> {
        // 1. image and options
        let image = self.images.lookup(&opts.image)?;
        crate::validate::resources(&opts.resources)?;
        let args = spec::command_line(&opts, &image.config)?;

        // 2. name and directory
        let id = ids::new_id();
        let name = match &opts.name {
            Some(n) => {
                if !ids::valid_name(n) {
                    return Err(EngineError::InvalidArgument(format!(
                        "Invalid container name ({n}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
                    )));
                }
                self.reserve_name(n, &id)?;
                n.clone()
            }
            None => self.reserve_random_name(&id)?,
        };
        let paths = ContainerPaths::new(&self.layout.container_dir(&id));
        let mut teardown = Teardown {
            engine: self,
            paths: ContainerPaths::new(&paths.dir),
            name: Some(name.clone()),
            mounted: false,
            keep: false,
        };
        std::fs::create_dir_all(&paths.dir).map_err(io_err("create", &paths.dir))?;
        if let Some(cidfile) = &opts.cidfile {
            write_cidfile(cidfile, &id)?;
        }

        // 3. rootfs
        overlay::mount_rootfs(&paths, &image.layers)?;
        teardown.mounted = true;
        let hostname = opts
            .hostname
            .clone()
            .unwrap_or_else(|| ids::short_id(&id).to_string());
        write_etc_files(&paths, &hostname, opts.network)?;

        // 4. spec
        let exec_user = user::resolve(
            &paths.rootfs(),
            opts.user.as_deref().unwrap_or_else(|| {
                image
                    .config
                    .config()
                    .as_ref()
                    .and_then(|c| c.user().as_deref())
                    .unwrap_or("")
            }),
        )?;
        let cwd = opts
            .workdir
            .clone()
            .or_else(|| {
                image
                    .config
                    .config()
                    .as_ref()
                    .and_then(|c| c.working_dir().clone())
            })
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| "/".into());
        let env = spec::environment(&opts, &image.config, &hostname, &exec_user.home);
        let resources =
            spec::linux_resources(&opts.resources, crate::validate::host_has_swap_limit());
        let runtime_spec = spec::build(
            &opts,
            spec::SpecInputs {
                id: &id,
                bundle: &paths.dir,
                hostname: &hostname,
                args: args.clone(),
                env,
                cwd,
                user: &exec_user,
                resources,
            },
        )?;
        let spec_json = serde_json::to_vec_pretty(&runtime_spec)
            .map_err(|e| EngineError::InvalidArgument(format!("encode spec: {e}")))?;
        fsutil::write_atomic(&paths.spec(), &spec_json)?;
        let mut record = ContainerRecord {
            id: id.clone(),
            name,
            image: opts.image.clone(),
            image_id: image.id.clone(),
            created: now_rfc3339(),
            args,
            config: opts.clone(),
            state: State {
                status: Status::Created,
                pid: 0,
                exit_code: 0,
                started_at: None,
                finished_at: None,
            },
        };
        record.save(&paths.record())?;

        // 5. create and start
        let devnull;
        let stdio = if opts.interactive {
            Stdio::default()
        } else {
            devnull = std::fs::File::open("/dev/null").map_err(io_err("open", "/dev/null"))?;
            Stdio {
                stdin: Some(devnull.as_raw_fd()),
                ..Stdio::default()
            }
        };
        let mut container = mydocker_runtime::create(&id, &runtime_spec, &paths.dir, stdio)?;
        record.state.status = Status::Running;
        record.state.pid = container.pid().as_raw();
        record.state.started_at = Some(now_rfc3339());
        record.save(&paths.record())?;
        let outcome = foreground::run_attached(&mut container, opts.interactive);

        // 6. teardown
        let destroyed = container.destroy();
        record.state.status = Status::Exited;
        record.state.pid = 0;
        record.state.finished_at = Some(now_rfc3339());
        if let Ok(code) = &outcome {
            record.state.exit_code = *code;
        }
        teardown.keep = !opts.remove && outcome.is_ok();
        if teardown.keep {
            record.save(&paths.record())?;
        }
        teardown.release()?;
        let code = outcome?;
        destroyed?;
        Ok(code)
    }
}

fn write_cidfile(path: &PathBuf, id: &str) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => EngineError::InvalidArgument(format!(
                "Container ID file found, make sure the other container isn't running or delete {}",
                path.display()
            )),
            _ => io_err("create cidfile", path)(e),
        })?;
    f.write_all(id.as_bytes()).map_err(io_err("write", path))
}

/// /etc/hostname and /etc/hosts, bound into the container (Docker writes them too).
fn write_etc_files(
    paths: &ContainerPaths,
    hostname: &str,
    network: crate::options::NetworkMode,
) -> Result<()> {
    std::fs::write(paths.hostname(), format!("{hostname}\n"))
        .map_err(io_err("write", paths.hostname()))?;
    let hosts = match network {
        crate::options::NetworkMode::Host => {
            std::fs::read_to_string("/etc/hosts").unwrap_or_default()
        }
        crate::options::NetworkMode::None => "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n".to_string(),
    };
    std::fs::write(paths.hosts(), hosts).map_err(io_err("write", paths.hosts()))
}
