//! mydocker-network: bridge networks for containers (book chapter 6), done the way Docker users expect.
//!
//! # Overview
//! [`Networks`] is the one entry point; the engine calls it, never the other way round.
//! - A *network* is a Linux bridge with the gateway address, a subnet, and a state file
//!   (`<root>/network/networks/<id>.json`, see [`state`]).
//! - An *endpoint* is one container on one network: an IP from the network's IPAM ([`ipam`]), a veth pair made
//!   over netlink ([`netlink`], [`bridge`]), and published ports ([`ports`]).
//! - The *firewall* ([`firewall`]) is one nftables table of ours, re-rendered from the whole state after every
//!   change, so no rule outlives its endpoint or network and `reload` restores everything after a flush.
//!
//! Every operation holds an exclusive `flock` on the state for its whole duration: concurrent `mydocker run`
//! commands never get the same address or host port. The library is synchronous and starts no thread; to configure
//! a container it enters the container's netns only to open a netlink socket there ([`netns`]).
//!
//! # Example
//! ```no_run
//! use mydocker_network::{EndpointRequest, Networks, parse_publish};
//! # fn main() -> Result<(), mydocker_network::NetworkError> {
//! let nets = Networks::open("/var/lib/mydocker".as_ref())?;
//! let bridge = nets.ensure_default()?;
//! let ep = nets.connect(&bridge.name, EndpointRequest {
//!     container_id: "0123abcd".into(),
//!     container_name: "web".into(),
//!     netns: "/proc/4242/ns/net".into(),
//!     ports: parse_publish("8080:80")?,
//!     ..Default::default()
//! })?;
//! println!("{} on {}", ep.ip, ep.interface);
//! nets.disconnect(&bridge.name, "0123abcd")?;
//! # Ok(()) }
//! ```

pub mod bridge;
pub mod dns;
pub mod error;
pub mod firewall;
pub mod ipam;
pub mod netlink;
pub mod netns;
pub mod ports;
pub mod state;
pub mod subnet;
pub mod sysctl;
pub mod types;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::RngCore;

pub use crate::dns::HostEntry;
pub use crate::error::{ErrorList, FirewallError, NetlinkError, NetworkError, Result, StateError};
pub use crate::firewall::{nft::Nftables, Firewall, NoFirewall, Plan};
pub use crate::ports::parse_publish;
pub use crate::subnet::Ipv4Net;
pub use crate::types::{
    CreateRequest, EndpointInfo, EndpointRequest, NetworkInfo, PortMapping, Protocol,
    PublishedPort, DEFAULT_BRIDGE, DEFAULT_MTU, DEFAULT_NETWORK,
};

use crate::netlink::Socket;
use crate::state::{Locked, Store};

/// The networks under one mydocker root.
pub struct Networks {
    /// Device name of the default `bridge` network.
    default_bridge: String,
    store: Store,
    firewall: Box<dyn Firewall>,
}

/// Docker's default address pools, in the order Docker tries them.
fn default_pools() -> impl Iterator<Item = Ipv4Net> {
    let b16 = (17u8..=31).map(|b| Ipv4Net::containing(Ipv4Addr::new(172, b, 0, 0), 16));
    let b20 = (0u8..16).map(|k| Ipv4Net::containing(Ipv4Addr::new(192, 168, k * 16, 0), 20));
    b16.chain(b20)
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn random_id() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Finds a network by exact name, exact id, or unique id prefix.
fn find<'a>(nets: &'a [NetworkInfo], key: &str) -> Result<&'a NetworkInfo> {
    if let Some(n) = nets.iter().find(|n| n.name == key || n.id == key) {
        return Ok(n);
    }
    let mut by_prefix = nets
        .iter()
        .filter(|n| !key.is_empty() && n.id.starts_with(key));
    match (by_prefix.next(), by_prefix.next()) {
        (Some(n), None) => Ok(n),
        (Some(_), Some(_)) => Err(NetworkError::Ambiguous(key.to_string())),
        _ => Err(NetworkError::NotFound(key.to_string())),
    }
}

impl Networks {
    /// Opens the networks under `<root>/network` with the nftables firewall.
    pub fn open(root: &Path) -> Result<Self> {
        Self::open_with(root, Box::new(Nftables::default()))
    }

