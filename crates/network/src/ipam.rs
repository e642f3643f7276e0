//! IPAM: which address each container gets on a network.
//!
//! The allocations are the network's endpoints themselves (`NetworkInfo::endpoints`, one IP each), so an address
//! is free exactly when no endpoint holds it: releasing is removing the endpoint, and there is no second table to
//! drift. The network address, the broadcast address and the gateway are never handed out; the lowest free host
//! address is. Callers hold the state lock (see [`crate::state`]) across allocate-and-save, which is what makes
//! concurrent `mydocker run` commands get different addresses.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use crate::error::{NetworkError, Result};
use crate::types::NetworkInfo;

/// Addresses in use on `net` (gateway included).
fn used(net: &NetworkInfo) -> BTreeSet<Ipv4Addr> {
    let mut set: BTreeSet<Ipv4Addr> = net.endpoints.values().map(|e| e.ip).collect();
    set.insert(net.gateway);
    set
}

/// Picks the address for a new endpoint: `requested` if it is free and usable, else the lowest free host address.
pub fn allocate(net: &NetworkInfo, requested: Option<Ipv4Addr>) -> Result<Ipv4Addr> {
    let used = used(net);
    if let Some(ip) = requested {
        let unusable = |reason| NetworkError::AddressUnusable {
            ip,
            network: net.name.clone(),
            subnet: net.subnet,
            reason,
        };
        if !net.subnet.contains(ip) {
            return Err(unusable("outside the subnet"));
        }
        if !net.subnet.is_host(ip) {
            return Err(unusable("network or broadcast address"));
        }
        if ip == net.gateway {
            return Err(unusable("it is the gateway"));
        }
        if used.contains(&ip) {
            return Err(NetworkError::AddressInUse {
                ip,
                network: net.name.clone(),
            });
        }
        return Ok(ip);
    }
    net.subnet
        .hosts()
        .find(|ip| !used.contains(ip))
        .ok_or_else(|| NetworkError::PoolExhausted {
            network: net.name.clone(),
            subnet: net.subnet,
        })
}

/// Docker's MAC for an address: `02:42:` then the four bytes of the IPv4 address.
pub fn mac_for(ip: Ipv4Addr) -> String {
    let o = ip.octets();
    format!("02:42:{:02x}:{:02x}:{:02x}:{:02x}", o[0], o[1], o[2], o[3])
}

/// Parses `aa:bb:cc:dd:ee:ff`; refuses multicast addresses (low bit of the first byte).
pub fn parse_mac(s: &str) -> Result<[u8; 6]> {
    let bad = || NetworkError::InvalidAddress(s.to_string());
    let mut out = [0u8; 6];
    let mut parts = s.split(':');
    for b in out.iter_mut() {
        let p = parts.next().ok_or_else(bad)?;
        if p.len() != 2 {
            return Err(bad());
        }
        *b = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    if parts.next().is_some() || out[0] & 1 == 1 {
        return Err(bad());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::EndpointInfo;
    use std::collections::BTreeMap;

    pub(crate) fn network(subnet: &str) -> NetworkInfo {
        let subnet: crate::subnet::Ipv4Net = subnet.parse().unwrap();
        NetworkInfo {
            id: "0".repeat(64),
            name: "n".into(),
            driver: "bridge".into(),
            bridge: "br-x".into(),
            subnet,
            gateway: subnet.first_host(),
            internal: false,
            mtu: 1500,
            labels: BTreeMap::new(),
            created: 0,
            endpoints: BTreeMap::new(),
        }
    }

    fn take(net: &mut NetworkInfo, id: &str, ip: Ipv4Addr) {
        net.endpoints.insert(
            id.into(),
            EndpointInfo {
                container_id: id.into(),
                container_name: id.into(),
                aliases: vec![],
                ip,
                mac: mac_for(ip),
                interface: "eth0".into(),
                host_veth: "v".into(),
                default_route: true,
                ports: vec![],
            },
        );
    }

    #[test]
    fn allocates_lowest_free_after_gateway() {
        let mut net = network("10.1.0.0/24");
        let a = allocate(&net, None).unwrap();
        assert_eq!(a, Ipv4Addr::new(10, 1, 0, 2));
        take(&mut net, "a", a);
        let b = allocate(&net, None).unwrap();
        assert_eq!(b, Ipv4Addr::new(10, 1, 0, 3));
        take(&mut net, "b", b);
        // Releasing a makes .2 the next one again.
        net.endpoints.remove("a");
        assert_eq!(allocate(&net, None).unwrap(), Ipv4Addr::new(10, 1, 0, 2));
    }

    #[test]
    fn slash_29_exhausts_then_reuses() {
        let mut net = network("10.1.0.8/29");
        let mut got = vec![];
        for i in 0..5 {
            let ip = allocate(&net, None).unwrap();
            take(&mut net, &i.to_string(), ip);
            got.push(ip.octets()[3]);
        }
        // .8 network, .9 gateway, .15 broadcast are never handed out.
        assert_eq!(got, vec![10, 11, 12, 13, 14]);
        let err = allocate(&net, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no available IPv4 addresses on this network's address pools: n (10.1.0.8/29)"
        );
        net.endpoints.remove("2");
        assert_eq!(allocate(&net, None).unwrap(), Ipv4Addr::new(10, 1, 0, 12));
    }

    #[test]
    fn non_default_gateway_is_skipped() {
        let mut net = network("10.1.0.0/30");
        net.gateway = Ipv4Addr::new(10, 1, 0, 2);
        assert_eq!(allocate(&net, None).unwrap(), Ipv4Addr::new(10, 1, 0, 1));
    }

    #[test]
    fn requested_addresses_are_checked() {
        let mut net = network("10.1.0.0/28");
        take(&mut net, "a", Ipv4Addr::new(10, 1, 0, 5));
        let cases = [
            (Ipv4Addr::new(10, 1, 0, 5), "already in use"),
            (Ipv4Addr::new(10, 1, 0, 1), "it is the gateway"),
            (Ipv4Addr::new(10, 1, 0, 0), "network or broadcast"),
            (Ipv4Addr::new(10, 1, 0, 15), "network or broadcast"),
            (Ipv4Addr::new(10, 2, 0, 3), "outside the subnet"),
        ];
        for (ip, want) in cases {
            let err = allocate(&net, Some(ip)).unwrap_err().to_string();
            assert!(err.contains(want), "{ip}: {err}");
        }
        assert_eq!(
            allocate(&net, Some(Ipv4Addr::new(10, 1, 0, 9))).unwrap(),
            Ipv4Addr::new(10, 1, 0, 9)
        );
    }

    #[test]
    fn macs() {
        assert_eq!(mac_for(Ipv4Addr::new(172, 17, 0, 2)), "02:42:ac:11:00:02");
        assert_eq!(
            parse_mac("02:42:ac:11:00:02").unwrap(),
            [2, 0x42, 0xac, 0x11, 0, 2]
        );
        assert!(parse_mac("01:00:00:00:00:00").is_err());
        assert!(parse_mac("02:42:ac:11:00").is_err());
        assert!(parse_mac("02:42:ac:11:00:02:03").is_err());
        assert!(parse_mac("zz:42:ac:11:00:02").is_err());
    }
}
