//! Port publishing: `-p` parsing and host port reservation checks.
//!
//! [`parse_publish`] understands Docker's forms: `8080:80`, `127.0.0.1:8443:443`, `5353:53/udp`, `80` (random
//! host port), `127.0.0.1::80`, `8000-8001:80-81`, `[::1]:8080:80`. [`resolve`] turns requests into
//! [`PublishedPort`]s before anything is allocated: a port held by another endpoint, or that cannot be bound on the
//! host because another process listens there, is refused with Docker's message; a host port of 0 gets a free one.
//! The probe binds and closes at once: traffic to a published port is DNATed before any local socket sees it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};

use crate::error::{NetworkError, Result};
use crate::types::{PortMapping, Protocol, PublishedPort};

/// Parses one `-p`/`--publish` value into one mapping per port of its range.
pub fn parse_publish(spec: &str) -> Result<Vec<PortMapping>> {
    let bad = |reason: &str| NetworkError::InvalidPublish {
        spec: spec.to_string(),
        reason: reason.to_string(),
    };
    let (rest, protocol) = match spec.rsplit_once('/') {
        Some((rest, "tcp")) => (rest, Protocol::Tcp),
        Some((rest, "udp")) => (rest, Protocol::Udp),
        Some((_, other)) => {
            return Err(bad(&format!("unsupported protocol {other:?} (tcp or udp)")))
        }
        None => (spec, Protocol::Tcp),
    };
    // An IPv6 host address is written in brackets: [::1]:8080:80.
    let (host_ip, rest) = if let Some(after) = rest.strip_prefix('[') {
        let (ip, after) = after.split_once(']').ok_or_else(|| bad("missing ']'"))?;
        let ip: IpAddr = ip
            .parse()
            .map_err(|_| bad(&format!("{ip:?} is not an ip address")))?;
        let after = after
            .strip_prefix(':')
            .ok_or_else(|| bad("expected ':' after the host address"))?;
        (Some(ip), after)
    } else {
        (None, rest)
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (host_ip, host_ports, container_ports) = match (host_ip, parts.as_slice()) {
        (None, [c]) => (None, "", *c),
        (None, [h, c]) => (None, *h, *c),
        (None, [ip, h, c]) => {
            let ip = if ip.is_empty() {
                None
            } else {
                Some(
                    ip.parse::<IpAddr>()
                        .map_err(|_| bad(&format!("{ip:?} is not an ip address")))?,
                )
            };
            (ip, *h, *c)
        }
        (Some(ip), [h, c]) => (Some(ip), *h, *c),
        _ => {
            return Err(bad(
                "expected [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]",
            ))
        }
    };
    let (c_first, c_last) = parse_range(container_ports, false).map_err(|r| bad(&r))?;
    let count = c_last - c_first + 1;
    let host: Option<(u16, u16)> = if host_ports.is_empty() {
        None
    } else {
        Some(parse_range(host_ports, true).map_err(|r| bad(&r))?)
    };
    let mut out = Vec::new();
    for i in 0..count {
        let host_port = match host {
            None => 0,
            Some((h_first, h_last)) => {
                if h_last - h_first + 1 != count {
                    return Err(bad(
                        "host and container port ranges must have the same length",
                    ));
                }
                if h_first == 0 {
                    0
                } else {
                    h_first + i
                }
            }
        };
        out.push(PortMapping {
            host_ip,
            host_port,
            container_port: c_first + i,
            protocol,
        });
    }
    Ok(out)
}

fn parse_range(s: &str, zero_ok: bool) -> std::result::Result<(u16, u16), String> {
    let port = |p: &str| -> std::result::Result<u16, String> {
        let v: u16 = p
            .parse()
            .map_err(|_| format!("{p:?} is not a port number"))?;
        if v == 0 && !zero_ok {
            return Err("port 0 is not valid".into());
        }
        Ok(v)
    };
    match s.split_once('-') {
        None => {
            let p = port(s)?;
            Ok((p, p))
        }
        Some((a, b)) => {
            let (a, b) = (port(a)?, port(b)?);
            if b < a {
                return Err(format!("invalid range {s}"));
            }
            Ok((a, b))
        }
    }
}

/// Turns requested mappings into published ports: checks conflicts with `taken` (ports of other endpoints) and
/// with host sockets, and picks free ports for `host_port == 0`. Nothing is held afterwards.
pub(crate) fn resolve(
    requested: &[PortMapping],
    taken: &[PublishedPort],
) -> Result<Vec<PublishedPort>> {
    let mut out: Vec<PublishedPort> = Vec::new();
    for m in requested {
        let host_ip = match m.host_ip {
            None => Ipv4Addr::UNSPECIFIED,
            Some(IpAddr::V4(ip)) => ip,
            Some(ip @ IpAddr::V6(v6)) => {
                // Docker accepts "[::]" as "all addresses"; we only publish on IPv4.
                if v6.is_unspecified() {
                    Ipv4Addr::UNSPECIFIED
                } else {
                    return Err(NetworkError::Ipv6Unsupported(ip));
                }
            }
        };
        let clash = |port: u16, list: &[PublishedPort]| {
            list.iter().any(|p| {
                p.protocol == m.protocol
                    && p.host_port == port
                    && (p.host_ip == host_ip
                        || p.host_ip.is_unspecified()
                        || host_ip.is_unspecified())
            })
        };
        let host_port = if m.host_port != 0 {
            if clash(m.host_port, taken)
                || clash(m.host_port, &out)
                || !can_bind(host_ip, m.host_port, m.protocol)?
            {
                return Err(NetworkError::PortAllocated {
                    host_ip: IpAddr::V4(host_ip),
                    port: m.host_port,
                });
            }
            m.host_port
        } else {
            pick_free(host_ip, m.protocol, |p| clash(p, taken) || clash(p, &out))?
        };
        out.push(PublishedPort {
            host_ip,
            host_port,
            container_port: m.container_port,
            protocol: m.protocol,
        });
    }
    Ok(out)
}

/// Whether a socket could bind `ip:port` now. `false` on EADDRINUSE; other errors are returned.
fn can_bind(ip: Ipv4Addr, port: u16, protocol: Protocol) -> Result<bool> {
    match bind(ip, port, protocol) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Ok(false),
        // The address is not on this host (yet): nothing can be listening there.
        Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => Ok(true),
        Err(source) => Err(NetworkError::PortProbe {
            host_ip: IpAddr::V4(ip),
            port,
            source,
        }),
    }
}