    /// Opens with another firewall driver (e.g. [`NoFirewall`], or [`Nftables::new`] with another table name).
    pub fn open_with(root: &Path, firewall: Box<dyn Firewall>) -> Result<Self> {
        Ok(Networks {
            default_bridge: DEFAULT_BRIDGE.into(),
            store: Store::open(root)?,
            firewall,
        })
    }

    /// Uses another device name for the default `bridge` network (engines with separate
    /// state roots on one host must not share a bridge).
    pub fn with_default_bridge(mut self, name: &str) -> Self {
        self.default_bridge = name.to_string();
        self
    }

    /// Applies the firewall plan for `nets`.
    fn apply(&self, nets: &[NetworkInfo]) -> Result<()> {
        self.firewall.apply(&Plan::from_networks(nets))?;
        Ok(())
    }

    /// `network create`.
    pub fn create(&self, req: CreateRequest) -> Result<NetworkInfo> {
        let locked = self.store.lock()?;
        self.create_locked(&locked, req)
    }

    fn create_locked(&self, locked: &Locked<'_>, req: CreateRequest) -> Result<NetworkInfo> {
        // 1. Validate everything before touching the kernel.
        if !valid_name(&req.name) {
            return Err(NetworkError::InvalidName(req.name));
        }
        if !(req.driver.is_empty() || req.driver == "bridge") {
            return Err(NetworkError::UnsupportedDriver(req.driver));
        }
        let mut nets = locked.load_all()?;
        if nets.iter().any(|n| n.name == req.name) {
            return Err(NetworkError::DuplicateName(req.name));
        }
        let mut sock = Socket::new()?;
        let subnet = match req.subnet {
            Some(subnet) => {
                if let Some(o) = nets.iter().find(|n| n.subnet.overlaps(&subnet)) {
                    return Err(NetworkError::Overlap {
                        subnet,
                        other: o.subnet,
                        other_name: o.name.clone(),
                    });
                }
                subnet
            }
            None => {
                let routes = sock.dump_routes()?;
                default_pools()
                    .find(|p| {
                        !nets.iter().any(|n| n.subnet.overlaps(p))
                            && !routes.iter().any(|r| r.overlaps(p))
                    })
                    .ok_or(NetworkError::NoFreePool)?
            }
        };
        let gateway = match req.gateway {
            Some(gw) if !subnet.is_host(gw) => {
                return Err(NetworkError::GatewayOutsideSubnet {
                    gateway: gw,
                    subnet,
                });
            }
            Some(gw) => gw,
            None => subnet.first_host(),
        };
        let id = random_id();
        let bridge = req.bridge.unwrap_or_else(|| format!("br-{}", &id[..12]));
        if bridge.is_empty() || bridge.len() > 15 || nets.iter().any(|n| n.bridge == bridge) {
            return Err(NetworkError::DeviceExists {
                network: req.name,
                device: bridge,
            });
        }
        let net = NetworkInfo {
            id,
            name: req.name,
            driver: "bridge".into(),
            bridge,
            subnet,
            gateway,
            internal: req.internal,
            mtu: req.mtu.unwrap_or(DEFAULT_MTU),
            labels: req.labels,
            created: now(),
            endpoints: Default::default(),
        };
        tracing::debug!(network = %net.name, bridge = %net.bridge, subnet = %net.subnet, "creating network");

        // 2. Bridge, then state, then firewall; undo in reverse on failure.
        bridge::setup_bridge(&mut sock, &net, false)?;
        let undo = |sock: &mut Socket, e: NetworkError, saved: bool| {
            let mut cleanup = ErrorList::default();
            cleanup.push_err(bridge::teardown_bridge(sock, &net));
            if saved {
                cleanup.push_err(locked.delete(&net.id).map_err(NetworkError::from));
            }
            cleanup.attach_to(e)
        };
        if let Err(e) = locked.save(&net) {
            return Err(undo(&mut sock, e.into(), false));
        }
        nets.push(net.clone());
        if let Err(e) = self.apply(&nets) {
            return Err(undo(&mut sock, e, true));
        }
        Ok(net)
    }

