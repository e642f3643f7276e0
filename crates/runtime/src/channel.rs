//! The socketpair between the runtime (parent) and the container's init (child).
//!
//! One [`Message`] enum; each protocol step is one named method on the side that uses it.
//! The two halves of the handshake, numbered the same on both sides:
//!
//! 1. parent -> child  `CgroupReady`: the child is in its cgroup (v1 placement done).
//! 2. child -> parent  `Ready` (with the pty master when a terminal was asked for) or `Failed`.
//! 3. parent -> child  `Start`: exec the user's command.
//! 4. child: on a successful `execve` the socket (close-on-exec) closes, the parent reads EOF;
//!    on failure the child sends `ExecFailed` first.
//!
//! The socket is `SOCK_SEQPACKET`, so each message is one datagram and EOF is visible.

use crate::error::{ExecFailure, Result, RuntimeError};
use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};
use serde::{Deserialize, Serialize};
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

#[derive(Debug, Serialize, Deserialize)]
pub enum Message {
    CgroupReady,
    Ready,
    Failed(String),
    Start,
    ExecFailed { kind: ExecFailure, message: String },
}

/// One end of the channel.
#[derive(Debug)]
pub struct Channel {
    fd: OwnedFd,
}

/// Creates the pair: (parent end, child end). Both are close-on-exec.
pub fn pair() -> Result<(Channel, Channel)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| RuntimeError::Channel(format!("socketpair: {e}")))?;
    Ok((Channel { fd: a }, Channel { fd: b }))
}

impl Channel {
    fn send(&self, msg: &Message, fd: Option<RawFd>) -> Result<()> {
        let buf = serde_json::to_vec(msg).map_err(|e| RuntimeError::Channel(e.to_string()))?;
        let iov = [IoSlice::new(&buf)];
        let fds;
        let cmsgs: &[ControlMessage] = match fd {
            Some(fd) => {
                fds = [fd];
                &[ControlMessage::ScmRights(&fds)]
            }
            None => &[],
        };
        sendmsg::<()>(
            self.fd.as_raw_fd(),
            &iov,
            cmsgs,
            MsgFlags::MSG_NOSIGNAL,
            None,
        )
        .map_err(|e| RuntimeError::Channel(format!("send {msg:?}: {e}")))?;
        Ok(())
    }

    /// Receives one message and the fd that came with it; `None` at EOF.
    fn recv(&self) -> Result<Option<(Message, Option<OwnedFd>)>> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut cmsg = nix::cmsg_space!([RawFd; 1]);
        let (len, fd) = loop {
            let mut iov = [IoSliceMut::new(&mut buf)];
            match recvmsg::<()>(
                self.fd.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Ok(r) => {
                    let mut fd = None;
                    for c in r
                        .cmsgs()
                        .map_err(|e| RuntimeError::Channel(e.to_string()))?
                    {
                        if let ControlMessageOwned::ScmRights(fds) = c {
                            // SAFETY: the kernel just installed these fds in our table; we
                            // are their only owner.
                            fd = fds.first().map(|&f| unsafe { OwnedFd::from_raw_fd(f) });
                        }
                    }
                    break (r.bytes, fd);
                }
                Err(nix::Error::EINTR) => continue,
                Err(e) => return Err(RuntimeError::Channel(format!("receive: {e}"))),
            }
        };
        if len == 0 {
            return Ok(None);
        }
        let msg = serde_json::from_slice(&buf[..len])
            .map_err(|e| RuntimeError::Channel(format!("bad message: {e}")))?;
        Ok(Some((msg, fd)))
    }

    fn unexpected(expected: &str, got: Option<Message>) -> RuntimeError {
        match got {
            None => RuntimeError::Channel(format!(
                "container process exited while the runtime waited for {expected}"
            )),
            Some(m) => RuntimeError::Channel(format!("expected {expected}, got {m:?}")),
        }
    }

    // ---- parent side ----

    /// Sync 1.
    pub fn send_cgroup_ready(&self) -> Result<()> {
        self.send(&Message::CgroupReady, None)
    }

    /// Sync 2: waits until init has set everything up; returns the pty master if any.
    pub fn wait_ready(&self) -> Result<Option<OwnedFd>> {
        match self.recv()? {
            Some((Message::Ready, fd)) => Ok(fd),
            Some((Message::Failed(m), _)) => Err(RuntimeError::Init(m)),
            Some((Message::ExecFailed { kind, message }, _)) => {
                Err(RuntimeError::Exec { kind, message })
            }
            other => Err(Self::unexpected("Ready", other.map(|(m, _)| m))),
        }
    }

    /// Sync 3 and 4: lets init exec and waits until the exec happened (EOF).
    pub fn start_and_wait_exec(&self) -> Result<()> {
        self.send(&Message::Start, None)?;
        match self.recv()? {
            None => Ok(()),
            Some((Message::ExecFailed { kind, message }, _)) => {
                Err(RuntimeError::Exec { kind, message })
            }
            Some((Message::Failed(m), _)) => Err(RuntimeError::Init(m)),
            Some((m, _)) => Err(Self::unexpected("exec", Some(m))),
        }
    }

    // ---- child side ----

    /// Sync 1 (child).
    pub fn wait_cgroup_ready(&self) -> Result<()> {
        match self.recv()? {
            Some((Message::CgroupReady, _)) => Ok(()),
            other => Err(Self::unexpected("CgroupReady", other.map(|(m, _)| m))),
        }
    }

    /// Sync 2 (child).
    pub fn send_ready(&self, pty_master: Option<RawFd>) -> Result<()> {
        self.send(&Message::Ready, pty_master)
    }

    /// Sync 3 (child).
    pub fn wait_start(&self) -> Result<()> {
        match self.recv()? {
            Some((Message::Start, _)) => Ok(()),
            other => Err(Self::unexpected("Start", other.map(|(m, _)| m))),
        }
    }

    /// Reports a failure before exec (best effort: the parent may be gone).
    pub fn send_failed(&self, err: &RuntimeError) {
        let msg = match err {
            RuntimeError::Exec { kind, message } => Message::ExecFailed {
                kind: *kind,
                message: message.clone(),
            },
            other => Message::Failed(other.to_string()),
        };
        let _ = self.send(&msg, None);
    }
}
