//! The runtime's side of a container: create, start, wait, kill, destroy.
//!
//! `create` runs the parent half of the handshake in `channel.rs`:
//! 1. validate the spec and decide the namespace plan;
//! 2. make the cgroup and write its limits;
//! 3. clone the child into new namespaces (into its cgroup directly on v2);
//! 4. (v1) move the child into its cgroup, then sync 1: `CgroupReady`;
//! 5. sync 2: wait until init reports `Ready` (rootfs, user, command found) or a failure.
//!
//! `start` is syncs 3 and 4: let init exec and wait until it did. Anything made on the way
//! is released if a later step fails: the child is killed and reaped, the cgroup removed.

use crate::channel::{self, Channel};
use crate::clone::{clone_process, Forked};
use crate::error::{sys, Result, RuntimeError};
use crate::init::{self, InitArgs};
use crate::namespaces::NamespacePlan;
use mydocker_cgroups::CgroupManager;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use oci_spec::runtime::Spec;
use std::os::fd::{AsFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

/// Where the container's stdio comes from (fds in our table; `None` = inherit ours).
/// Ignored when the spec asks for a terminal.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stdio {
    pub stdin: Option<RawFd>,
    pub stdout: Option<RawFd>,
    pub stderr: Option<RawFd>,
}

/// How the caller wants the container's init set up, beyond the spec.
#[derive(Debug, Default, Clone, Copy)]
pub struct CreateOptions {
    pub stdio: Stdio,
    /// Signal the container's init receives when its parent (us) dies. The engine's
    /// monitor sets SIGKILL, so a container never outlives the process that records its
    /// exit; a runc-style `create` that returns at once must not.
    pub parent_death_signal: Option<Signal>,
}

/// A created (and later running) container whose init is our child.
pub struct Container {
    id: String,
    pid: Pid,
    channel: Option<Channel>,
    cgroup: Box<dyn CgroupManager>,
    pty_master: Option<OwnedFd>,
    reaped: bool,
}

/// The default cgroup of a container when the spec names none.
pub fn default_cgroups_path(id: &str) -> String {
    format!("/mydocker/{id}")
}

/// The rootfs of a spec, made absolute against its bundle.
pub fn rootfs_path(spec: &Spec, bundle: &Path) -> Result<PathBuf> {
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| RuntimeError::InvalidSpec("no root".into()))?;
    let path = bundle.join(root.path());
    if !path.is_dir() {
        return Err(RuntimeError::InvalidSpec(format!(
            "rootfs {} is not a directory",
            path.display()
        )));
    }
    Ok(path)
}

/// Creates the container: after this its init waits for `start`, everything set up.
pub fn create(id: &str, spec: &Spec, bundle: &Path, opts: CreateOptions) -> Result<Container> {
    let stdio = opts.stdio;
    // 1. decide
    let rootfs = rootfs_path(spec, bundle)?;
    let linux = spec
        .linux()
        .as_ref()
        .ok_or_else(|| RuntimeError::InvalidSpec("no linux section".into()))?;
    let plan = NamespacePlan::from_spec(linux.namespaces().as_deref().unwrap_or_default())?;
    let cgroups_path = linux
        .cgroups_path()
        .as_ref()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| default_cgroups_path(id));

    // 2. cgroup
    tracing::debug!("creating cgroup {cgroups_path}");
    let cgroup = mydocker_cgroups::manager_for(&cgroups_path)?;
    cgroup.create()?;
    let mut container = Container {
        id: id.to_string(),
        pid: Pid::from_raw(0),
        channel: None,
        cgroup,
        pty_master: None,
        reaped: true,
    };
    if let Some(res) = linux.resources() {
        tracing::debug!("applying cgroup limits");
        container.cgroup.apply(res).inspect_err(|_| {
            let _ = container.cgroup.destroy();
        })?;
    }

    // 3. clone
    let (parent, child) = channel::pair()?;
    let cgroup_fd = container.cgroup.clone_into_fd().unwrap_or(None);
    let mut flags = plan.clone_flags;
    let born_in_cgroup = cgroup_fd.is_some();
    if born_in_cgroup && plan.new_cgroup {
        flags |= nix::sched::CloneFlags::CLONE_NEWCGROUP;
    }
    tracing::debug!("cloning init with {flags:?}");
    let forked = clone_process(flags, cgroup_fd.as_ref().map(|f| f.as_fd()));
    let forked = match (forked, born_in_cgroup) {
        // An older kernel or a cgroup we may not clone into: fall back to moving it later.
        (Err(e), true) => {
            tracing::debug!("clone into cgroup failed ({e}), falling back");
            flags.remove(nix::sched::CloneFlags::CLONE_NEWCGROUP);
            clone_process(flags, None).map(|f| (f, false))
        }
        (r, b) => r.map(|f| (f, b)),
    };
    let (forked, born_in_cgroup) = match forked {
        Ok(f) => f,
        Err(e) => {
            let _ = container.cgroup.destroy();
            return Err(e);
        }
    };
    match forked {
        Forked::Child => {
            drop(parent);
            init::run(InitArgs {
                spec,
                rootfs,
                plan: &plan,
                channel: child,
                stdio: [stdio.stdin, stdio.stdout, stdio.stderr],
                in_cgroup_ns: born_in_cgroup && plan.new_cgroup,
                parent_death_signal: opts.parent_death_signal,
            })
        }
        Forked::Parent(pid) => {
            drop(child);
            container.pid = pid;
            container.reaped = false;
        }
    }
    tracing::debug!("container init is pid {}", container.pid);

    // 4 and 5. From here on a failure must kill the child too: `abort` does it all.
    let result = (|| {
        if !born_in_cgroup {
            container.cgroup.add_task(container.pid.as_raw())?;
        }
        parent.send_cgroup_ready()?;
        container.pty_master = parent.wait_ready()?;
        Ok(())
    })();
    container.channel = Some(parent);
    if let Err(e) = result {
        container.abort();
        return Err(e);
    }
    Ok(container)
}

