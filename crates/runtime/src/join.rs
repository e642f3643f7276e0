//! Joining a running container: a new process in the container's namespaces and cgroup,
//! for `docker exec`. Man pages: setns(2), namespaces(7), pid_namespaces(7).
//!
//! A process cannot move itself into a PID namespace: `setns(CLONE_NEWPID)` only decides
//! where the caller's *next child* is born. So the caller (the engine's exec process, which
//! does nothing else afterwards) enters the container's PID namespace for its children, then
//! clones the process that will become the user's command. That child joins the other
//! namespaces itself, mount last, because after it host paths are out of reach.
//!
//! The two halves reuse the handshake of `channel.rs`, numbered the same on both sides:
//!
//! parent ([`exec`]):
//! 1. decide the namespaces to join ([`JoinPlan`], plain data);
//! 2. open every namespace file and the cgroup while nothing has changed yet;
//! 3. enter the PID namespace (for our children only);
//! 4. clone the child, born in its cgroup on v2 (`CLONE_INTO_CGROUP`);
//! 5. (v1) move the child into the cgroup, then sync 1: `CgroupReady`;
//! 6. sync 2: wait for `Ready` (with the pty master) or the child's failure;
//! 7. syncs 3 and 4: `Start`, then EOF once the command was exec'd.
//!
//! child (`join_and_exec`): after sync 1 it joins ipc, uts, net, cgroup, time, then mnt;
//! setsid; terminal or stdio; rlimits; no_new_privs; bounding set; user; capabilities;
//! chdir; finds the command; sync 2; waits for sync 3; execs. Any failure before exec goes
//! back to the parent as the error of [`exec`], and the child exits without exec'ing.
//!
//! The caller must make sure `init_pid` is still the container's init (the engine's state
//! records its start time): a reused pid would lead us into someone else's namespaces.

use crate::channel::{self, Channel};
use crate::clone::{clone_process, Forked};
use crate::error::{path_err, sys, Result, RuntimeError};
use crate::init::{close_fds_on_exec, reset_signals, switch_user};
use crate::namespaces::clone_flag;
use crate::{capabilities, exec as command, rlimits, Stdio};
use nix::pty::PtyMaster;
use nix::sched::{setns, CloneFlags};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{setsid, Gid, Pid, Uid};
use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType, Process, User};
use std::convert::Infallible;
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

/// What `docker exec` asks for: which container, and the process to start in it.
#[derive(Debug, Clone, Copy)]
pub struct ExecRequest<'a> {
    /// Host pid of the container's init.
    pub init_pid: i32,
    /// The container spec's namespaces: the ones it has its own of are joined.
    pub namespaces: &'a [LinuxNamespace],
    /// The container's cgroup, e.g. `/mydocker/<id>`.
    pub cgroups_path: &'a str,
    /// Args, env, cwd, user, capabilities, terminal, no_new_privileges, rlimits.
    pub process: &'a Process,
    /// Used when `process.terminal` is not set.
    pub stdio: Stdio,
    /// The container's seccomp filter, loaded in the new process too (as runc does).
    pub seccomp: Option<&'a oci_spec::runtime::LinuxSeccomp>,
}

/// The exec'd command: our child, living in the container.
#[derive(Debug)]
pub struct ExecProcess {
    /// Host pid of the command.
    pub pid: Pid,
    /// The master end of its terminal, when `process.terminal` was set.
    pub pty_master: Option<OwnedFd>,
    /// The exit code once reaped, so waiting twice answers twice.
    exit_code: Option<i32>,
}

/// The order in which the child joins namespaces: mount last, because after it
/// `/proc/<pid>/ns` of the host is gone (the files are opened before, but a path given in
/// the spec may point anywhere). PID is entered by the parent; user is refused.
const CHILD_JOIN_ORDER: [LinuxNamespaceType; 6] = [
    LinuxNamespaceType::Ipc,
    LinuxNamespaceType::Uts,
    LinuxNamespaceType::Network,
    LinuxNamespaceType::Cgroup,
    LinuxNamespaceType::Time,
    LinuxNamespaceType::Mount,
];

