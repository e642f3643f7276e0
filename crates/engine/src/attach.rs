//! Attaching a terminal to a container through its monitor.
//!
//! The monitor listens on a unix socket (`<exec root>/<short id>.sock`). A client (the CLI
//! of `run`, `start -a` or `attach`) and the monitor exchange [`Frame`]s: a kind byte, a
//! big-endian u32 length, then the payload. Output goes monitor -> client; input, window
//! size and signals go client -> monitor; the last frame a client gets is the exit code.
//! Detaching (ctrl-p ctrl-q) is decided by the client: it just goes away.

use crate::error::{sys_err, EngineError, Result};
use crate::terminal::{self, RawMode, Signals};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Stdin(Vec<u8>),
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
    CloseStdin,
    Resize { rows: u16, cols: u16 },
    Signal(i32),
    Exit(i32),
}

impl Frame {
    pub fn write_to(&self, w: &mut impl Write) -> std::io::Result<()> {
        let (kind, payload): (u8, Vec<u8>) = match self {
            Frame::Stdin(d) => (0, d.clone()),
            Frame::Stdout(d) => (1, d.clone()),
            Frame::Stderr(d) => (2, d.clone()),
            Frame::CloseStdin => (3, Vec::new()),
            Frame::Resize { rows, cols } => (4, [rows.to_be_bytes(), cols.to_be_bytes()].concat()),
            Frame::Signal(s) => (5, s.to_be_bytes().to_vec()),
            Frame::Exit(c) => (6, c.to_be_bytes().to_vec()),
        };
        let mut buf = Vec::with_capacity(5 + payload.len());
        buf.push(kind);
        buf.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        buf.extend_from_slice(&payload);
        w.write_all(&buf)
    }

    /// Reads one frame; `None` at a clean end of stream.
    pub fn read_from(r: &mut impl Read) -> std::io::Result<Option<Frame>> {
        let mut head = [0u8; 5];
        match r.read_exact(&mut head) {
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            r => r?,
        }
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        if len > 1 << 20 {
            return Err(std::io::Error::other("attach frame too large"));
        }
        let mut payload = vec![0u8; len];
        r.read_exact(&mut payload)?;
        let int = |p: &[u8]| i32::from_be_bytes(p.try_into().unwrap_or([0; 4]));
        Ok(Some(match head[0] {
            0 => Frame::Stdin(payload),
            1 => Frame::Stdout(payload),
            2 => Frame::Stderr(payload),
            3 => Frame::CloseStdin,
            4 if len == 4 => Frame::Resize {
                rows: u16::from_be_bytes([payload[0], payload[1]]),
                cols: u16::from_be_bytes([payload[2], payload[3]]),
            },
            5 => Frame::Signal(int(&payload)),
            6 => Frame::Exit(int(&payload)),
            k => return Err(std::io::Error::other(format!("unknown attach frame {k}"))),
        }))
    }
}

/// How a client session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Exited(i32),
    Detached,
}

#[derive(Debug, Clone, Copy)]
pub struct ClientOptions {
    pub tty: bool,
    /// Send our stdin to the container.
    pub stdin: bool,
    /// Forward signals we receive to the container.
    pub sig_proxy: bool,
}

const PROXIED: [Signal; 6] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

/// ctrl-p ctrl-q, Docker's default detach keys.
const DETACH_KEYS: [u8; 2] = [0x10, 0x11];

/// Connects our terminal to the container until it exits or the user detaches.
pub fn run_client(mut sock: UnixStream, opts: ClientOptions) -> Result<Outcome> {
    let mut wanted = vec![Signal::SIGWINCH];
    if opts.sig_proxy {
        wanted.extend(PROXIED);
    }
    let signals = Signals::block(&wanted)?;
    let _raw = if opts.tty && opts.stdin {
        Some(RawMode::enter()?)
    } else {
        None
    };
    if opts.tty {
        send_window_size(&mut sock);
    }

    let io_err = |e: std::io::Error| EngineError::InvalidArgument(format!("attach: {e}"));
    let stdin = std::io::stdin();
    let mut stdin_open = opts.stdin;
    let mut detach_state = 0usize;
    let mut buf = vec![0u8; 32 * 1024];
    let mut reader = sock.try_clone().map_err(io_err)?;
    loop {
        let mut fds = vec![
            PollFd::new(sock.as_fd(), PollFlags::POLLIN),
            PollFd::new(signals.fd.as_fd(), PollFlags::POLLIN),
        ];
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
        if ready[0] {
            match Frame::read_from(&mut reader).map_err(io_err)? {
                Some(Frame::Stdout(d)) => {
                    terminal::write_all(std::io::stdout().as_fd(), &d);
                }
                Some(Frame::Stderr(d)) => {
                    terminal::write_all(std::io::stderr().as_fd(), &d);
                }
                Some(Frame::Exit(code)) => return Ok(Outcome::Exited(code)),
                Some(_) => {}
                None => {
                    return Err(EngineError::InvalidArgument(
                        "the container's monitor went away".into(),
                    ))
                }
            }
        }
        if ready[1] {
            for s in signals.pending() {
                if s == Signal::SIGWINCH {
                    send_window_size(&mut sock);
                } else {
                    let _ = Frame::Signal(s as i32).write_to(&mut sock);
                }
            }
        }
        if stdin_open && ready[2] {
            let n = nix::unistd::read(stdin.as_fd(), &mut buf).unwrap_or(0);
            if n == 0 {
                stdin_open = false;
                let _ = Frame::CloseStdin.write_to(&mut sock);
                continue;
            }
            let mut data = &buf[..n];
            if opts.tty {
                // Watch for ctrl-p ctrl-q; bytes of a partial match are held back.
                for (i, &b) in data.iter().enumerate() {
                    if b == DETACH_KEYS[detach_state] {
                        detach_state += 1;
                        if detach_state == DETACH_KEYS.len() {
                            let _ = Frame::Stdin(data[..i + 1 - DETACH_KEYS.len()].to_vec())
                                .write_to(&mut sock);
                            return Ok(Outcome::Detached);
                        }
                    } else {
                        detach_state = 0;
                    }
                }
                if detach_state > 0 {
                    data = &data[..data.len() - detach_state];
                }
            }
            if !data.is_empty() {
                let _ = Frame::Stdin(data.to_vec()).write_to(&mut sock);
            }
        }
    }
}

fn send_window_size(sock: &mut UnixStream) {
    if let Some((rows, cols)) = terminal::window_size() {
        let _ = Frame::Resize { rows, cols }.write_to(sock);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let frames = [
            Frame::Stdin(b"ls\n".to_vec()),
            Frame::Stdout(b"out".to_vec()),
            Frame::Stderr(Vec::new()),
            Frame::CloseStdin,
            Frame::Resize {
                rows: 40,
                cols: 100,
            },
            Frame::Signal(15),
            Frame::Exit(137),
        ];
        let mut buf = Vec::new();
        for f in &frames {
            f.write_to(&mut buf).unwrap();
        }
        let mut r = &buf[..];
        for f in &frames {
            assert_eq!(Frame::read_from(&mut r).unwrap().as_ref(), Some(f));
        }
        assert_eq!(Frame::read_from(&mut r).unwrap(), None);
    }
}