impl Container {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The host pid of the container's init.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// The master end of the container's terminal, when the spec asked for one.
    pub fn take_pty_master(&mut self) -> Option<OwnedFd> {
        self.pty_master.take()
    }

    pub fn cgroup(&self) -> &dyn CgroupManager {
        self.cgroup.as_ref()
    }

    /// Runs the user's command. On failure the container is torn down.
    pub fn start(&mut self) -> Result<()> {
        let channel = self
            .channel
            .take()
            .ok_or_else(|| RuntimeError::Channel("container already started".into()))?;
        tracing::debug!("starting container {}", self.id);
        let r = channel.start_and_wait_exec();
        if r.is_err() {
            self.abort();
        }
        r
    }

    /// Sends a signal to the container's init.
    pub fn kill(&self, signal: Signal) -> Result<()> {
        if self.reaped {
            return Ok(());
        }
        kill(self.pid, signal).map_err(sys(format!("kill {} with {signal}", self.pid)))
    }

    /// Waits for init to exit; returns its exit code, 128+N when signal N ended it.
    pub fn wait(&mut self) -> Result<i32> {
        loop {
            match self.reap(WaitPidFlag::empty())? {
                Some(code) => return Ok(code),
                None => continue,
            }
        }
    }

    /// Like `wait`, without blocking: `None` while init runs.
    pub fn try_wait(&mut self) -> Result<Option<i32>> {
        self.reap(WaitPidFlag::WNOHANG)
    }

    fn reap(&mut self, flags: WaitPidFlag) -> Result<Option<i32>> {
        loop {
            match waitpid(self.pid, Some(flags)) {
                Ok(WaitStatus::Exited(_, code)) => {
                    self.reaped = true;
                    return Ok(Some(code));
                }
                Ok(WaitStatus::Signaled(_, sig, _)) => {
                    self.reaped = true;
                    return Ok(Some(128 + sig as i32));
                }
                Ok(WaitStatus::StillAlive) => return Ok(None),
                Ok(_) => continue,
                Err(nix::Error::EINTR) => continue,
                Err(e) => return Err(sys(format!("wait for pid {}", self.pid))(e)),
            }
        }
    }

    /// Kills and reaps init (if still there) and removes the cgroup with whatever is left
    /// in it. Safe to call after the container exited.
    pub fn destroy(mut self) -> Result<()> {
        if !self.reaped {
            let _ = kill(self.pid, Signal::SIGKILL);
            self.wait()?;
        }
        tracing::debug!("removing cgroup of {}", self.id);
        self.cgroup.destroy()?;
        Ok(())
    }

    /// Failure path of create/start: best effort, errors are secondary to the first one.
    fn abort(&mut self) {
        if !self.reaped {
            let _ = kill(self.pid, Signal::SIGKILL);
            let _ = self.wait();
        }
        let _ = self.cgroup.destroy();
        self.channel = None;
    }
}
