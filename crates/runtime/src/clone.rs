//! Making the container's first process with clone3(2).
//!
//! The runtime is single-threaded, so the child of a fork-like clone (no new stack, no
//! CLONE_VM) may run ordinary Rust code until it execs. On cgroup v2 the child is born in
//! its cgroup (`CLONE_INTO_CGROUP`), so no instant of it runs outside its limits.

use crate::error::{Result, RuntimeError};
use nix::sched::CloneFlags;
use nix::unistd::Pid;
use std::os::fd::{AsRawFd, BorrowedFd};

/// The kernel's `struct clone_args` (linux/sched.h), version 2 (with `cgroup`).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Which side of the clone we are on.
pub enum Forked {
    Parent(Pid),
    Child,
}

/// Forks into new namespaces. `cgroup` is a cgroup v2 directory fd to be born into.
pub fn clone_process(flags: CloneFlags, cgroup: Option<BorrowedFd<'_>>) -> Result<Forked> {
    let mut args = CloneArgs {
        flags: flags.bits() as u64,
        exit_signal: libc::SIGCHLD as u64,
        ..Default::default()
    };
    if let Some(fd) = cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = fd.as_raw_fd() as u64;
    }
    // SAFETY: clone3 with no CLONE_VM and no stack behaves like fork: the child gets a copy
    // of our address space. We are single-threaded (the runtime path never starts threads),
    // so no lock can be held by a thread that does not exist in the child.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match ret {
        -1 => Err(RuntimeError::Sys {
            step: format!("clone3 with flags {flags:?}"),
            source: nix::Error::last(),
        }),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(Pid::from_raw(pid as i32))),
    }
}