/// Binds and returns the port the kernel chose (0 = any). The socket is closed on return.
fn bind(ip: Ipv4Addr, port: u16, protocol: Protocol) -> std::io::Result<u16> {
    let addr = SocketAddr::from((ip, port));
    match protocol {
        Protocol::Tcp => TcpListener::bind(addr)?.local_addr().map(|a| a.port()),
        Protocol::Udp => UdpSocket::bind(addr)?.local_addr().map(|a| a.port()),
    }
}

fn pick_free(ip: Ipv4Addr, protocol: Protocol, taken: impl Fn(u16) -> bool) -> Result<u16> {
    // The kernel hands out ports from its ephemeral range (like Docker's 49153-65535); retry past ports that other
    // endpoints hold through DNAT only.
    let probe_ip = if ip.is_unspecified() || bind(ip, 0, protocol).is_err() {
        Ipv4Addr::UNSPECIFIED
    } else {
        ip
    };
    for _ in 0..64 {
        let port = bind(probe_ip, 0, protocol).map_err(|source| NetworkError::PortProbe {
            host_ip: IpAddr::V4(ip),
            port: 0,
            source,
        })?;
        if !taken(port) {
            return Ok(port);
        }
    }
    Err(NetworkError::NoFreePort {
        host_ip: IpAddr::V4(ip),
        protocol: protocol.as_str(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pm(
        host_ip: Option<&str>,
        host_port: u16,
        container_port: u16,
        protocol: Protocol,
    ) -> PortMapping {
        PortMapping {
            host_ip: host_ip.map(|s| s.parse().unwrap()),
            host_port,
            container_port,
            protocol,
        }
    }

    #[test]
    fn parse_publish_table() {
        use Protocol::*;
        let table: Vec<(&str, Vec<PortMapping>)> = vec![
            ("8080:80", vec![pm(None, 8080, 80, Tcp)]),
            (
                "127.0.0.1:8443:443",
                vec![pm(Some("127.0.0.1"), 8443, 443, Tcp)],
            ),
            ("5353:53/udp", vec![pm(None, 5353, 53, Udp)]),
            ("80", vec![pm(None, 0, 80, Tcp)]),
            ("80/tcp", vec![pm(None, 0, 80, Tcp)]),
            ("127.0.0.1::80", vec![pm(Some("127.0.0.1"), 0, 80, Tcp)]),
            ("::80", vec![pm(None, 0, 80, Tcp)]),
            (
                "8000-8001:80-81",
                vec![pm(None, 8000, 80, Tcp), pm(None, 8001, 81, Tcp)],
            ),
            ("80-81", vec![pm(None, 0, 80, Tcp), pm(None, 0, 81, Tcp)]),
            ("[::1]:8080:80", vec![pm(Some("::1"), 8080, 80, Tcp)]),
            (
                "0.0.0.0:9000:9000/udp",
                vec![pm(Some("0.0.0.0"), 9000, 9000, Udp)],
            ),
        ];
        for (spec, want) in table {
            assert_eq!(parse_publish(spec).unwrap(), want, "{spec}");
        }
    }

    #[test]
    fn parse_publish_refuses() {
        for (spec, want) in [
            ("", "is not a port number"),
            ("8080:0", "port 0 is not valid"),
            ("70000:80", "is not a port number"),
            ("a:80", "is not a port number"),
            ("8080:80/sctp", "unsupported protocol"),
            ("1.2.3:8080:80", "is not an ip address"),
            ("8000-8002:80-81", "same length"),
            ("81-80", "invalid range"),
            ("1:2:3:4", "expected [HOST_IP:]"),
            ("[::1:80", "missing ']'"),
        ] {
            let err = parse_publish(spec).unwrap_err().to_string();
            assert!(err.contains(want), "{spec:?}: got {err}");
        }
    }

    #[test]
    fn resolve_refuses_ports_of_other_endpoints() {
        let taken = [PublishedPort {
            host_ip: Ipv4Addr::UNSPECIFIED,
            host_port: 18080,
            container_port: 80,
            protocol: Protocol::Tcp,
        }];
        let err = resolve(&[pm(Some("127.0.0.1"), 18080, 80, Protocol::Tcp)], &taken).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Bind for 127.0.0.1:18080 failed: port is already allocated"
        );
        // Same port, other protocol: fine.
        let ok = resolve(&[pm(None, 18080, 53, Protocol::Udp)], &taken);
        // (may still fail if something on this host listens on udp 18080; accept that)
        if let Ok(v) = ok {
            assert_eq!(v[0].host_port, 18080);
        }
        // Twice in one request.
        let err = resolve(
            &[
                pm(None, 18081, 80, Protocol::Tcp),
                pm(None, 18081, 81, Protocol::Tcp),
            ],
            &[],
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("port is already allocated"),
            "{err}"
        );
    }

    #[test]
    fn resolve_refuses_ports_other_processes_hold() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let err = resolve(&[pm(None, port, 80, Protocol::Tcp)], &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("Bind for 0.0.0.0:{port} failed: port is already allocated")
        );
    }

    #[test]
    fn resolve_picks_free_ports() {
        let got = resolve(
            &[
                pm(None, 0, 80, Protocol::Tcp),
                pm(Some("127.0.0.1"), 0, 81, Protocol::Udp),
            ],
            &[],
        )
        .unwrap();
        assert_ne!(got[0].host_port, 0);
        assert_ne!(got[1].host_port, 0);
        assert_eq!(got[1].host_ip, Ipv4Addr::LOCALHOST);
        assert_eq!(
            got[0].to_string(),
            format!("80/tcp -> 0.0.0.0:{}", got[0].host_port)
        );
    }
}