/// Which namespace files to enter, decided from the container's spec before any syscall.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinPlan {
    /// The PID namespace, entered by the parent for its children; `None` = the host's.
    pub pid: Option<PathBuf>,
    /// Entered by the child, in [`CHILD_JOIN_ORDER`].
    pub join: Vec<(LinuxNamespaceType, PathBuf)>,
}

impl JoinPlan {
    /// A namespace listed without a path is the container's own: `/proc/<init>/ns/<type>`.
    /// One listed with a path is that path. One not listed is the host's, and not joined.
    pub fn from_spec(init_pid: i32, namespaces: &[LinuxNamespace]) -> Result<Self> {
        let mut plan = JoinPlan {
            pid: None,
            join: Vec::new(),
        };
        for ns in namespaces {
            let path = match ns.path() {
                Some(p) => p.clone(),
                // Display gives the kernel's names: mnt, net, uts, ipc, pid, cgroup, time.
                None => PathBuf::from(format!("/proc/{init_pid}/ns/{}", ns.typ())),
            };
            match ns.typ() {
                LinuxNamespaceType::User => {
                    return Err(RuntimeError::InvalidSpec(
                        "joining a user namespace is not supported".into(),
                    ))
                }
                LinuxNamespaceType::Pid => plan.pid = Some(path),
                typ => {
                    plan.join.retain(|(t, _)| *t != typ);
                    plan.join.push((typ, path));
                }
            }
        }
        // Never run the command in the host's filesystem by mistake: create refuses a
        // container without its own mount namespace, and so does exec.
        if !plan
            .join
            .iter()
            .any(|(t, _)| *t == LinuxNamespaceType::Mount)
        {
            return Err(RuntimeError::InvalidSpec(
                "a mount namespace is required".into(),
            ));
        }
        plan.join
            .sort_by_key(|(typ, _)| CHILD_JOIN_ORDER.iter().position(|t| t == typ));
        Ok(plan)
    }
}

/// Starts `req.process` inside the running container. Returns once the command has been
/// exec'd, or with the child's own error (`RuntimeError::Exec` with `NotFound` or
/// `PermissionDenied` for Docker's 127 and 126).
///
/// The calling process is left with the container's PID namespace for its future
/// children: it must be a process that does nothing else (the engine's exec process).
pub fn exec(req: &ExecRequest<'_>) -> Result<ExecProcess> {
    // 1. decide
    let plan = JoinPlan::from_spec(req.init_pid, req.namespaces)?;

    // 2. open everything first: a dead init or a missing cgroup fails here, with no change
    let pid_ns = plan
        .pid
        .as_ref()
        .map(|p| File::open(p).map_err(path_err("open namespace", p)))
        .transpose()?;
    let namespaces = plan
        .join
        .iter()
        .map(|(typ, p)| {
            File::open(p)
                .map(|f| (*typ, f))
                .map_err(path_err("open namespace", p))
        })
        .collect::<Result<Vec<_>>>()?;
    let cgroup = mydocker_cgroups::manager_for(req.cgroups_path)?;
    let cgroup_fd = cgroup.clone_into_fd()?;

    // 3. our next child is born in the container's PID namespace
    if let Some(f) = &pid_ns {
        tracing::debug!(
            "entering pid namespace of {} for our children",
            req.init_pid
        );
        setns(f, CloneFlags::CLONE_NEWPID).map_err(sys("join pid namespace"))?;
    }

    // 4. clone
    let (parent, child) = channel::pair()?;
    let (forked, born_in_cgroup) = clone_child(cgroup_fd.as_ref(), pid_ns.is_some())?;
    let pid = match forked {
        Forked::Child => {
            drop(parent);
            child_main(ChildArgs {
                process: req.process,
                namespaces: &namespaces,
                channel: child,
                stdio: [req.stdio.stdin, req.stdio.stdout, req.stdio.stderr],
                seccomp: req.seccomp,
            })
        }
        Forked::Parent(pid) => pid,
    };
    drop(child);
    let guard = ChildGuard { pid, armed: true };
    tracing::debug!("exec child is pid {pid}");

    // 5. to 7. (a failure drops `guard`, which kills and reaps the child)
    if !born_in_cgroup {
        cgroup.add_task(pid.as_raw())?;
    }
    parent.send_cgroup_ready()?; // sync 1
    let pty_master = parent.wait_ready()?; // sync 2
    parent.start_and_wait_exec()?; // syncs 3 and 4
    Ok(ExecProcess {
        pid: guard.disarm(),
        pty_master,
        exit_code: None,
    })
}

