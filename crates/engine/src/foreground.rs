//! A container in the foreground: the user's terminal is connected to it until it exits.
//!
//! - With `-t`, the container has a pty; its master comes back from the runtime. Our
//!   terminal goes to raw mode, its size is copied to the pty (and again on SIGWINCH), and
//!   bytes are copied both ways.
//! - Without `-t`, the container uses our stdio fds directly: nothing to copy.
//! - Either way, signals sent to us (SIGINT, SIGTERM, ...) are forwarded to the container's
//!   init, as `docker run --sig-proxy` does, and SIGCHLD tells us it exited.
//!
//! One thread, one poll loop over a signalfd, the pty master and stdin.

use crate::error::{sys_err, Result};
use mydocker_runtime::Container;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{self, SetArg, Termios};
use nix::unistd::isatty;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

const FORWARDED: [Signal; 6] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

/// Restores the terminal and the signal mask when the session ends, however it ends.
struct SessionGuard {
    termios: Option<Termios>,
    old_mask: SigSet,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        if let Some(t) = &self.termios {
            let _ = termios::tcsetattr(std::io::stdin(), SetArg::TCSANOW, t);
        }
        let _ = self.old_mask.thread_set_mask();
    }
}

/// Starts the container and stays with it until it exits; returns its exit code.
pub fn run_attached(container: &mut Container, interactive: bool) -> Result<i32> {
    let mut mask = SigSet::empty();
    for s in FORWARDED {
        mask.add(s);
    }
    mask.add(Signal::SIGCHLD);
    mask.add(Signal::SIGWINCH);
    let mut old_mask = SigSet::empty();
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&mask), Some(&mut old_mask))
        .map_err(sys_err("block signals"))?;
    let mut guard = SessionGuard {
        termios: None,
        old_mask,
    };
    let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(sys_err("signalfd"))?;

    let master = container.take_pty_master();
    if let Some(m) = &master {
        copy_window_size(m.as_fd());
        let stdin = std::io::stdin();
        if interactive && isatty(&stdin).unwrap_or(false) {
            let saved = termios::tcgetattr(&stdin).map_err(sys_err("read terminal mode"))?;
            let mut raw = saved.clone();
            termios::cfmakeraw(&mut raw);
            termios::tcsetattr(&stdin, SetArg::TCSANOW, &raw)
                .map_err(sys_err("set terminal raw"))?;
            guard.termios = Some(saved);
        }
    }

    container.start()?;
    let code = pump(container, &sfd, master.as_ref(), interactive)?;
    drop(guard);
    Ok(code)
}

fn pump(
    container: &mut Container,
    sfd: &SignalFd,
    master: Option<&OwnedFd>,
    interactive: bool,
) -> Result<i32> {
    let stdin = std::io::stdin();
    let mut master_open = master.is_some();
    let mut stdin_open = master.is_some() && interactive;
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let mut fds = vec![PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
        if let (true, Some(m)) = (master_open, master) {
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
            if ready[i] {
                if let Some(m) = master {
                    master_open = copy(m.as_fd(), std::io::stdout().as_fd(), &mut buf);
                }
            }
            i += 1;
        }
        if stdin_open && ready[i] {
            if let Some(m) = master {
                stdin_open = copy(stdin.as_fd(), m.as_fd(), &mut buf);
            }
        }
        if ready[0] {
            while let Ok(Some(info)) = sfd.read_signal() {
                let sig = Signal::try_from(info.ssi_signo as i32).ok();
                match sig {
                    Some(Signal::SIGCHLD) => {}
                    Some(Signal::SIGWINCH) => {
                        if let Some(m) = master {
                            copy_window_size(m.as_fd());
                        }
                    }
                    Some(s) => {
                        let _ = container.kill(s);
                    }
                    None => {}
                }
            }
            if let Some(code) = container.try_wait()? {
                // The pty may still hold output written just before the exit.
                if let (true, Some(m)) = (master_open, master) {
                    while copy(m.as_fd(), std::io::stdout().as_fd(), &mut buf) {}
                }
                return Ok(code);
            }
        }
    }
}

/// Copies one chunk; false when `from` is at its end (or the pty hung up).
fn copy(from: BorrowedFd<'_>, to: BorrowedFd<'_>, buf: &mut [u8]) -> bool {
    // A pty master with no reader left would block: poll first, never wait here.
    let mut p = [PollFd::new(from, PollFlags::POLLIN)];
    if !matches!(poll(&mut p, PollTimeout::ZERO), Ok(n) if n > 0) {
        return false;
    }
    match nix::unistd::read(from, buf) {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            let mut data = &buf[..n];
            while !data.is_empty() {
                match nix::unistd::write(to, data) {
                    Ok(w) => data = &data[w..],
                    Err(nix::Error::EINTR) | Err(nix::Error::EAGAIN) => continue,
                    Err(_) => return false,
                }
            }
            true
        }
    }
}

fn copy_window_size(master: BorrowedFd<'_>) {
    // SAFETY: winsize is plain integers; all-zero is a valid value.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    for fd in [libc::STDIN_FILENO, libc::STDOUT_FILENO] {
        // SAFETY: TIOCGWINSZ writes a winsize into the struct we pass.
        if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0 {
            // SAFETY: TIOCSWINSZ reads the winsize we pass.
            unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
            return;
        }
    }
}
