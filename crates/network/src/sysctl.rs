//! The `/proc/sys` knobs a bridge network needs.
//!
//! - `net.ipv4.ip_forward=1`: route between the bridge and the host's other interfaces (book readers' bug #13).
//! - `net.ipv4.conf.<bridge>.route_localnet=1`: lets a packet with source 127.0.0.1, DNATed in the output chain,
//!   leave through the bridge (it is then masqueraded), so published ports answer on the host's 127.0.0.1.
//!
//! Both are per network namespace: the files seen are those of the calling thread's netns.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{NetworkError, Result};

fn set(path: &Path, value: &str) -> Result<()> {
    if fs::read_to_string(path)
        .map(|v| v.trim() == value)
        .unwrap_or(false)
    {
        return Ok(());
    }
    fs::write(path, value).map_err(|source| NetworkError::Sysctl {
        path: path.to_path_buf(),
        source,
    })
}

/// Turns on IPv4 forwarding.
pub fn enable_ip_forward() -> Result<()> {
    set(Path::new("/proc/sys/net/ipv4/ip_forward"), "1")
}

/// Turns on `route_localnet` for one interface.
pub fn enable_route_localnet(device: &str) -> Result<()> {
    let path: PathBuf = ["/proc/sys/net/ipv4/conf", device, "route_localnet"]
        .iter()
        .collect();
    set(&path, "1")
}
