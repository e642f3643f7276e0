//! `mydocker exec`: a new process in a running container's namespaces and cgroup, with the
//! container's environment, user and capabilities unless told otherwise.
//!
//! The calling process joins the container's pid namespace for its children, so it must
//! do nothing else afterwards: the CLI runs exec as its last act and, for `-t`, copies
//! between the terminal and the exec's pty until the process ends.

use crate::error::{sys_err, EngineError, Result};
use crate::layout::ContainerPaths;
use crate::record::Status;
use crate::terminal::{self, RawMode, Signals};
use crate::{user, Engine};
use mydocker_runtime::join::{self, ExecRequest};
use mydocker_runtime::Stdio;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use oci_spec::runtime::{Capability, LinuxCapabilitiesBuilder, Spec, UserBuilder};
use std::collections::HashSet;
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;

#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    pub command: Vec<String>,
    pub interactive: bool,
    pub tty: bool,
    pub detach: bool,
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub privileged: bool,
}

impl Engine {
    /// Runs a command in a running container; returns its exit code (0 with `-d`).
    pub fn exec(&self, name_or_id: &str, opts: &ExecOptions) -> Result<i32> {
        let rec = self.find_container(name_or_id)?;
        match rec.state.status {
            Status::Running => {}
            Status::Paused => {
                return Err(EngineError::Conflict(format!(
                    "Container {} is paused, unpause the container before exec",
                    rec.id
                )))
            }
            _ => {
                return Err(EngineError::Conflict(format!(
                    "Container {} is not running",
                    rec.id
                )))
            }
        }
        // The pid must still be the container's init, not a process that reused it.
        if !rec.state.init.is_alive() {
            return Err(EngineError::Conflict(format!(
                "Container {} is not running",
                rec.id
            )));
        }
        if opts.command.is_empty() {
            return Err(EngineError::InvalidArgument(
                "exec requires at least 1 argument".into(),
            ));
        }
        let paths = ContainerPaths::new(&self.layout.container_dir(&rec.id));
        let spec = Spec::load(paths.spec())
            .map_err(|e| EngineError::InvalidArgument(format!("load spec of {}: {e}", rec.id)))?;
        let mut process = spec.process().clone().unwrap_or_default();
        let linux = spec.linux().clone().unwrap_or_default();

        process.set_args(Some(opts.command.clone()));
        process.set_terminal(Some(opts.tty));
        let mut env = process.env().clone().unwrap_or_default();
        for var in &opts.env {
            let key = var.split('=').next().unwrap_or_default();
            env.retain(|e| e.split('=').next() != Some(key));
            env.push(var.clone());
        }
        if opts.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
            env.push("TERM=xterm".into());
        }
        process.set_env(Some(env));
        if let Some(w) = &opts.workdir {
            process.set_cwd(w.into());
        }
        if let Some(u) = &opts.user {
            // The container's own /etc/passwd, seen through its init's root.
            let root = Path::new("/proc")
                .join(rec.state.init.pid.to_string())
                .join("root");
            let eu = user::resolve(&root, u)?;
            let spec_user = UserBuilder::default()
                .uid(eu.uid)
                .gid(eu.gid)
                .additional_gids(eu.additional_gids)
                .build()
                .map_err(|e| EngineError::InvalidArgument(e.to_string()))?;
            process.set_user(spec_user);
        }
        if opts.privileged {
            let all: HashSet<Capability> = caps::all()
                .into_iter()
                .filter_map(|c| {
                    serde_json::from_value(serde_json::Value::String(c.to_string())).ok()
                })
                .collect();
            let caps = LinuxCapabilitiesBuilder::default()
                .bounding(all.clone())
                .effective(all.clone())
                .permitted(all)
                .build()
                .map_err(|e| EngineError::InvalidArgument(e.to_string()))?;
            process.set_capabilities(Some(caps));
        }

        let devnull;
        let mut stdio = Stdio::default();
        if !opts.interactive || opts.detach {
            devnull = std::fs::File::open("/dev/null")
                .map_err(crate::error::io_err("open", "/dev/null"))?;
            stdio.stdin = Some(devnull.as_raw_fd());
            if opts.detach {
                stdio.stdout = Some(devnull.as_raw_fd());
                stdio.stderr = Some(devnull.as_raw_fd());
            }
        }
        let cgroups_path = linux
            .cgroups_path()
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|| mydocker_runtime::default_cgroups_path(&rec.id));
        let namespaces = linux.namespaces().clone().unwrap_or_default();

        // Signals are blocked before the process exists, so none is lost; the child resets
        // its own mask.
        let signals = Signals::block(&[
            Signal::SIGCHLD,
            Signal::SIGWINCH,
            Signal::SIGINT,
            Signal::SIGTERM,
            Signal::SIGHUP,
            Signal::SIGQUIT,
            Signal::SIGUSR1,
            Signal::SIGUSR2,
        ])?;

        let mut proc = join::exec(&ExecRequest {
            init_pid: rec.state.init.pid,
            namespaces: &namespaces,
            cgroups_path: &cgroups_path,
            process: &process,
            stdio,
            seccomp: linux.seccomp().as_ref(),
        })?;
        if opts.detach {
            return Ok(0);
        }
        let master = proc.pty_master.take();
        let _raw = match &master {
            Some(m) => {
                if let Some((rows, cols)) = terminal::window_size() {
                    terminal::set_window_size(m.as_fd(), rows, cols);
                }
                opts.interactive.then(RawMode::enter).transpose()?
            }
            None => None,
        };
        let stdin = std::io::stdin();
        let stdout = std::io::stdout();
        let mut stdin_open = master.is_some() && opts.interactive;
        let mut master_open = master.is_some();
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let mut fds = vec![PollFd::new(signals.fd.as_fd(), PollFlags::POLLIN)];
            if let (true, Some(m)) = (master_open, &master) {
                fds.push(PollFd::new(m.as_fd(), PollFlags::POLLIN));
            }
            if stdin_open {
                fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
            }
            match poll(&mut fds, PollTimeout::NONE) {
                Err(nix::Error::EINTR) => continue,
                Err(e) => return Err(sys_err("poll")(e)),
                Ok(_) => {}
            }
            let ready: Vec<bool> = fds
                .iter()
                .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
                .collect();
            drop(fds);
            let mut i = 1;
            if master_open {
                if let (true, Some(m)) = (ready[i], &master) {
                    master_open = terminal::copy_ready(m.as_fd(), stdout.as_fd(), &mut buf);
                }
                i += 1;
            }
            if let (true, true, Some(m)) = (stdin_open, ready.get(i) == Some(&true), &master) {
                stdin_open = terminal::copy_ready(stdin.as_fd(), m.as_fd(), &mut buf);
            }
            if ready[0] {
                for s in signals.pending() {
                    match (s, &master) {
                        (Signal::SIGCHLD, _) => {}
                        (Signal::SIGWINCH, Some(m)) => {
                            if let Some((rows, cols)) = terminal::window_size() {
                                terminal::set_window_size(m.as_fd(), rows, cols);
                            }
                        }
                        (Signal::SIGWINCH, None) => {}
                        (s, _) => {
                            let _ = proc.kill(s);
                        }
                    }
                }
                if let Some(code) = proc.try_wait()? {
                    // Output written just before the exit may still be in the pty.
                    if let (true, Some(m)) = (master_open, &master) {
                        while terminal::copy_ready(m.as_fd(), stdout.as_fd(), &mut buf) {}
                    }
                    return Ok(code);
                }
            }
        }
    }
}
