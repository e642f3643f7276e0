//! Containers on networks: the engine's side of `mydocker-network`.
//!
//! The monitor connects a freshly created container (its network namespace exists, its
//! command has not started) to its network, writes the container's /etc/hosts and
//! /etc/resolv.conf, and tells the containers that share a network with it, so names
//! resolve both ways. When the container ends it is disconnected (rules first, then the
//! veth, then its address), and neighbours forget it.

use crate::error::{io_err, EngineError, Result};
use crate::layout::ContainerPaths;
use crate::options::NetworkMode;
use crate::record::{self, ContainerRecord};
use crate::Engine;
use mydocker_network::{
    dns, EndpointInfo, EndpointRequest, HostEntry, Networks, Nftables, PortMapping, Protocol,
};
use sha2::Digest;
use std::path::Path;

impl Engine {
    /// The networks of this engine's root. Engines with other roots on the same host get
    /// their own firewall table and default bridge, so they never undo each other's rules.
    pub fn networks(&self) -> Result<Networks> {
        let root = &self.layout.root;
        let (table, bridge) = if root == Path::new(crate::layout::DEFAULT_ROOT) {
            (
                "mydocker".to_string(),
                mydocker_network::DEFAULT_BRIDGE.to_string(),
            )
        } else {
            let hash = hex::encode(sha2::Sha256::digest(root.as_os_str().as_encoded_bytes()));
            (
                format!("mydocker_{}", &hash[..8]),
                format!("md{}", &hash[..8]),
            )
        };
        Ok(
            Networks::open_with(root, Box::new(Nftables::new(&table)))?
                .with_default_bridge(&bridge),
        )
    }