    /// The default `bridge` network (device `mydocker0`), created on first use with 172.17.0.0/16 unless a host
    /// route or one of our networks overlaps it; then the next free default pool. If it exists but its bridge
    /// device or firewall rules are gone (reboot, flush), they are made again.
    pub fn ensure_default(&self) -> Result<NetworkInfo> {
        let locked = self.store.lock()?;
        let nets = locked.load_all()?;
        if let Some(n) = nets.iter().find(|n| n.name == DEFAULT_NETWORK) {
            let mut sock = Socket::new()?;
            if sock.get_link(&n.bridge)?.is_none() {
                bridge::setup_bridge(&mut sock, n, true)?;
                self.apply(&nets)?;
            }
            return Ok(n.clone());
        }
        self.create_locked(
            &locked,
            CreateRequest {
                name: DEFAULT_NETWORK.into(),
                bridge: Some(self.default_bridge.clone()),
                ..Default::default()
            },
        )
    }

    /// `network ls`: every network, sorted by name.
    pub fn list(&self) -> Result<Vec<NetworkInfo>> {
        Ok(self.store.lock()?.load_all()?)
    }

    /// `network inspect`: by name, id or unique id prefix.
    pub fn inspect(&self, name_or_id: &str) -> Result<NetworkInfo> {
        let nets = self.store.lock()?.load_all()?;
        find(&nets, name_or_id).cloned()
    }

    /// `network rm`: refused while containers are connected. Firewall first, bridge last (netavark #1482).
    pub fn remove(&self, name_or_id: &str) -> Result<()> {
        let locked = self.store.lock()?;
        let mut nets = locked.load_all()?;
        let net = find(&nets, name_or_id)?.clone();
        if net.name == DEFAULT_NETWORK {
            return Err(NetworkError::Predefined);
        }
        self.remove_locked(&locked, &mut nets, &net)
    }

    fn remove_locked(
        &self,
        locked: &Locked<'_>,
        nets: &mut Vec<NetworkInfo>,
        net: &NetworkInfo,
    ) -> Result<()> {
        if !net.endpoints.is_empty() {
            return Err(NetworkError::ActiveEndpoints {
                name: net.name.clone(),
                id: net.id.clone(),
            });
        }
        tracing::debug!(network = %net.name, "removing network");
        nets.retain(|n| n.id != net.id);
        let mut errors = ErrorList::default();
        errors.push_err(self.apply(nets));
        match Socket::new() {
            Ok(mut sock) => errors.push_err(bridge::teardown_bridge(&mut sock, net)),
            Err(e) => errors.0.push(e.into()),
        }
        errors.push_err(locked.delete(&net.id).map_err(NetworkError::from));
        errors.into_result()
    }

    /// `network prune`: removes every network without endpoints (except `bridge`); returns their names.
    /// Removes every network, the default one included, with whatever endpoints they still
    /// have (`system reset`): afterwards this root has no bridge, address or rule left.
    pub fn reset(&self) -> Result<()> {
        let locked = self.store.lock()?;
        let mut nets = locked.load_all()?;
        let ids: Vec<String> = nets
            .iter()
            .flat_map(|n| n.endpoints.keys().cloned())
            .collect();
        for id in ids {
            self.detach(&locked, &mut nets, &id, |_| true)?;
        }
        let mut errors = ErrorList::default();
        for n in nets.clone() {
            if let Err(e) = self.remove_locked(&locked, &mut nets, &n) {
                errors.0.push(e);
            }
        }
        errors.into_result()
    }

    pub fn prune(&self) -> Result<Vec<String>> {
        let locked = self.store.lock()?;
        let mut nets = locked.load_all()?;
        let unused: Vec<NetworkInfo> = nets
            .iter()
            .filter(|n| n.endpoints.is_empty() && n.name != DEFAULT_NETWORK)
            .cloned()
            .collect();
        let mut removed = Vec::new();
        let mut errors = ErrorList::default();
        for n in unused {
            match self.remove_locked(&locked, &mut nets, &n) {
                Ok(()) => removed.push(n.name),
                Err(e) => errors.0.push(e),
            }
        }
        errors.into_result().map(|()| removed)
    }

