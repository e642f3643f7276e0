//! The control channel between the command that starts a container and its monitor: a
//! SOCK_SEQPACKET pair, one JSON message per packet. The monitor's end is its fd 3.
//!
//! 1. CLI -> monitor: `Run` (a new container) or `Start` (an existing one);
//! 2. monitor -> CLI: `Created` (the runtime created it; the attach socket is listening)
//!    or `Failed`;
//! 3. CLI -> monitor: `Go` (the CLI is attached, or does not want to be);
//! 4. monitor -> CLI: `Started` or `Failed`.
//!
//! If the CLI goes away at any point, the monitor carries on as if it had said `Go`.

use crate::options::RunOptions;
use nix::sys::socket::{recv, send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};
use serde::{Deserialize, Serialize};
use std::os::fd::{AsRawFd, OwnedFd};

#[derive(Debug, Serialize, Deserialize)]
pub enum Control {
    Run(Box<RunOptions>),
    Start { id: String },
    Go,
    Created { id: String },
    Started { pid: i32 },
    Failed { message: String, exit_code: i32 },
}

pub struct ControlChannel {
    fd: OwnedFd,
}

pub fn pair() -> std::io::Result<(ControlChannel, OwnedFd)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?;
    Ok((ControlChannel { fd: a }, b))
}

impl ControlChannel {
    pub fn from_fd(fd: OwnedFd) -> Self {
        ControlChannel { fd }
    }

    pub fn send(&self, msg: &Control) -> std::io::Result<()> {
        let data = serde_json::to_vec(msg).map_err(std::io::Error::other)?;
        send(self.fd.as_raw_fd(), &data, MsgFlags::MSG_NOSIGNAL)?;
        Ok(())
    }

    /// The next message; `None` when the other side is gone.
    pub fn recv(&self) -> std::io::Result<Option<Control>> {
        let mut buf = vec![0u8; 256 * 1024];
        let n = loop {
            match recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Err(nix::Error::EINTR) => continue,
                r => break r?,
            }
        };
        if n == 0 {
            return Ok(None);
        }
        serde_json::from_slice(&buf[..n])
            .map(Some)
            .map_err(std::io::Error::other)
    }
}
