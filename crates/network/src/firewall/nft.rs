//! The nftables driver: one table of ours (`ip mydocker`), rebuilt from the plan in one atomic transaction.
//!
//! Why an nft script fed to `nft -f -` (and not JSON through the `nftables` crate): a script is one kernel
//! transaction, so "create the table if missing, delete it, define it again" swaps the whole table atomically,
//! with no moment where packets see half the rules; the rendered text is what `nft list table ip mydocker` shows,
//! so tests compare readable text; and it needs no dependency beyond the `nft` binary that both ways require.
//! Established connections are not disturbed by a swap: their NAT mappings live in conntrack, not in the rules.
//!
//! The table (for bridges `br-a`, `br-b`, subnet A of `br-a`, one published port):
//! ```text
//! table ip mydocker {
//!   chain forward {                       # filter, hook forward
//!     iifname "br-i" oifname != "br-i" drop            # --internal networks first: nothing in or out
//!     oifname "br-i" iifname != "br-i" drop
//!     oifname { "br-a", "br-b" } ct status dnat accept  # published ports, from anywhere
//!     iifname "br-a" oifname { "br-b" } drop           # isolation between our networks
//!     iifname { "br-a", "br-b" } accept                # containers out, and between containers of one bridge
//!     oifname { .. } ct state established,related accept
//!     oifname { .. } drop                              # nothing else reaches containers unasked
//!   }
//!   chain prerouting { nat, hook prerouting: fib daddr type local jump ports }   # from other hosts, containers
//!   chain output     { nat, hook output:     fib daddr type local jump ports }   # from the host, 127.0.0.1 too
//!   chain ports      { tcp dport 8080 dnat to 10.1.0.2:80 comment "<container id>" }
//!   chain postrouting {
//!     ip saddr A oifname != "br-a" masquerade          # traffic leaving the network (not for --internal)
//!     oifname "br-a" ip saddr 127.0.0.0/8 masquerade    # host's 127.0.0.1 to a published port
//!     oifname "br-a" ip saddr A ct status dnat masquerade   # hairpin: container to a port of its own network
//!   }
//! }
//! ```
//! About other firewalls: in nftables every base chain on a hook runs, and a `drop` anywhere is final while an
//! `accept` only ends its own chain. Our `forward` chain (priority `filter`) therefore cannot override a DROP
//! policy or rule in another table, e.g. `ip filter FORWARD` with policy DROP left by Docker via iptables-nft. We do
//! not edit other programs' tables; on such hosts the administrator must allow our bridges there (Docker's own
//! answer is the `DOCKER-USER` chain), e.g. `iptables -I FORWARD -i mydocker0 -j ACCEPT` and the same with `-o`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::{Command, Stdio};

use super::{Firewall, Plan};
use crate::error::FirewallError;

/// Default table name.
pub const TABLE: &str = "mydocker";

/// The nftables driver.
#[derive(Debug, Clone)]
pub struct Nftables {
    table: String,
    program: String,
}

impl Default for Nftables {
    fn default() -> Self {
        Nftables::new(TABLE)
    }
}

impl Nftables {
    /// A driver owning `table ip <table>`, using `nft` from `PATH`.
    pub fn new(table: &str) -> Self {
        Nftables {
            table: table.to_string(),
            program: "nft".to_string(),
        }
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }
}

impl Firewall for Nftables {
    fn apply(&self, plan: &Plan) -> Result<(), FirewallError> {
        let script = render(&self.table, plan);
        tracing::debug!(table = %self.table, bridges = plan.bridges.len(), "applying nftables ruleset");
        let spawn_err = |source| FirewallError::Spawn {
            program: self.program.clone(),
            source,
        };
        let mut child = Command::new(&self.program)
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_err)?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(script.as_bytes()).map_err(spawn_err)?;
        }
        let out = child.wait_with_output().map_err(spawn_err)?;
        if out.status.success() {
            Ok(())
        } else {
            Err(FirewallError::Apply {
                table: self.table.clone(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            })
        }
    }

    fn name(&self) -> &'static str {
        "nftables"
    }
}

fn quoted_set<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<String> = names.into_iter().map(|n| format!("\"{n}\"")).collect();
    format!("{{ {} }}", items.join(", "))
}