    /// `network connect` / `run --network`: one container joins one network. On any failure everything done is
    /// undone (address released, veth deleted, rules re-rendered without it).
    pub fn connect(&self, network: &str, req: EndpointRequest) -> Result<EndpointInfo> {
        let locked = self.store.lock()?;
        let mut nets = locked.load_all()?;
        let idx = {
            let n = find(&nets, network)?;
            nets.iter().position(|x| x.id == n.id).unwrap_or(0)
        };

        // 1. Validate and decide, before any side effect.
        let shown = if req.container_name.is_empty() {
            req.container_id.clone()
        } else {
            req.container_name.clone()
        };
        if nets[idx].endpoints.contains_key(&req.container_id) {
            return Err(NetworkError::AlreadyConnected {
                container: shown,
                network: nets[idx].name.clone(),
            });
        }
        netns::open(&req.netns)?;
        let mine: Vec<&EndpointInfo> = nets
            .iter()
            .filter_map(|n| n.endpoints.get(&req.container_id))
            .collect();
        let interface = match &req.interface {
            Some(i) => i.clone(),
            None => (0..)
                .map(|i| format!("eth{i}"))
                .find(|name| !mine.iter().any(|e| &e.interface == name))
                .unwrap_or_else(|| "eth0".into()),
        };
        let default_route = !nets[idx].internal && !mine.iter().any(|e| e.default_route);
        let ports = if nets[idx].internal {
            Vec::new()
        } else {
            let taken: Vec<PublishedPort> = nets
                .iter()
                .flat_map(|n| n.endpoints.values())
                .flat_map(|e| e.ports.iter().copied())
                .collect();
            ports::resolve(&req.ports, &taken)?
        };
        let ip = ipam::allocate(&nets[idx], req.ip)?;
        let mac = match &req.mac {
            Some(m) => {
                ipam::parse_mac(m)?;
                m.to_ascii_lowercase()
            }
            None => ipam::mac_for(ip),
        };
        let ep = EndpointInfo {
            container_id: req.container_id.clone(),
            container_name: req.container_name.clone(),
            aliases: req.aliases.clone(),
            ip,
            mac,
            interface,
            host_veth: bridge::host_veth_name(&req.container_id, &nets[idx].id),
            default_route,
            ports,
        };
        tracing::debug!(network = %nets[idx].name, container = %shown, ip = %ep.ip, "connecting");

        // 2. Reserve the address on disk first: after a crash, cleanup_container finds it.
        nets[idx]
            .endpoints
            .insert(ep.container_id.clone(), ep.clone());
        locked.save(&nets[idx])?;
        let mut sock = match Socket::new() {
            Ok(s) => s,
            Err(e) => return Err(self.undo_connect(&locked, &mut nets, idx, &ep, None, e.into())),
        };
        // 3. Kernel: bridge (if missing), veth, addresses, routes.
        if let Err(e) = bridge::setup_endpoint(&mut sock, &nets[idx], &ep, &req.netns) {
            return Err(self.undo_connect(&locked, &mut nets, idx, &ep, None, e));
        }
        // 4. Firewall: the whole table with this endpoint's ports.
        if let Err(e) = self.apply(&nets) {
            return Err(self.undo_connect(&locked, &mut nets, idx, &ep, Some(&mut sock), e));
        }
        Ok(ep)
    }

    fn undo_connect(
        &self,
        locked: &Locked<'_>,
        nets: &mut [NetworkInfo],
        idx: usize,
        ep: &EndpointInfo,
        sock: Option<&mut Socket>,
        error: NetworkError,
    ) -> NetworkError {
        let mut cleanup = ErrorList::default();
        nets[idx].endpoints.remove(&ep.container_id);
        if let Some(sock) = sock {
            cleanup.push_err(self.apply(nets));
            cleanup.push_err(bridge::teardown_endpoint(sock, ep));
        }
        cleanup.push_err(locked.save(&nets[idx]).map_err(NetworkError::from));
        cleanup.attach_to(error)
    }

    /// `network disconnect`, and what the monitor calls when a container stops. Idempotent; works when the
    /// container's netns is gone. Order: rules first, then the veth, then the address.
    pub fn disconnect(&self, network: &str, container_id: &str) -> Result<()> {
        let locked = self.store.lock()?;
        let mut nets = locked.load_all()?;
        let id = find(&nets, network)?.id.clone();
        self.detach(&locked, &mut nets, container_id, |n| n.id == id)
    }

    /// Disconnects a container from every network (repair after a crash: call for every dead container).
    pub fn cleanup_container(&self, container_id: &str) -> Result<()> {
        let locked = self.store.lock()?;
        let mut nets = locked.load_all()?;
        self.detach(&locked, &mut nets, container_id, |_| true)
    }

