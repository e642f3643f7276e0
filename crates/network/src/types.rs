//! The public data types: what the engine asks for and what is stored.
//!
//! [`NetworkInfo`] and [`EndpointInfo`] are both the on-disk records and what `inspect` shows, so the engine can
//! print them as JSON as they are. Requests ([`CreateRequest`], [`EndpointRequest`]) are separate: they carry
//! options ("pick a subnet for me", "pick a host port") that the records hold resolved.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::subnet::Ipv4Net;

/// Name of Docker's default network.
pub const DEFAULT_NETWORK: &str = "bridge";
/// Bridge device of the default network (Docker's is `docker0`).
pub const DEFAULT_BRIDGE: &str = "mydocker0";
/// MTU used when the request gives none.
pub const DEFAULT_MTU: u32 = 1500;

/// `network create` options.
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    /// Network name (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`).
    pub name: String,
    /// Driver; only `"bridge"` (also the default when empty).
    pub driver: String,
    /// Subnet; `None` picks a free one among Docker's default pools.
    pub subnet: Option<Ipv4Net>,
    /// Gateway; `None` means the first host address.
    pub gateway: Option<Ipv4Addr>,
    /// `--internal`: no masquerade, no traffic in or out of the bridge except between its containers.
    pub internal: bool,
    /// `--label k=v`.
    pub labels: BTreeMap<String, String>,
    /// MTU of the bridge and the veths; `None` is 1500.
    pub mtu: Option<u32>,
    /// Bridge device name; `None` is `br-<first 12 hex of the id>`.
    pub bridge: Option<String>,
}

/// A network, as stored in `<root>/network/networks/<id>.json` and shown by `inspect`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkInfo {
    /// 64 hex chars.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Always `"bridge"`.
    pub driver: String,
    /// Linux bridge device.
    pub bridge: String,
    /// The subnet.
    pub subnet: Ipv4Net,
    /// The bridge's address, the containers' default gateway.
    pub gateway: Ipv4Addr,
    /// `--internal`.
    pub internal: bool,
    /// MTU of the bridge and of every veth.
    pub mtu: u32,
    /// User labels.
    pub labels: BTreeMap<String, String>,
    /// Creation time, seconds since the epoch.
    pub created: u64,
    /// Endpoints by container id.
    pub endpoints: BTreeMap<String, EndpointInfo>,
}

impl NetworkInfo {
    /// The first 12 hex chars of the id, as `network ls` shows it.
    pub fn short_id(&self) -> &str {
        self.id.get(..12).unwrap_or(&self.id)
    }
}

/// One container's attachment to one network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointInfo {
    /// Container id.
    pub container_id: String,
    /// Container name (for /etc/hosts).
    pub container_name: String,
    /// `--network-alias` values (for /etc/hosts).
    pub aliases: Vec<String>,
    /// The container's address on this network.
    pub ip: Ipv4Addr,
    /// The container interface's MAC address, `02:42:..`.
    pub mac: String,
    /// Interface name inside the container (`eth0`, `eth1`, ...).
    pub interface: String,
    /// Host end of the veth pair, attached to the bridge.
    pub host_veth: String,
    /// Whether this endpoint set the container's default route.
    pub default_route: bool,
    /// Published ports, with host ports resolved.
    pub ports: Vec<PublishedPort>,
}

/// Transport protocol of a port mapping.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP (the default).
    #[default]
    Tcp,
    /// UDP.
    Udp,
}

impl Protocol {
    /// `"tcp"` or `"udp"`, as nft and Docker spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A requested `-p` mapping. `host_port == 0` asks for a free port (`-P`, `-p 80`, `-p 127.0.0.1::80`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortMapping {
    /// Host address to listen on; `None` is every address (`0.0.0.0`).
    pub host_ip: Option<IpAddr>,
    /// Host port; 0 = pick one.
    pub host_port: u16,
    /// Port inside the container.
    pub container_port: u16,
    /// tcp or udp.
    pub protocol: Protocol,
}

/// A mapping in force: host port resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PublishedPort {
    /// Host address (`0.0.0.0` = every address).
    pub host_ip: Ipv4Addr,
    /// Host port.
    pub host_port: u16,
    /// Port inside the container.
    pub container_port: u16,
    /// tcp or udp.
    pub protocol: Protocol,
}

impl fmt::Display for PublishedPort {
    /// `docker port` format: `80/tcp -> 0.0.0.0:8080`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} -> {}:{}",
            self.container_port, self.protocol, self.host_ip, self.host_port
        )
    }
}

/// `connect` options: one container joining one network.
#[derive(Debug, Clone, Default)]
pub struct EndpointRequest {
    /// Container id.
    pub container_id: String,
    /// Container name.
    pub container_name: String,
    /// The container's network namespace, e.g. `/proc/<pid>/ns/net`.
    pub netns: PathBuf,
    /// `--ip`.
    pub ip: Option<Ipv4Addr>,
    /// `--mac-address` (`aa:bb:cc:dd:ee:ff`); `None` derives `02:42:<ip>` as Docker does.
    pub mac: Option<String>,
    /// `--network-alias`.
    pub aliases: Vec<String>,
    /// `-p`/`-P` mappings (only honoured on non-internal networks).
    pub ports: Vec<PortMapping>,
    /// Interface name in the container; `None` = first free `ethN`.
    pub interface: Option<String>,
}