/// Renders the script that replaces `table ip <table>` with the plan (or just removes it for an empty plan).
pub fn render(table: &str, plan: &Plan) -> String {
    // `table` first makes `delete` safe when the table does not exist yet; both run in the same transaction.
    let mut s = format!("table ip {table}\ndelete table ip {table}\n");
    if plan.bridges.is_empty() {
        return s;
    }
    let all = quoted_set(plan.bridges.iter().map(|b| b.bridge.as_str()));
    let w = &mut s;
    // Writing to a String cannot fail.
    let _ = writeln!(w, "table ip {table} {{");

    let _ = writeln!(w, "\tchain forward {{");
    let _ = writeln!(
        w,
        "\t\ttype filter hook forward priority filter; policy accept;"
    );
    for b in plan.bridges.iter().filter(|b| b.internal) {
        let _ = writeln!(w, "\t\tiifname \"{0}\" oifname != \"{0}\" drop", b.bridge);
        let _ = writeln!(w, "\t\toifname \"{0}\" iifname != \"{0}\" drop", b.bridge);
    }
    let _ = writeln!(w, "\t\toifname {all} ct status dnat accept");
    if plan.bridges.len() > 1 {
        for b in &plan.bridges {
            let others = quoted_set(
                plan.bridges
                    .iter()
                    .filter(|o| o.bridge != b.bridge)
                    .map(|o| o.bridge.as_str()),
            );
            let _ = writeln!(w, "\t\tiifname \"{}\" oifname {others} drop", b.bridge);
        }
    }
    let _ = writeln!(w, "\t\tiifname {all} accept");
    let _ = writeln!(w, "\t\toifname {all} ct state established,related accept");
    let _ = writeln!(w, "\t\toifname {all} drop");
    let _ = writeln!(w, "\t}}");

    let _ = writeln!(w, "\tchain prerouting {{");
    let _ = writeln!(
        w,
        "\t\ttype nat hook prerouting priority dstnat; policy accept;"
    );
    let _ = writeln!(w, "\t\tfib daddr type local jump ports");
    let _ = writeln!(w, "\t}}");
    let _ = writeln!(w, "\tchain output {{");
    let _ = writeln!(w, "\t\ttype nat hook output priority -100; policy accept;");
    let _ = writeln!(w, "\t\tfib daddr type local jump ports");
    let _ = writeln!(w, "\t}}");

    let _ = writeln!(w, "\tchain ports {{");
    for b in &plan.bridges {
        for p in &b.ports {
            let daddr = if p.port.host_ip.is_unspecified() {
                String::new()
            } else {
                format!("ip daddr {} ", p.port.host_ip)
            };
            let _ = writeln!(
                w,
                "\t\t{daddr}{proto} dport {hport} dnat to {cip}:{cport} comment \"{id}\"",
                proto = p.port.protocol,
                hport = p.port.host_port,
                cip = p.container_ip,
                cport = p.port.container_port,
                id = p.container_id,
            );
        }
    }
    let _ = writeln!(w, "\t}}");

    let _ = writeln!(w, "\tchain postrouting {{");
    let _ = writeln!(
        w,
        "\t\ttype nat hook postrouting priority srcnat; policy accept;"
    );
    for b in &plan.bridges {
        if !b.internal {
            let _ = writeln!(
                w,
                "\t\tip saddr {} oifname != \"{}\" masquerade",
                b.subnet, b.bridge
            );
        }
        let _ = writeln!(
            w,
            "\t\toifname \"{}\" ip saddr 127.0.0.0/8 masquerade",
            b.bridge
        );
        let _ = writeln!(
            w,
            "\t\toifname \"{0}\" ip saddr {1} ct status dnat masquerade",
            b.bridge, b.subnet
        );
    }
    let _ = writeln!(w, "\t}}");
    let _ = writeln!(w, "}}");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::{BridgePlan, PortPlan};
    use crate::types::{Protocol, PublishedPort};
    use std::net::Ipv4Addr;

    #[test]
    fn empty_plan_only_removes_the_table() {
        assert_eq!(
            render("t", &Plan::default()),
            "table ip t\ndelete table ip t\n"
        );
    }

    #[test]
    fn renders_two_networks_with_ports() {
        let plan = Plan {
            bridges: vec![
                BridgePlan {
                    bridge: "br-a".into(),
                    subnet: "10.1.0.0/28".parse().unwrap(),
                    internal: false,
                    ports: vec![
                        PortPlan {
                            port: PublishedPort {
                                host_ip: Ipv4Addr::UNSPECIFIED,
                                host_port: 8080,
                                container_port: 80,
                                protocol: Protocol::Tcp,
                            },
                            container_ip: Ipv4Addr::new(10, 1, 0, 2),
                            container_id: "c1".into(),
                        },
                        PortPlan {
                            port: PublishedPort {
                                host_ip: Ipv4Addr::LOCALHOST,
                                host_port: 5353,
                                container_port: 53,
                                protocol: Protocol::Udp,
                            },
                            container_ip: Ipv4Addr::new(10, 1, 0, 2),
                            container_id: "c1".into(),
                        },
                    ],
                },
                BridgePlan {
                    bridge: "br-b".into(),
                    subnet: "10.2.0.0/29".parse().unwrap(),
                    internal: true,
                    ports: vec![],
                },
            ],
        };
        let want = r#"table ip t
delete table ip t
table ip t {
	chain forward {
		type filter hook forward priority filter; policy accept;
		iifname "br-b" oifname != "br-b" drop
		oifname "br-b" iifname != "br-b" drop
		oifname { "br-a", "br-b" } ct status dnat accept
		iifname "br-a" oifname { "br-b" } drop
		iifname "br-b" oifname { "br-a" } drop
		iifname { "br-a", "br-b" } accept
		oifname { "br-a", "br-b" } ct state established,related accept
		oifname { "br-a", "br-b" } drop
	}
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		fib daddr type local jump ports
	}
	chain output {
		type nat hook output priority -100; policy accept;
		fib daddr type local jump ports
	}
	chain ports {
		tcp dport 8080 dnat to 10.1.0.2:80 comment "c1"
		ip daddr 127.0.0.1 udp dport 5353 dnat to 10.1.0.2:53 comment "c1"
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 10.1.0.0/28 oifname != "br-a" masquerade
		oifname "br-a" ip saddr 127.0.0.0/8 masquerade
		oifname "br-a" ip saddr 10.1.0.0/28 ct status dnat masquerade
		oifname "br-b" ip saddr 127.0.0.0/8 masquerade
		oifname "br-b" ip saddr 10.2.0.0/29 ct status dnat masquerade
	}
}
"#;
        assert_eq!(render("t", &plan), want);
    }
}
