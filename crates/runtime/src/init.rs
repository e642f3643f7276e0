//! The container's init: what the cloned child does, top to bottom, until it becomes the
//! user's command. Each step is one call; the sync points match `channel.rs` and the
//! parent's side in `container.rs`.

use crate::channel::Channel;
use crate::error::{path_err, sys, Result, RuntimeError};
use crate::namespaces::NamespacePlan;
use crate::{capabilities, exec, rlimits, rootfs, tty};
use nix::sched::{unshare, CloneFlags};
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::unistd::{sethostname, setsid, Gid, Uid};
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::convert::Infallible;
use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;

/// What the child needs, all of it computed by the parent before clone.
pub(crate) struct InitArgs<'a> {
    pub spec: &'a Spec,
    pub rootfs: PathBuf,
    pub plan: &'a NamespacePlan,
    pub channel: Channel,
    /// Host fds to become stdin, stdout, stderr; `None` keeps ours.
    pub stdio: [Option<RawFd>; 3],
    /// clone3 already put us in a new cgroup namespace (we were born in our cgroup).
    pub in_cgroup_ns: bool,
    pub parent_death_signal: Option<Signal>,
}

/// Runs the container's init and never returns: it either execs or exits.
pub(crate) fn run(args: InitArgs<'_>) -> ! {
    let err = match container_init(&args) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    args.channel.send_failed(&err);
    // SAFETY: _exit is always safe; we must not run the parent's atexit handlers or
    // destructors in the child.
    unsafe { libc::_exit(1) }
}

fn container_init(a: &InitArgs<'_>) -> Result<Infallible> {
    let spec = a.spec;
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| RuntimeError::InvalidSpec("no process".into()))?;
    let linux = spec.linux().clone().unwrap_or_default();

    reset_signals()?;
    if let Some(sig) = a.parent_death_signal {
        nix::sys::prctl::set_pdeathsig(sig).map_err(sys("set parent death signal"))?;
    }
    a.channel.wait_cgroup_ready()?; // sync 1
    a.plan.join_all()?;
    if a.plan.new_cgroup && !a.in_cgroup_ns {
        unshare(CloneFlags::CLONE_NEWCGROUP).map_err(sys("unshare cgroup namespace"))?;
    }
    setsid().map_err(sys("setsid"))?;
    if a.plan.creates(LinuxNamespaceType::Network) {
        crate::loopback::bring_up()?;
    }
    if a.plan.creates(LinuxNamespaceType::Uts) {
        if let Some(h) = spec.hostname() {
            tracing::debug!("setting hostname {h}");
            sethostname(h).map_err(sys(format!("sethostname {h}")))?;
        }
    }
    if !a.plan.creates(LinuxNamespaceType::Mount) {
        return Err(RuntimeError::InvalidSpec(
            "a mount namespace is required".into(),
        ));
    }
    rootfs::prepare(spec, &a.rootfs)?;

    let pty_master = if process.terminal().unwrap_or(false) {
        Some(tty::setup_console()?)
    } else {
        for (target, fd) in a.stdio.iter().enumerate() {
            if let Some(fd) = fd {
                dup_onto(*fd, target as RawFd)?;
            }
        }
        None
    };

    for (key, value) in linux.sysctl().clone().unwrap_or_default() {
        let path = PathBuf::from("/proc/sys").join(key.replace('.', "/"));
        std::fs::write(&path, value).map_err(path_err("write sysctl", path))?;
    }
    rootfs::mask_paths(linux.masked_paths().as_deref().unwrap_or_default())?;
    rootfs::make_readonly_paths(linux.readonly_paths().as_deref().unwrap_or_default())?;
    if spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        rootfs::remount_readonly(std::path::Path::new("/"))?;
    }
    rlimits::apply(process.rlimits().as_deref().unwrap_or_default())?;
    // Loaded while we still hold CAP_SYS_ADMIN (needed without no_new_privs); the filter
    // lets through what init still does (capset, setuid, chdir, execve).
    if let Some(filter) = linux.seccomp() {
        crate::seccomp::load(filter)?;
    }

    let cwd = process.cwd();
    if std::fs::metadata(cwd).is_err() {
        std::fs::create_dir_all(cwd).map_err(path_err("create working directory", cwd))?;
    }
    if process.no_new_privileges().unwrap_or(false) {
        nix::sys::prctl::set_no_new_privs().map_err(sys("set no_new_privs"))?;
    }
    if let Some(caps) = process.capabilities() {
        capabilities::drop_bounding(caps)?;
    }
    switch_user(process.user())?;
    if let Some(caps) = process.capabilities() {
        capabilities::apply(caps)?;
    }
    nix::unistd::chdir(cwd).map_err(sys(format!("chdir to {}", cwd.display())))?;

    let args = process.args().clone().unwrap_or_default();
    let env = process.env().clone().unwrap_or_default();
    let path_var = env.iter().find_map(|e| e.strip_prefix("PATH="));
    let program = exec::find_executable(args.first().map(String::as_str).unwrap_or(""), path_var)?;

    a.channel
        .send_ready(pty_master.as_ref().map(|m| m.as_raw_fd()))?; // sync 2
    drop(pty_master);
    a.channel.wait_start()?; // sync 3
    close_fds_on_exec()?;
    tracing::debug!("exec {}", program.display());
    Err(exec::execve(&program, &args, &env)) // sync 4: the channel closes on success
}

/// Signal state survives fork and exec: unblock everything and restore default actions
/// (Rust itself ignores SIGPIPE, and a container must not inherit that).
pub(crate) fn reset_signals() -> Result<()> {
    SigSet::empty()
        .thread_set_mask()
        .map_err(sys("reset signal mask"))?;
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    for sig in Signal::iterator() {
        if sig == Signal::SIGKILL || sig == Signal::SIGSTOP {
            continue;
        }
        // SAFETY: installing SIG_DFL has no handler code to be unsafe about.
        let _ = unsafe { sigaction(sig, &default) };
    }
    Ok(())
}

/// Switches to the spec's user and groups, keeping capabilities across the switch so that
/// the spec's sets can be applied afterwards.
pub(crate) fn switch_user(user: &oci_spec::runtime::User) -> Result<()> {
    let uid = Uid::from_raw(user.uid());
    let gid = Gid::from_raw(user.gid());
    let groups: Vec<Gid> = user
        .additional_gids()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(Gid::from_raw)
        .collect();
    nix::sys::prctl::set_keepcaps(true).map_err(sys("keep capabilities"))?;
    nix::unistd::setgroups(&groups).map_err(sys("setgroups"))?;
    nix::unistd::setresgid(gid, gid, gid).map_err(sys(format!("setgid {gid}")))?;
    nix::unistd::setresuid(uid, uid, uid).map_err(sys(format!("setuid {uid}")))?;
    nix::sys::prctl::set_keepcaps(false).map_err(sys("keep capabilities"))?;
    Ok(())
}

/// Every fd above stderr closes at exec: the container gets only its stdio.
pub(crate) fn close_fds_on_exec() -> Result<()> {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets flags on our own fds.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if r < 0 {
        return Err(sys("close_range")(nix::Error::last()));
    }
    Ok(())
}

/// dup2(2) on raw fds: stdio slots are numbers, not owned files.
pub(crate) fn dup_onto(from: RawFd, to: RawFd) -> Result<()> {
    // SAFETY: dup2 only manipulates our fd table; `to` is a stdio slot we mean to replace.
    if unsafe { libc::dup2(from, to) } < 0 {
        return Err(sys(format!("dup fd {from} onto {to}"))(nix::Error::last()));
    }
    Ok(())
}
