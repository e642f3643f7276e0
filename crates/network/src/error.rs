//! Errors of the network crate.
//!
//! Each module has its own small enum ([`NetlinkError`], [`FirewallError`], [`StateError`]); they are gathered
//! into [`NetworkError`], the one type the public API returns. Every variant names the step and the object
//! (network, device, path, address). Messages are lower-case with no final period, except the few that copy
//! Docker's wording on purpose (`Bind for 0.0.0.0:8080 failed: port is already allocated`), so that users and
//! scripts see the message they know.

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use crate::subnet::Ipv4Net;

/// Result alias of this crate.
pub type Result<T, E = NetworkError> = std::result::Result<T, E>;

/// The one error type returned by the public API.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// A `--subnet` value that is not an IPv4 CIDR, or has host bits set, or is too small.
    #[error("invalid subnet {value:?}: {reason}")]
    InvalidSubnet {
        /// What the user gave.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A `--gateway` or `--ip` value that is not an IPv4 address.
    #[error("invalid ipv4 address {0:?}")]
    InvalidAddress(String),
    /// The gateway is not a usable host address of the subnet.
    #[error("invalid gateway {gateway}: not a host address of subnet {subnet}")]
    GatewayOutsideSubnet {
        /// Requested gateway.
        gateway: Ipv4Addr,
        /// The network's subnet.
        subnet: Ipv4Net,
    },
    /// A network name that is empty or has characters Docker does not allow.
    #[error("invalid network name {0:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    InvalidName(String),
    /// `network create` with a name that already exists.
    #[error("network with name {0} already exists")]
    DuplicateName(String),
    /// No network has this name, id or id prefix.
    #[error("network {0} not found")]
    NotFound(String),
    /// The prefix given matches more than one network id.
    #[error("network id prefix {0} is ambiguous")]
    Ambiguous(String),
    /// Only the bridge driver exists.
    #[error("driver {0:?} is not supported: only \"bridge\" is")]
    UnsupportedDriver(String),
    /// The requested subnet overlaps a subnet of one of our networks.
    #[error(
        "invalid pool request: pool {subnet} overlaps with pool {other} of network {other_name}"
    )]
    Overlap {
        /// Requested subnet.
        subnet: Ipv4Net,
        /// The subnet it overlaps.
        other: Ipv4Net,
        /// The network that owns `other`.
        other_name: String,
    },
    /// No default pool is free (neither ours nor a host route uses it).
    #[error("could not find an available, non-overlapping ipv4 address pool among the defaults to assign to the network")]
    NoFreePool,
    /// Every host address of the subnet is handed out.
    #[error("no available IPv4 addresses on this network's address pools: {network} ({subnet})")]
    PoolExhausted {
        /// Network name.
        network: String,
        /// Network subnet.
        subnet: Ipv4Net,
    },
    /// `--ip` asks for an address that is not a host address of the subnet (or is the gateway).
    #[error("address {ip} is not available on network {network} ({subnet}): {reason}")]
    AddressUnusable {
        /// Requested address.
        ip: Ipv4Addr,
        /// Network name.
        network: String,
        /// Network subnet.
        subnet: Ipv4Net,
        /// Why.
        reason: &'static str,
    },
    /// `--ip` asks for an address another endpoint has.
    #[error("address {ip} is already in use on network {network}")]
    AddressInUse {
        /// Requested address.
        ip: Ipv4Addr,
        /// Network name.
        network: String,
    },
    /// The container already has an endpoint on this network.
    #[error("endpoint with name {container} already exists in network {network}")]
    AlreadyConnected {
        /// Container name (or id when it has no name).
        container: String,
        /// Network name.
        network: String,
    },
    /// `network rm` while containers use the network (Docker's wording).
    #[error("error while removing network: network {name} id {id} has active endpoints")]
    ActiveEndpoints {
        /// Network name.
        name: String,
        /// Network id.
        id: String,
    },
    /// The default `bridge` network cannot be removed.
    #[error("bridge is a pre-defined network and cannot be removed")]
    Predefined,
    /// The host port is taken by another process or another endpoint (Docker's wording).
    #[error("Bind for {host_ip}:{port} failed: port is already allocated")]
    PortAllocated {
        /// Host address of the mapping.
        host_ip: IpAddr,
        /// Host port.
        port: u16,
    },
    /// No free host port was found for a `-P` or `-p 80` mapping.
    #[error("no free host port for {protocol} on {host_ip}")]
    NoFreePort {
        /// Host address of the mapping.
        host_ip: IpAddr,
        /// "tcp" or "udp".
        protocol: &'static str,
    },
    /// A `-p` value that does not parse.
    #[error("invalid publish spec {spec:?}: {reason}")]
    InvalidPublish {
        /// What the user gave.
        spec: String,
        /// Why it was refused.
        reason: String,
    },
    /// A bridge device with this name exists on the host and is not ours.
    #[error("cannot create network {network}: a device named {device} already exists")]
    DeviceExists {
        /// Network name.
        network: String,
        /// Device name.
        device: String,
    },
    /// Kernel netlink request failed.
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    /// nftables failed.
    #[error(transparent)]
    Firewall(#[from] FirewallError),
    /// State files could not be read or written.
    #[error(transparent)]
    State(#[from] StateError),
    /// Entering or leaving a network namespace failed.
    #[error("{step} {path}: {source}")]
    Netns {
        /// What was being done ("open netns", "enter netns", "return to original netns").
        step: &'static str,
        /// The namespace file.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },
    /// Writing a `/proc/sys` knob failed.
    #[error("write sysctl {path}: {source}")]
    Sysctl {
        /// The `/proc/sys` path.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },
    /// A host port probe failed for a reason other than "in use".
    #[error("probe host port {host_ip}:{port}: {source}")]
    PortProbe {
        /// Host address.
        host_ip: IpAddr,
        /// Port.
        port: u16,
        /// Cause.
        source: io::Error,
    },
    /// IPv6 host addresses cannot be published yet.
    #[error("publishing on ipv6 host address {0} is not supported")]
    Ipv6Unsupported(IpAddr),
    /// A setup step failed and undoing it failed too: both are reported.
    #[error("{error}; cleanup after the failure also failed: {cleanup}")]
    WithCleanup {
        /// The original failure.
        error: Box<NetworkError>,
        /// The failures met while undoing.
        cleanup: ErrorList,
    },
    /// Teardown kept going past failures; these are all of them.
    #[error("{0}")]
    Teardown(ErrorList),
}

/// Several errors collected by a best-effort teardown.
#[derive(Debug, Default)]
pub struct ErrorList(pub Vec<NetworkError>);

impl std::fmt::Display for ErrorList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl ErrorList {
    /// Records the error of `r`, if any.
    pub(crate) fn push_err<T>(&mut self, r: Result<T>) {
        if let Err(e) = r {
            self.0.push(e);
        }
    }

    /// `Ok` when nothing failed, else [`NetworkError::Teardown`].
    pub(crate) fn into_result(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(NetworkError::Teardown(self))
        }
    }

    /// Combines an original failure with what failed while undoing it.
    pub(crate) fn attach_to(self, error: NetworkError) -> NetworkError {
        if self.0.is_empty() {
            error
        } else {
            NetworkError::WithCleanup {
                error: Box::new(error),
                cleanup: self,
            }
        }
    }
}

/// Errors of the netlink socket and its verbs.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    /// socket(2)/bind(2) on the netlink socket failed.
    #[error("open netlink socket: {0}")]
    Open(io::Error),
    /// send/recv failed.
    #[error("netlink {step} for {what}: {source}")]
    Io {
        /// "send" or "recv".
        step: &'static str,
        /// The request ("create bridge br-1234").
        what: String,
        /// Cause.
        source: io::Error,
    },
    /// The kernel answered with an error.
    #[error("{what}: {source}")]
    Kernel {
        /// The request ("add address 10.0.0.1/24 to br-1234").
        what: String,
        /// errno from the kernel.
        source: io::Error,
    },
    /// A reply did not parse.
    #[error("decode netlink reply for {what}: {reason}")]
    Decode {
        /// The request.
        what: String,
        /// Parser message.
        reason: String,
    },
    /// A device we need does not exist.
    #[error("device {0} not found")]
    NoDevice(String),
}

impl NetlinkError {
    /// The kernel errno, when the kernel refused the request.
    pub fn errno(&self) -> Option<i32> {
        match self {
            NetlinkError::Kernel { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

/// Errors of the nftables driver.
#[derive(Debug, thiserror::Error)]
pub enum FirewallError {
    /// The `nft` binary could not be started.
    #[error("run {program}: {source}")]
    Spawn {
        /// Program path.
        program: String,
        /// Cause.
        source: io::Error,
    },
    /// `nft -f -` refused the ruleset.
    #[error("apply nftables ruleset to table {table}: {stderr}")]
    Apply {
        /// Our table.
        table: String,
        /// What nft printed.
        stderr: String,
    },
}

/// Errors of the state files.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Any file system call failed.
    #[error("{step} {path}: {source}")]
    Io {
        /// "create dir", "lock", "read", "write", "rename", "remove".
        step: &'static str,
        /// The file.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },
    /// A state file is not valid JSON for its type.
    #[error("parse {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: serde_json::Error,
    },
}
