//! The container's terminal (for `run -t`).
//!
//! The pty is made inside the container, from the container's own devpts instance, so the
//! program sees `/dev/pts/0` and `tty` works. The master end goes back to the runtime over
//! the channel (SCM_RIGHTS); whoever holds it (the CLI, later the monitor) copies between it
//! and the user's terminal. Man pages: pty(7), pts(4).

use crate::error::{sys, Result};
use nix::fcntl::OFlag;
use nix::mount::{mount, MsFlags};
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt, PtyMaster};
use std::os::fd::{AsRawFd, OwnedFd};

/// Opens a pty, makes its slave the controlling terminal and stdio of this process, binds it
/// on /dev/console, and returns the master for the runtime.
pub fn setup_console() -> Result<PtyMaster> {
    let (master, slave_path) = open_pty_as_stdio()?;
    // /dev/console is what some programs write to; Docker points it at the container's pty.
    if std::fs::File::create("/dev/console").is_ok() {
        mount(
            Some(slave_path.as_str()),
            "/dev/console",
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(sys("bind /dev/console"))?;
    }
    Ok(master)
}

/// Opens a pty from this mount namespace's /dev/ptmx, makes its slave the controlling
/// terminal and stdio of this process (a session leader), and returns the master and the
/// slave's path. `exec` uses it as it is: /dev/console belongs to the container's init.
pub(crate) fn open_pty_as_stdio() -> Result<(PtyMaster, String)> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .map_err(sys("open /dev/ptmx"))?;
    grantpt(&master).map_err(sys("grantpt"))?;
    unlockpt(&master).map_err(sys("unlockpt"))?;
    let slave_path = ptsname_r(&master).map_err(sys("ptsname"))?;
    let slave: OwnedFd = nix::fcntl::open(
        slave_path.as_str(),
        OFlag::O_RDWR | OFlag::O_NOCTTY,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(sys(format!("open {slave_path}")))?;
    // SAFETY: TIOCSCTTY takes an int argument; the fd is a valid open tty.
    if unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) } < 0 {
        return Err(sys("make the pty the controlling terminal")(
            nix::Error::last(),
        ));
    }
    for fd in 0..3 {
        crate::init::dup_onto(slave.as_raw_fd(), fd)?;
    }
    Ok((master, slave_path))
}
