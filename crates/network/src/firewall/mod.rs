//! Firewall: NAT and filtering for our bridges, behind the [`Firewall`] trait.
//!
//! The rules are a pure function of the state: [`Plan::from_networks`] turns every network and endpoint into
//! data, and a driver makes the kernel match it. Setup and teardown are therefore the same operation (render the
//! state after the change, apply it), teardown needs nothing but the config, `reload` after `nft flush ruleset` is
//! one call, and no rule can outlive its endpoint or network. [`nft::Nftables`] is the real driver;
//! [`NoFirewall`] does nothing (for hosts where another tool owns the firewall, and as a test double).

pub mod nft;

use std::net::Ipv4Addr;

use crate::error::FirewallError;
use crate::subnet::Ipv4Net;
use crate::types::{NetworkInfo, PublishedPort};

/// What the firewall must do for one bridge network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgePlan {
    /// Bridge device.
    pub bridge: String,
    /// Subnet.
    pub subnet: Ipv4Net,
    /// `--internal`: no traffic in or out except between the bridge's own containers.
    pub internal: bool,
    /// Published ports of the network's endpoints.
    pub ports: Vec<PortPlan>,
}

/// One DNAT: host `host_ip:host_port` to `container_ip:container_port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortPlan {
    /// The mapping.
    pub port: PublishedPort,
    /// The endpoint's address.
    pub container_ip: Ipv4Addr,
    /// The endpoint's container id (put in a rule comment).
    pub container_id: String,
}

/// Everything the firewall must contain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// One entry per network, sorted by bridge name.
    pub bridges: Vec<BridgePlan>,
}

impl Plan {
    /// Derives the plan from the networks (internal networks publish no ports, as in Docker).
    pub fn from_networks<'a>(nets: impl IntoIterator<Item = &'a NetworkInfo>) -> Plan {
        let mut bridges: Vec<BridgePlan> = nets
            .into_iter()
            .map(|n| BridgePlan {
                bridge: n.bridge.clone(),
                subnet: n.subnet,
                internal: n.internal,
                ports: if n.internal {
                    Vec::new()
                } else {
                    n.endpoints
                        .values()
                        .flat_map(|e| {
                            e.ports.iter().map(|p| PortPlan {
                                port: *p,
                                container_ip: e.ip,
                                container_id: e.container_id.clone(),
                            })
                        })
                        .collect()
                },
            })
            .collect();
        bridges.sort_by(|a, b| a.bridge.cmp(&b.bridge));
        Plan { bridges }
    }
}

/// A firewall backend.
pub trait Firewall: Send + Sync {
    /// Makes the kernel's rules equal to `plan` (an empty plan removes everything of ours), atomically.
    fn apply(&self, plan: &Plan) -> Result<(), FirewallError>;
    /// Short name for logs.
    fn name(&self) -> &'static str;
}

/// The do-nothing driver.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoFirewall;

impl Firewall for NoFirewall {
    fn apply(&self, _plan: &Plan) -> Result<(), FirewallError> {
        Ok(())
    }
    fn name(&self) -> &'static str {
        "none"
    }
}
