//! Name resolution files for containers: `/etc/hosts` and `/etc/resolv.conf` content.
//!
//! Containers on a user-defined network find each other by name and alias through `/etc/hosts`: the engine
//! writes each container's file from [`crate::Networks::hosts_entries`] with [`hosts_file`], and rewrites the
//! files of the running containers that share a network whenever an endpoint joins or leaves (in place: the file
//! is bind-mounted, so truncate-and-write, never rename). [`resolv_conf`] follows Docker: the host's file without
//! loopback resolvers (they are unreachable from the container's netns), Google's public resolvers when none is
//! left, or exactly the `--dns` servers.

use std::net::{IpAddr, Ipv4Addr};

/// One line of /etc/hosts: an address and its names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEntry {
    /// Address.
    pub ip: IpAddr,
    /// Names, most specific first (container name, then aliases, then the short id).
    pub names: Vec<String>,
}

/// Renders /etc/hosts: localhost lines, the container itself (`own`), its peers, then `--add-host` entries.
pub fn hosts_file(own: &[HostEntry], peers: &[HostEntry], extra: &[HostEntry]) -> String {
    let mut s = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n\
         ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
    );
    for e in own.iter().chain(peers).chain(extra) {
        if e.names.is_empty() {
            continue;
        }
        s.push_str(&format!("{}\t{}\n", e.ip, e.names.join(" ")));
    }
    s
}

/// Renders /etc/resolv.conf from the host's content, or from `--dns` servers when given.
pub fn resolv_conf(host: &str, dns: &[IpAddr], search: &[String], options: &[String]) -> String {
    let mut servers: Vec<String> = Vec::new();
    let mut other: Vec<String> = Vec::new();
    for line in host.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("nameserver") {
            if let Ok(ip) = rest.trim().parse::<IpAddr>() {
                if !ip.is_loopback() {
                    servers.push(ip.to_string());
                }
            }
        } else if (t.starts_with("search") && !search.is_empty())
            || (t.starts_with("options") && !options.is_empty())
        {
            // replaced below
        } else if !t.is_empty() && !t.starts_with('#') && !t.starts_with(';') {
            other.push(t.to_string());
        }
    }
    if !dns.is_empty() {
        servers = dns.iter().map(|d| d.to_string()).collect();
    }
    if servers.is_empty() {
        servers = [Ipv4Addr::new(8, 8, 8, 8), Ipv4Addr::new(8, 8, 4, 4)]
            .iter()
            .map(|d| d.to_string())
            .collect();
    }
    let mut s = String::new();
    for n in servers {
        s.push_str(&format!("nameserver {n}\n"));
    }
    if !search.is_empty() {
        s.push_str(&format!("search {}\n", search.join(" ")));
    }
    if !options.is_empty() {
        s.push_str(&format!("options {}\n", options.join(" ")));
    }
    for o in other {
        s.push_str(&o);
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_drops_loopback_resolvers() {
        let host = "# generated\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n";
        assert_eq!(
            resolv_conf(host, &[], &[], &[]),
            "nameserver 8.8.8.8\nnameserver 8.8.4.4\noptions edns0 trust-ad\nsearch lan\n"
        );
        let host = "nameserver 10.0.0.53\nnameserver ::1\nsearch lan\n";
        assert_eq!(
            resolv_conf(host, &[], &[], &[]),
            "nameserver 10.0.0.53\nsearch lan\n"
        );
        let dns = ["1.1.1.1".parse().unwrap()];
        assert_eq!(
            resolv_conf(host, &dns, &["x".into()], &[]),
            "nameserver 1.1.1.1\nsearch x\n"
        );
    }

    #[test]
    fn hosts_file_lists_peers() {
        let own = [HostEntry {
            ip: "10.1.0.2".parse().unwrap(),
            names: vec!["web".into(), "abc123".into()],
        }];
        let peers = [HostEntry {
            ip: "10.1.0.3".parse().unwrap(),
            names: vec!["db".into(), "database".into()],
        }];
        let s = hosts_file(&own, &peers, &[]);
        assert!(s.starts_with("127.0.0.1\tlocalhost\n"));
        assert!(
            s.ends_with("10.1.0.2\tweb abc123\n10.1.0.3\tdb database\n"),
            "{s}"
        );
    }
}
