//! The user's terminal and the signals a foreground command handles: raw mode while a
//! container owns the terminal, window sizes, copying between fds, and a signalfd.
//! Shared by `attach` (run, start -a, attach) and `exec`.

use crate::error::{sys_err, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{self, SetArg, Termios};
use std::os::fd::{AsRawFd, BorrowedFd};

/// Our stdin in raw mode (keys go to the container as typed); restored on drop.
pub struct RawMode {
    saved: Option<Termios>,
}

impl RawMode {
    /// Switches stdin to raw mode if it is a terminal; otherwise does nothing.
    pub fn enter() -> Result<RawMode> {
        let stdin = std::io::stdin();
        if !nix::unistd::isatty(&stdin).unwrap_or(false) {
            return Ok(RawMode { saved: None });
        }
        let saved = termios::tcgetattr(&stdin).map_err(sys_err("read terminal mode"))?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(&stdin, SetArg::TCSANOW, &raw).map_err(sys_err("set terminal raw"))?;
        Ok(RawMode { saved: Some(saved) })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = termios::tcsetattr(std::io::stdin(), SetArg::TCSANOW, t);
        }
    }
}

/// Signals delivered through a signalfd instead of handlers; the old mask comes back on drop.
pub struct Signals {
    pub fd: SignalFd,
    old_mask: SigSet,
}

impl Signals {
    pub fn block(signals: &[Signal]) -> Result<Signals> {
        let mut mask = SigSet::empty();
        for s in signals {
            mask.add(*s);
        }
        let mut old_mask = SigSet::empty();
        nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&mask), Some(&mut old_mask))
            .map_err(sys_err("block signals"))?;
        let fd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
            .map_err(sys_err("signalfd"))?;
        Ok(Signals { fd, old_mask })
    }

    /// The signals received since the last call.
    pub fn pending(&self) -> Vec<Signal> {
        let mut out = Vec::new();
        while let Ok(Some(info)) = self.fd.read_signal() {
            if let Ok(s) = Signal::try_from(info.ssi_signo as i32) {
                out.push(s);
            }
        }
        out
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        let _ = self.old_mask.thread_set_mask();
    }
}

/// The size of our terminal (rows, cols), from stdin or else stdout.
pub fn window_size() -> Option<(u16, u16)> {
    // SAFETY: winsize is plain integers; all-zero is a valid value.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    for fd in [libc::STDIN_FILENO, libc::STDOUT_FILENO] {
        // SAFETY: TIOCGWINSZ writes a winsize into the struct we pass.
        if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0 {
            return Some((ws.ws_row, ws.ws_col));
        }
    }
    None
}

/// Sets the size of the terminal behind `fd` (a pty master).
pub fn set_window_size(fd: BorrowedFd<'_>, rows: u16, cols: u16) {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads the winsize we pass.
    unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
}

/// Writes all of `data`, retrying interrupted and would-block writes; false on error.
pub fn write_all(fd: BorrowedFd<'_>, mut data: &[u8]) -> bool {
    while !data.is_empty() {
        match nix::unistd::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(nix::Error::EINTR) | Err(nix::Error::EAGAIN) => continue,
            Err(_) => return false,
        }
    }
    true
}

/// Copies one chunk that is ready now; false at the end (or a hung-up pty) or when
/// nothing is ready.
pub fn copy_ready(from: BorrowedFd<'_>, to: BorrowedFd<'_>, buf: &mut [u8]) -> bool {
    let mut p = [PollFd::new(from, PollFlags::POLLIN)];
    if !matches!(poll(&mut p, PollTimeout::ZERO), Ok(n) if n > 0) {
        return false;
    }
    match nix::unistd::read(from, buf) {
        Ok(0) | Err(_) => false,
        Ok(n) => write_all(to, &buf[..n]),
    }
}
