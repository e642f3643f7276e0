//! Entering a container's network namespace just long enough to open a netlink socket there.
//!
//! setns(2) with `CLONE_NEWNET` moves only the calling thread. We keep an fd of the thread's own namespace
//! (`/proc/thread-self/ns/net`, not `/proc/self`: the thread may differ from the process) and always switch back:
//! on the normal path with an error if that fails, and from `Drop` if the code in between panicked. A socket
//! opened inside stays bound to the container's namespace after we leave (see network_namespaces(7)), so all
//! configuration is then done from the host thread, as netavark's `open_netlink_sockets` does.

use std::fs::File;
use std::path::Path;

use nix::sched::{setns, CloneFlags};

use crate::error::{NetworkError, Result};
use crate::netlink::Socket;

const SELF_NET: &str = "/proc/thread-self/ns/net";

/// Opens a namespace file (`/proc/<pid>/ns/net` or a bind-mounted one).
pub fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|source| NetworkError::Netns {
        step: "open netns",
        path: path.to_path_buf(),
        source,
    })
}

/// Switches the thread into a netns; switching back is [`Switch::back`] or, failing that, `Drop`.
struct Switch {
    original: Option<File>,
}

impl Switch {
    fn enter(target: &File, path: &Path) -> Result<Self> {
        let original = open(Path::new(SELF_NET))?;
        setns(target, CloneFlags::CLONE_NEWNET).map_err(|e| NetworkError::Netns {
            step: "enter netns",
            path: path.to_path_buf(),
            source: e.into(),
        })?;
        Ok(Switch {
            original: Some(original),
        })
    }

    fn back(mut self) -> Result<()> {
        match self.original.take() {
            Some(orig) => setns(&orig, CloneFlags::CLONE_NEWNET).map_err(|e| NetworkError::Netns {
                step: "return to original netns from",
                path: SELF_NET.into(),
                source: e.into(),
            }),
            None => Ok(()),
        }
    }
}

impl Drop for Switch {
    fn drop(&mut self) {
        if let Some(orig) = self.original.take() {
            // Best effort on the unwinding path; the normal path reports errors through `back`.
            let _ = setns(&orig, CloneFlags::CLONE_NEWNET);
        }
    }
}

/// Opens a rtnetlink socket inside the netns `target` (opened from `path`) and returns to the caller's netns.
pub fn socket_in(target: &File, path: &Path) -> Result<Socket> {
    let switch = Switch::enter(target, path)?;
    let sock = Socket::new();
    switch.back()?;
    Ok(sock?)
}