/// Clones the child, into the cgroup when we have a v2 directory fd. Falls back to a plain
/// clone (and `add_task` later) when the kernel refuses, as `create` does.
fn clone_child(cgroup_fd: Option<&OwnedFd>, in_pid_ns: bool) -> Result<(Forked, bool)> {
    if let Some(fd) = cgroup_fd {
        match clone_process(CloneFlags::empty(), Some(fd.as_fd())) {
            Ok(f) => return Ok((f, true)),
            Err(e) => tracing::debug!("clone into cgroup failed ({e}), falling back"),
        }
    }
    match clone_process(CloneFlags::empty(), None) {
        Ok(f) => Ok((f, false)),
        // fork(2) into a PID namespace whose init has exited fails with ENOMEM.
        Err(RuntimeError::Sys {
            source: nix::Error::ENOMEM,
            ..
        }) if in_pid_ns => Err(RuntimeError::Sys {
            step: "clone into the container's pid namespace (has its init exited?)".into(),
            source: nix::Error::ENOMEM,
        }),
        Err(e) => Err(e),
    }
}

/// The child until it has exec'd: if the parent's side fails, it is killed and reaped.
struct ChildGuard {
    pid: Pid,
    armed: bool,
}

impl ChildGuard {
    fn disarm(mut self) -> Pid {
        self.armed = false;
        self.pid
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if self.armed {
            let _ = kill(self.pid, Signal::SIGKILL);
            while let Err(nix::Error::EINTR) = waitpid(self.pid, None) {}
        }
    }
}

impl ExecProcess {
    /// Waits for the command to exit; returns its exit code, 128+N when signal N ended it.
    pub fn wait(&mut self) -> Result<i32> {
        loop {
            if let Some(code) = self.reap(WaitPidFlag::empty())? {
                return Ok(code);
            }
        }
    }

    /// Like `wait`, without blocking: `None` while the command runs.
    pub fn try_wait(&mut self) -> Result<Option<i32>> {
        self.reap(WaitPidFlag::WNOHANG)
    }

    /// Sends a signal to the command (nothing once it has been reaped).
    pub fn kill(&self, signal: Signal) -> Result<()> {
        if self.exit_code.is_some() {
            return Ok(());
        }
        kill(self.pid, signal).map_err(sys(format!("kill {} with {signal}", self.pid)))
    }

    fn reap(&mut self, flags: WaitPidFlag) -> Result<Option<i32>> {
        if self.exit_code.is_some() {
            return Ok(self.exit_code);
        }
        loop {
            match waitpid(self.pid, Some(flags)) {
                Ok(WaitStatus::Exited(_, code)) => {
                    self.exit_code = Some(code);
                    return Ok(self.exit_code);
                }
                Ok(WaitStatus::Signaled(_, sig, _)) => {
                    self.exit_code = Some(128 + sig as i32);
                    return Ok(self.exit_code);
                }
                Ok(WaitStatus::StillAlive) => return Ok(None),
                Ok(_) => continue,
                Err(nix::Error::EINTR) => continue,
                Err(e) => return Err(sys(format!("wait for pid {}", self.pid))(e)),
            }
        }
    }
}

// ---- child side ----