    /// The ports `-p` and `-P` ask for. Bad specs fail here, before anything is made.
    pub(crate) fn port_mappings(
        &self,
        publish: &[String],
        publish_all: bool,
        exposed: &[String],
    ) -> Result<Vec<PortMapping>> {
        let mut out = Vec::new();
        for p in publish {
            out.extend(mydocker_network::parse_publish(p)?);
        }
        if publish_all {
            for e in exposed {
                let (port, proto) = e.split_once('/').unwrap_or((e, "tcp"));
                let Ok(container_port) = port.parse() else {
                    continue;
                };
                let protocol = if proto == "udp" {
                    Protocol::Udp
                } else {
                    Protocol::Tcp
                };
                if !out.iter().any(|m: &PortMapping| {
                    m.container_port == container_port && m.protocol == protocol
                }) {
                    out.push(PortMapping {
                        host_ip: None,
                        host_port: 0,
                        container_port,
                        protocol,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Connects a created container (init `pid`) to its network. Returns the endpoint, or
    /// `None` when its network mode needs no connection.
    pub(crate) fn connect_container(
        &self,
        rec: &ContainerRecord,
        pid: i32,
    ) -> Result<Option<EndpointInfo>> {
        let NetworkMode::Network(name) = &rec.config.network else {
            return Ok(None);
        };
        let nets = self.networks()?;
        if name == crate::options::DEFAULT_NETWORK {
            nets.ensure_default()?;
        }
        let net = &rec.config.net;
        let ports = self.port_mappings(&net.publish, net.publish_all, &rec.exposed_ports)?;
        let endpoint = nets.connect(
            name,
            EndpointRequest {
                container_id: rec.id.clone(),
                container_name: rec.name.clone(),
                netns: format!("/proc/{pid}/ns/net").into(),
                ip: net.ip,
                mac: net.mac.clone(),
                aliases: net.aliases.clone(),
                ports,
                interface: None,
            },
        )?;
        let written = self.write_hosts_files(&nets, &rec.id);
        if let Err(e) = written {
            let _ = nets.disconnect(name, &rec.id);
            return Err(e);
        }
        Ok(Some(endpoint))
    }

    /// `mydocker network connect`: one more network for a running container.
    pub fn network_connect(
        &self,
        network: &str,
        name_or_id: &str,
        aliases: Vec<String>,
        ip: Option<std::net::Ipv4Addr>,
    ) -> Result<()> {
        let rec = self.find_container(name_or_id)?;
        if !rec.state.init.is_alive() {
            return Err(EngineError::Conflict(format!(
                "Container {} is not running",
                rec.id
            )));
        }
        let nets = self.networks()?;
        nets.connect(
            network,
            EndpointRequest {
                container_id: rec.id.clone(),
                container_name: rec.name.clone(),
                netns: format!("/proc/{}/ns/net", rec.state.init.pid).into(),
                ip,
                mac: None,
                aliases,
                ports: Vec::new(),
                interface: None,
            },
        )?;
        self.write_hosts_files(&nets, &rec.id)
    }

    /// `mydocker network disconnect`.
    pub fn network_disconnect(&self, network: &str, name_or_id: &str) -> Result<()> {
        let rec = self.find_container(name_or_id)?;
        let nets = self.networks()?;
        let net = nets.inspect(network)?;
        if !net.endpoints.contains_key(&rec.id) {
            return Err(EngineError::Conflict(format!(
                "container {} is not connected to network {}",
                rec.id, net.name
            )));
        }
        let neighbours = nets.neighbours(&rec.id).unwrap_or_default();
        nets.disconnect(network, &rec.id)?;
        self.write_hosts_files(&nets, &rec.id)?;
        for n in neighbours {
            let _ = self.write_hosts_files(&nets, &n);
        }
        Ok(())
    }

    /// Disconnects a container from every network; its neighbours forget its name.
    /// Idempotent, and works when the container (and its namespace) is already gone.
    pub(crate) fn disconnect_container(&self, id: &str) -> Result<()> {
        let nets = self.networks()?;
        let neighbours = nets.neighbours(id).unwrap_or_default();
        nets.cleanup_container(id)?;
        for n in neighbours {
            let _ = self.write_hosts_files(&nets, &n);
        }
        Ok(())
    }

    /// Rewrites the /etc/hosts of `id` and of every container sharing a network with it.
    fn write_hosts_files(&self, nets: &Networks, id: &str) -> Result<()> {
        let mut ids = vec![id.to_string()];
        ids.extend(nets.neighbours(id).unwrap_or_default());
        for cid in ids {
            let dir = self.layout.container_dir(&cid);
            let Ok(rec) = ContainerRecord::load(&ContainerPaths::new(&dir).record()) else {
                continue;
            };
            let (own, peers) = nets.hosts_entries(&cid)?;
            let extra = extra_hosts(&rec.config.net);
            let text = dns::hosts_file(&own, &peers, &extra);
            write_in_place(&ContainerPaths::new(&dir).hosts(), &text)?;
        }
        Ok(())
    }

    /// The /etc/hosts and /etc/resolv.conf a new container starts with.
    pub(crate) fn initial_etc_files(
        &self,
        mode: &NetworkMode,
        net: &crate::options::NetworkOptions,
    ) -> Result<(String, String)> {
        let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        Ok(match mode {
            NetworkMode::Host => (
                std::fs::read_to_string("/etc/hosts").unwrap_or_default(),
                host_resolv,
            ),
            NetworkMode::Container(other) => {
                let rec = self.find_container(other)?;
                let paths = ContainerPaths::new(&self.layout.container_dir(&rec.id));
                (
                    std::fs::read_to_string(paths.hosts()).unwrap_or_default(),
                    std::fs::read_to_string(paths.resolv()).unwrap_or_default(),
                )
            }
            _ => {
                let extra = extra_hosts(net);
                (
                    dns::hosts_file(&[], &[], &extra),
                    dns::resolv_conf(&host_resolv, &net.dns, &net.dns_search, &net.dns_options),
                )
            }
        })
    }

    /// Saves the endpoint in the record, for `port`, `ps` and `inspect`.
    pub(crate) fn record_endpoint(
        &self,
        id: &str,
        endpoint: Option<EndpointInfo>,
    ) -> Result<ContainerRecord> {
        let (rec, ()) = record::update(&self.layout.container_dir(id), |r| {
            r.endpoints = endpoint.into_iter().collect();
            Ok(())
        })?;
        Ok(rec)
    }
}

/// `--add-host` entries, as /etc/hosts lines.
fn extra_hosts(net: &crate::options::NetworkOptions) -> Vec<HostEntry> {
    net.add_hosts
        .iter()
        .map(|(name, ip)| HostEntry {
            ip: *ip,
            names: vec![name.clone()],
        })
        .collect()
}

/// The file is bind-mounted into the container: replace its content, never the inode.
fn write_in_place(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .create(true)
        .open(path)
        .map_err(io_err("open", path))?;
    f.write_all(text.as_bytes()).map_err(io_err("write", path))
}