    fn detach(
        &self,
        locked: &Locked<'_>,
        nets: &mut [NetworkInfo],
        container_id: &str,
        which: impl Fn(&NetworkInfo) -> bool,
    ) -> Result<()> {
        let mut removed: Vec<(usize, EndpointInfo)> = Vec::new();
        for (i, n) in nets.iter_mut().enumerate() {
            if which(n) {
                if let Some(ep) = n.endpoints.remove(container_id) {
                    removed.push((i, ep));
                }
            }
        }
        if removed.is_empty() {
            return Ok(());
        }
        tracing::debug!(
            container = container_id,
            endpoints = removed.len(),
            "disconnecting"
        );
        let mut errors = ErrorList::default();
        // 1. Firewall first: no DNAT may point at an address whose veth is gone (netavark #1482).
        errors.push_err(self.apply(nets));
        // 2. The veth (the host side; with the netns already gone the kernel removed it: fine).
        match Socket::new() {
            Ok(mut sock) => {
                for (_, ep) in &removed {
                    errors.push_err(bridge::teardown_endpoint(&mut sock, ep));
                }
            }
            Err(e) => errors.0.push(e.into()),
        }
        // 3. Release the address.
        for (i, _) in &removed {
            errors.push_err(locked.save(&nets[*i]).map_err(NetworkError::from));
        }
        errors.into_result()
    }

    /// The endpoints of a network (name, aliases, address): what /etc/hosts needs.
    pub fn endpoints(&self, network: &str) -> Result<Vec<EndpointInfo>> {
        let nets = self.store.lock()?.load_all()?;
        Ok(find(&nets, network)?.endpoints.values().cloned().collect())
    }

    /// The /etc/hosts entries a container needs: `(own, peers)`. `own` has its address on each of its networks
    /// with its name and short id; `peers` every other endpoint on those networks with name and aliases. Peers on
    /// the default `bridge` network are not listed (Docker resolves names only on user-defined networks).
    pub fn hosts_entries(&self, container_id: &str) -> Result<(Vec<HostEntry>, Vec<HostEntry>)> {
        let nets = self.store.lock()?.load_all()?;
        let short: String = container_id.chars().take(12).collect();
        let mut own = Vec::new();
        let mut peers = Vec::new();
        for n in nets.iter() {
            let Some(me) = n.endpoints.get(container_id) else {
                continue;
            };
            let mut names = vec![];
            if !me.container_name.is_empty() {
                names.push(me.container_name.clone());
            }
            names.push(short.clone());
            own.push(HostEntry {
                ip: IpAddr::V4(me.ip),
                names,
            });
            if n.name == DEFAULT_NETWORK {
                continue;
            }
            for e in n
                .endpoints
                .values()
                .filter(|e| e.container_id != container_id)
            {
                let mut names: Vec<String> = Vec::new();
                if !e.container_name.is_empty() {
                    names.push(e.container_name.clone());
                }
                names.extend(e.aliases.iter().cloned());
                peers.push(HostEntry {
                    ip: IpAddr::V4(e.ip),
                    names,
                });
            }
        }
        Ok((own, peers))
    }

    /// Ids of the containers that share a user-defined network with `container_id` (whose hosts files must be
    /// rewritten when it joins or leaves).
    pub fn neighbours(&self, container_id: &str) -> Result<Vec<String>> {
        let nets = self.store.lock()?.load_all()?;
        let set: BTreeSet<String> = nets
            .iter()
            .filter(|n| n.name != DEFAULT_NETWORK && n.endpoints.contains_key(container_id))
            .flat_map(|n| {
                n.endpoints
                    .keys()
                    .filter(|k| k.as_str() != container_id)
                    .cloned()
            })
            .collect();
        Ok(set.into_iter().collect())
    }

    /// `network reload`: recreates missing bridges (and re-attaches existing veths to them) and the whole
    /// firewall table from the state, e.g. after a reboot or `nft flush ruleset`.
    pub fn reload(&self) -> Result<()> {
        let locked = self.store.lock()?;
        let nets = locked.load_all()?;
        let mut sock = Socket::new()?;
        let mut errors = ErrorList::default();
        for n in &nets {
            match bridge::setup_bridge(&mut sock, n, true) {
                Ok(index) => {
                    for ep in n.endpoints.values() {
                        errors.push_err(bridge::reattach_endpoint(&mut sock, ep, index));
                    }
                }
                Err(e) => errors.0.push(e),
            }
        }
        errors.push_err(self.apply(&nets));
        errors.into_result()
    }
}