/// What the child needs, all of it prepared by the parent before clone.
struct ChildArgs<'a> {
    process: &'a Process,
    /// Opened by the parent, in join order (mount last).
    namespaces: &'a [(LinuxNamespaceType, File)],
    channel: Channel,
    /// Host fds to become stdin, stdout, stderr; `None` keeps ours.
    stdio: [Option<RawFd>; 3],
    seccomp: Option<&'a oci_spec::runtime::LinuxSeccomp>,
}

/// Runs the child and never returns: it either execs or exits.
fn child_main(args: ChildArgs<'_>) -> ! {
    let err = match join_and_exec(&args) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    args.channel.send_failed(&err);
    // SAFETY: _exit is always safe; the child must not run the parent's atexit handlers or
    // destructors.
    unsafe { libc::_exit(1) }
}

fn join_and_exec(a: &ChildArgs<'_>) -> Result<Infallible> {
    let process = a.process;
    reset_signals()?;
    a.channel.wait_cgroup_ready()?; // sync 1
    for (typ, file) in a.namespaces {
        // Any failure stops here: nothing after this line may run outside the container.
        setns(file, clone_flag(*typ)).map_err(sys(format!("join {typ} namespace")))?;
    }
    setsid().map_err(sys("setsid"))?;

    let pty_master = if process.terminal().unwrap_or(false) {
        Some(open_terminal(process.user())?)
    } else {
        for (target, fd) in a.stdio.iter().enumerate() {
            if let Some(fd) = fd {
                crate::init::dup_onto(*fd, target as RawFd)?;
            }
        }
        None
    };

    rlimits::apply(process.rlimits().as_deref().unwrap_or_default())?;
    if let Some(filter) = a.seccomp {
        crate::seccomp::load(filter)?;
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
    // Unlike the container's init, exec does not create a missing working directory:
    // Docker reports it.
    let cwd = process.cwd();
    nix::unistd::chdir(cwd).map_err(sys(format!("chdir to {}", cwd.display())))?;

    let args = process.args().clone().unwrap_or_default();
    let env = process.env().clone().unwrap_or_default();
    let path_var = env.iter().find_map(|e| e.strip_prefix("PATH="));
    let program =
        command::find_executable(args.first().map(String::as_str).unwrap_or(""), path_var)?;

    a.channel
        .send_ready(pty_master.as_ref().map(|m| m.as_raw_fd()))?; // sync 2
    drop(pty_master);
    a.channel.wait_start()?; // sync 3
    close_fds_on_exec()?;
    tracing::debug!("exec {}", program.display());
    Err(command::execve(&program, &args, &env)) // sync 4: the channel closes on success
}

/// A pty from the container's devpts (we are in its mount namespace already) as our
/// controlling terminal and stdio, owned by the command's user as with a login. Unlike the
/// container's console, /dev/console is left alone: it belongs to init.
fn open_terminal(user: &User) -> Result<PtyMaster> {
    let (master, slave_path) = crate::tty::open_pty_as_stdio()?;
    nix::unistd::chown(
        slave_path.as_str(),
        Some(Uid::from_raw(user.uid())),
        Some(Gid::from_raw(user.gid())),
    )
    .map_err(sys(format!("chown {slave_path}")))?;
    Ok(master)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxNamespaceBuilder;
    use std::path::Path;
    use std::process::Command;

    fn ns(typ: LinuxNamespaceType, path: Option<&str>) -> LinuxNamespace {
        let mut b = LinuxNamespaceBuilder::default().typ(typ);
        if let Some(p) = path {
            b = b.path(p);
        }
        b.build().unwrap()
    }

    #[test]
    fn plan_joins_the_containers_own_namespaces_mount_last() {
        let plan = JoinPlan::from_spec(
            42,
            &[
                ns(LinuxNamespaceType::Mount, None),
                ns(LinuxNamespaceType::Pid, None),
                ns(LinuxNamespaceType::Network, Some("/run/netns/x")),
                ns(LinuxNamespaceType::Cgroup, None),
                ns(LinuxNamespaceType::Ipc, None),
                ns(LinuxNamespaceType::Uts, None),
            ],
        )
        .unwrap();
        assert_eq!(plan.pid.as_deref(), Some(Path::new("/proc/42/ns/pid")));
        let join: Vec<(LinuxNamespaceType, &str)> = plan
            .join
            .iter()
            .map(|(t, p)| (*t, p.to_str().unwrap()))
            .collect();
        assert_eq!(
            join,
            [
                (LinuxNamespaceType::Ipc, "/proc/42/ns/ipc"),
                (LinuxNamespaceType::Uts, "/proc/42/ns/uts"),
                (LinuxNamespaceType::Network, "/run/netns/x"),
                (LinuxNamespaceType::Cgroup, "/proc/42/ns/cgroup"),
                (LinuxNamespaceType::Mount, "/proc/42/ns/mnt"),
            ]
        );
    }

    #[test]
    fn namespaces_not_listed_stay_the_hosts() {
        let plan = JoinPlan::from_spec(7, &[ns(LinuxNamespaceType::Mount, None)]).unwrap();
        assert_eq!(plan.pid, None);
        assert_eq!(
            plan.join,
            [(LinuxNamespaceType::Mount, PathBuf::from("/proc/7/ns/mnt"))]
        );
    }

    #[test]
    fn plan_refuses_user_namespaces_and_a_missing_mount_namespace() {
        let err = JoinPlan::from_spec(
            1,
            &[
                ns(LinuxNamespaceType::Mount, None),
                ns(LinuxNamespaceType::User, None),
            ],
        )
        .unwrap_err();
        assert!(err.to_string().contains("user namespace"), "{err}");
        let err = JoinPlan::from_spec(1, &[ns(LinuxNamespaceType::Pid, None)]).unwrap_err();
        assert!(err.to_string().contains("mount namespace"), "{err}");
    }

    fn pid_ns_for_children() -> PathBuf {
        std::fs::read_link("/proc/thread-self/ns/pid_for_children").unwrap()
    }

    #[test]
    fn a_dead_init_fails_before_anything_changes() {
        let process: Process = serde_json::from_value(serde_json::json!({
            "user": {"uid": 0, "gid": 0}, "args": ["true"], "cwd": "/"
        }))
        .unwrap();
        let namespaces = [
            ns(LinuxNamespaceType::Pid, None),
            ns(LinuxNamespaceType::Mount, None),
        ];
        let before = pid_ns_for_children();
        let err = exec(&ExecRequest {
            init_pid: i32::MAX, // above pid_max: never a live process
            namespaces: &namespaces,
            cgroups_path: "/mydocker-test/never-made",
            process: &process,
            stdio: Stdio::default(),
            seccomp: None,
        })
        .unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("open namespace /proc/{}/ns/pid", i32::MAX)),
            "{err}"
        );
        assert_eq!(pid_ns_for_children(), before);
    }

    fn exec_process_of(cmd: &str) -> (ExecProcess, std::process::Child) {
        let child = Command::new("sh").args(["-c", cmd]).spawn().unwrap();
        let pid = Pid::from_raw(child.id() as i32);
        let p = ExecProcess {
            pid,
            pty_master: None,
            exit_code: None,
        };
        (p, child)
    }

    #[test]
    fn wait_reports_exit_codes_like_docker_and_answers_twice() {
        let (mut p, _child) = exec_process_of("exit 3");
        assert_eq!(p.wait().unwrap(), 3);
        assert_eq!(p.wait().unwrap(), 3);
        assert_eq!(p.try_wait().unwrap(), Some(3));
        p.kill(Signal::SIGKILL).unwrap(); // reaped: a no-op, never a reused pid

        let (mut p, _child) = exec_process_of("sleep 30");
        assert_eq!(p.try_wait().unwrap(), None);
        p.kill(Signal::SIGKILL).unwrap();
        assert_eq!(p.wait().unwrap(), 128 + 9);
    }
}
