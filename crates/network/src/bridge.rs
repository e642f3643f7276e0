//! The bridge driver: the kernel side of a network and of an endpoint, in pairs.
//!
//! - [`setup_bridge`]/[`teardown_bridge`]: the Linux bridge (see bridge(8)) with the gateway address, up, with
//!   IPv4 forwarding and `route_localnet` on.
//! - [`setup_endpoint`]/[`teardown_endpoint`]: a veth pair (see veth(4)); the container end is born inside the
//!   container's netns already named `ethN`, so it never clashes with host names; the host end joins the bridge.
//!   Inside: address, up, `lo` up, default route via the gateway for the first network.
//!
//! Teardown only needs the config: names are derived ([`host_veth_name`]), and "not found" counts as done, so it
//! works after a crash and when the container's netns is already gone (the kernel then already removed the veth).

use std::path::Path;

use crate::error::{ErrorList, NetworkError, Result};
use crate::netlink::{Socket, VethOptions};
use crate::subnet::Ipv4Net;
use crate::types::{EndpointInfo, NetworkInfo};
use crate::{ipam, netns, sysctl};

/// Host-side veth name for a container on a network: `vmd` + 12 hex of a hash of both ids (15 chars, the
/// kernel's limit), stable so that teardown can recompute it.
pub fn host_veth_name(container_id: &str, network_id: &str) -> String {
    // FNV-1a, 64 bits: tiny and stable across releases (std's hasher is not).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in container_id.bytes().chain([b'/']).chain(network_id.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("vmd{:012x}", h & 0xffff_ffff_ffff)
}

/// Creates the bridge of `net` with its gateway address and brings it up. With `adopt`, an existing device of
/// that name is reused (reload after a reboot or a manual `ip link del`); without, it is an error.
pub fn setup_bridge(sock: &mut Socket, net: &NetworkInfo, adopt: bool) -> Result<u32> {
    let existing = sock.get_link(&net.bridge)?;
    if existing.is_some() && !adopt {
        return Err(NetworkError::DeviceExists {
            network: net.name.clone(),
            device: net.bridge.clone(),
        });
    }
    if existing.is_none() {
        sock.create_bridge(&net.bridge, net.mtu)?;
    }
    let result = (|| {
        let index = sock.link_index(&net.bridge)?;
        sock.add_addr(index, &net.bridge, net.gateway, &net.subnet)?;
        sock.set_up(index, &net.bridge)?;
        sysctl::enable_ip_forward()?;
        sysctl::enable_route_localnet(&net.bridge)?;
        Ok(index)
    })();
    if result.is_err() && existing.is_none() {
        let _ = sock.delete_link(&net.bridge);
    }
    result
}

/// Deletes the bridge (its addresses and connected route go with it). A missing bridge is fine.
pub fn teardown_bridge(sock: &mut Socket, net: &NetworkInfo) -> Result<()> {
    sock.delete_link(&net.bridge)?;
    Ok(())
}

/// Builds the veth pair of `ep` and configures the container end inside `netns_path`. On failure, whatever was
/// made is deleted again before returning.
pub fn setup_endpoint(
    host: &mut Socket,
    net: &NetworkInfo,
    ep: &EndpointInfo,
    netns_path: &Path,
) -> Result<()> {
    let bridge_index = match host.get_link(&net.bridge)? {
        Some(l) => l.header.index,
        // The bridge vanished (reboot, manual delete): make it again from the config.
        None => setup_bridge(host, net, true)?,
    };
    let ns = netns::open(netns_path)?;
    let mut inside = netns::socket_in(&ns, netns_path)?;
    let mac = ipam::parse_mac(&ep.mac)?;
    use std::os::fd::AsFd;
    host.create_veth(&VethOptions {
        host_name: &ep.host_veth,
        peer_name: &ep.interface,
        peer_netns: ns.as_fd(),
        peer_mac: mac,
        mtu: net.mtu,
        controller: bridge_index,
    })?;
    let result = (|| {
        let index = host.link_index(&ep.host_veth)?;
        host.set_up(index, &ep.host_veth)?;
        let lo = inside.link_index("lo")?;
        inside.set_up(lo, "lo (container)")?;
        let eth = inside.link_index(&ep.interface)?;
        inside.add_addr(eth, &ep.interface, ep.ip, &net.subnet)?;
        inside.set_up(eth, &ep.interface)?;
        if ep.default_route {
            let any = Ipv4Net::containing(std::net::Ipv4Addr::UNSPECIFIED, 0);
            inside.add_route(&any, Some(net.gateway), eth)?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        let mut cleanup = ErrorList::default();
        cleanup.push_err(teardown_endpoint(host, ep));
        return Err(cleanup.attach_to(e));
    }
    Ok(())
}

/// Deletes the host end of the veth (the kernel deletes the peer with it). Already gone is fine.
pub fn teardown_endpoint(host: &mut Socket, ep: &EndpointInfo) -> Result<()> {
    host.delete_link(&ep.host_veth)?;
    Ok(())
}

/// Re-attaches an existing host veth to the bridge (after the bridge was recreated); missing veth is fine.
pub fn reattach_endpoint(host: &mut Socket, ep: &EndpointInfo, bridge_index: u32) -> Result<()> {
    if let Some(l) = host.get_link(&ep.host_veth)? {
        host.set_controller(l.header.index, &ep.host_veth, bridge_index)?;
        host.set_up(l.header.index, &ep.host_veth)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn veth_names_are_stable_and_short() {
        let a = host_veth_name("c1", "n1");
        assert_eq!(a, host_veth_name("c1", "n1"));
        assert_ne!(a, host_veth_name("c1", "n2"));
        assert_ne!(a, host_veth_name("c2", "n1"));
        assert_eq!(a.len(), 15);
        assert!(a.starts_with("vmd"));
    }
}
