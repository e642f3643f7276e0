//! Networking (issue 5): user networks with name resolution, published ports from the
//! host's loopback and from containers, isolation, NAT seen by an "outside host" netns
//! the test makes, bad input, repair after SIGKILL, and no leak after many runs.
//!
//! Traffic goes only to 127.0.0.1, to the test's containers and to its own netns. Every
//! network uses a random 10.x subnet that no host route overlaps, and is removed.

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::harness::{free_subnet, root_hash8, run, unique_name, Md, Out};
use crate::lifecycle::{inspect_f, run_d, wait_until, IDLE};

/// An httpd serving `body` at / on port 80.
fn httpd(body: &str) -> String {
    format!("mkdir -p /www && echo {body} > /www/index.html && exec httpd -f -p 80 -h /www")
}

/// A shell loop that fetches `url` (retrying while the server starts); busybox 1.35's
/// `wget -T` crashes, so each try is bounded by `timeout`. The shell must stay PID 1:
/// busybox's `timeout` runs the command in its own process and kills that, and a PID 1
/// ignores the SIGTERM (so never end a `sh -c` with a bare `timeout ...`).
fn fetch(url: &str) -> String {
    format!("for i in 1 2 3 4 5 6 7 8 9 10; do timeout 5 wget -qO- {url} && exit 0; sleep 0.3; done; exit 1")
}

fn host(cmd: &str, args: &[&str]) -> Out {
    let mut c = Command::new(cmd);
    c.args(args);
    run(c, None)
}

/// `run -d --network bridge ARGS`: the harness makes `none` the default network
/// (MYDOCKER_BRIDGE=none), so tests of the default bridge name it.
fn run_d_bridge(md: &Md, args: &[&str]) -> String {
    let mut a = vec!["--network", "bridge"];
    a.extend_from_slice(args);
    run_d(md, &a)
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GET / from 127.0.0.1:port with plain TCP; the response body, retrying while it starts.
fn http_get_loopback(port: u16) -> String {
    let start = Instant::now();
    loop {
        let attempt = (|| -> std::io::Result<String> {
            let mut s = TcpStream::connect(("127.0.0.1", port))?;
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            s.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
            let mut b = String::new();
            s.read_to_string(&mut b)?;
            Ok(b)
        })();
        match attempt {
            Ok(b) if b.contains("\r\n\r\n") => {
                return b.split_once("\r\n\r\n").unwrap().1.trim().to_string()
            }
            other => assert!(
                start.elapsed() < Duration::from_secs(10),
                "127.0.0.1:{port} does not answer: {other:?}"
            ),
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Creates a network on a fresh random subnet; returns (name, subnet, first address).
fn create_net(md: &Md, prefix: u32) -> (String, String, Ipv4Addr) {
    let name = unique_name("h3n");
    let (subnet, base) = free_subnet(prefix);
    md.md(&["network", "create", "--subnet", &subnet, &name])
        .assert_ok();
    (name, subnet, base)
}

fn network_json(md: &Md, net: &str) -> serde_json::Value {
    let out = md.md(&["network", "inspect", net]);
    out.assert_ok();
    let j: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    if j.is_array() {
        j[0].clone()
    } else {
        j
    }
}

/// The bridge device of a network (Docker's `Options` key, or mydocker's `bridge`).
fn bridge_of(md: &Md, net: &str) -> String {
    let j = network_json(md, net);
    j["Options"]["com.docker.network.bridge.name"]
        .as_str()
        .or(j["bridge"].as_str())
        .unwrap_or_else(|| panic!("no bridge name in {j:#}"))
        .to_string()
}

/// Interfaces enslaved to `bridge` (the host ends of containers' veths).
fn ports_of(bridge: &str) -> BTreeSet<String> {
    let out = host("ip", &["-j", "link", "show", "master", bridge]);
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap_or_default();
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|l| l["ifname"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The containers a network lists in `network inspect` (Docker's `Containers`, or
/// mydocker's `endpoints`).
fn endpoints(md: &Md, net: &str) -> usize {
    let j = network_json(md, net);
    j["Containers"]
        .as_object()
        .or(j["endpoints"].as_object())
        .map(|o| o.len())
        .unwrap_or(0)
}

/// The rules of this root's nft table, one string each (handles removed).
fn nft_rules(md: &Md) -> Vec<String> {
    let table = format!("mydocker_{}", root_hash8(md.root()));
    let out = host("nft", &["list", "table", "ip", &table]);
    out.stdout
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with("chain")
                && !l.starts_with("table")
                && *l != "}"
                && !l.starts_with("type ")
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn containers_reach_each_other_by_ip_name_and_alias() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    let (net, _, base) = create_net(&md, 24);
    run_d(
        &md,
        &[
            "--name",
            "srv",
            "--network",
            &net,
            "--network-alias",
            "database",
            "busybox",
            "sh",
            "-c",
            &httpd("hello-srv"),
        ],
    );
    let ip = inspect_f(
        &md,
        &format!("{{{{.NetworkSettings.Networks.{net}.IPAddress}}}}"),
        "srv",
    );
    assert_eq!(
        ip,
        Ipv4Addr::from(u32::from(base) + 2).to_string(),
        "the first container gets .2 (the gateway has .1)"
    );
    for target in [ip.as_str(), "srv", "database"] {
        md.md(&[
            "run",
            "--rm",
            "--network",
            &net,
            "busybox",
            "sh",
            "-c",
            &fetch(&format!("http://{target}/")),
        ])
        .assert_ok()
        .assert_stdout_is("hello-srv");
    }
    // A long-running client, then a server started after it: both directions resolve.
    run_d(
        &md,
        &[
            "--name",
            "client",
            "--network",
            &net,
            "busybox",
            "sh",
            "-c",
            IDLE,
        ],
    );
    run_d(
        &md,
        &[
            "--name",
            "late",
            "--network",
            &net,
            "busybox",
            "sh",
            "-c",
            &httpd("hello-late"),
        ],
    );
    md.md(&["exec", "client", "sh", "-c", &fetch("http://late/")])
        .assert_ok()
        .assert_stdout_is("hello-late");
    md.md(&["exec", "late", "sh", "-c", &fetch("http://srv/")])
        .assert_ok()
        .assert_stdout_is("hello-srv");

    md.md(&["rm", "-f", "srv", "client", "late"]).assert_ok();
    assert_eq!(endpoints(&md, &net), 0);
    md.md(&["network", "rm", &net])
        .assert_ok()
        .assert_stdout_is(&net);
}

#[test]
fn published_ports_answer_on_loopback_and_from_other_containers() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    let (p1, p2) = (free_port(), free_port());
    let spec1 = format!("127.0.0.1:{p1}:80");
    let spec2 = format!("{p2}:80");
    run_d_bridge(
        &md,
        &[
            "--name",
            "web",
            "-p",
            &spec1,
            "-p",
            &spec2,
            "busybox",
            "sh",
            "-c",
            &httpd("hello-pub"),
        ],
    );
    assert_eq!(http_get_loopback(p1), "hello-pub");
    assert_eq!(http_get_loopback(p2), "hello-pub");

    let port = md.md(&["port", "web"]);
    port.assert_ok();
    let lines: BTreeSet<&str> = port.stdout.lines().collect();
    let want1 = format!("80/tcp -> 127.0.0.1:{p1}");
    let want2 = format!("80/tcp -> 0.0.0.0:{p2}");
    assert_eq!(
        lines,
        BTreeSet::from([want1.as_str(), want2.as_str()]),
        "{port}"
    );
    let p80 = md.md(&["port", "web", "80/tcp"]);
    p80.assert_ok();
    assert!(p80.stdout.contains(&format!("0.0.0.0:{p2}")), "{p80}");
    let ps = md.md(&["ps", "--format", "{{.Ports}}"]);
    assert!(ps.out().contains(&format!("0.0.0.0:{p2}->80/tcp")), "{ps}");

    // From another container, through the gateway (the host's address on the bridge).
    let gw = inspect_f(&md, "{{.NetworkSettings.Gateway}}", "web");
    md.md(&[
        "run",
        "--network",
        "bridge",
        "--rm",
        "busybox",
        "sh",
        "-c",
        &fetch(&format!("http://{gw}:{p2}/")),
    ])
    .assert_ok()
    .assert_stdout_is("hello-pub");

    // -P: a random host port for each EXPOSEd port.
    md.md(&[
        "run",
        "--network",
        "bridge",
        "--name",
        "exp",
        "busybox",
        "true",
    ])
    .assert_ok();
    md.md(&["commit", "-c", "EXPOSE 80", "exp", "exposed:1"])
        .assert_ok();
    md.md(&["rm", "exp"]).assert_ok();
    run_d_bridge(
        &md,
        &[
            "--name",
            "rand",
            "-P",
            "exposed:1",
            "sh",
            "-c",
            &httpd("hello-random"),
        ],
    );
    let rp = md.md(&["port", "rand", "80"]);
    rp.assert_ok();
    let hp: u16 = rp
        .out()
        .lines()
        .next()
        .and_then(|l| l.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no host port\n{rp}"));
    assert!(hp >= 1024, "{rp}");
    assert_eq!(http_get_loopback(hp), "hello-random");

    md.md(&["rm", "-f", "web", "rand"]).assert_ok();
    // The ports are closed again.
    assert!(
        TcpStream::connect(("127.0.0.1", p2)).is_err(),
        "{p2} still answers"
    );
    md.md(&["rmi", "exposed:1"]).assert_ok();
}

#[test]
fn two_networks_are_isolated() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    let (a, _, _) = create_net(&md, 24);
    let (b, _, _) = create_net(&md, 24);
    run_d(
        &md,
        &[
            "--name",
            "srva",
            "--network",
            &a,
            "busybox",
            "sh",
            "-c",
            &httpd("hello-a"),
        ],
    );
    let ip = inspect_f(
        &md,
        &format!("{{{{.NetworkSettings.Networks.{a}.IPAddress}}}}"),
        "srva",
    );
    md.md(&[
        "run",
        "--rm",
        "--network",
        &a,
        "busybox",
        "sh",
        "-c",
        &fetch(&format!("http://{ip}/")),
    ])
    .assert_ok()
    .assert_stdout_is("hello-a");
    md.md(&[
        "run",
        "--rm",
        "--network",
        &b,
        "busybox",
        "sh",
        "-c",
        &format!("timeout 3 wget -qO- http://{ip}/; exit $?"),
    ])
    .assert_fail();
    // No name resolution across networks either.
    md.md(&[
        "run",
        "--rm",
        "--network",
        &b,
        "busybox",
        "sh",
        "-c",
        "timeout 3 wget -qO- http://srva/; exit $?",
    ])
    .assert_fail();
    md.md(&["rm", "-f", "srva"]).assert_ok();
    md.md(&["network", "rm", &a, &b]).assert_ok();
}

#[test]
fn a_taken_host_port_fails_cleanly() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    // Make the default bridge exist first, so "before" includes it.
    md.md(&["run", "--network", "bridge", "--rm", "busybox", "true"])
        .assert_ok();
    let bridge = bridge_of(&md, "bridge");
    let before_ports = ports_of(&bridge);
    let before_rules = nft_rules(&md);

    // Taken by another process.
    let holder = TcpListener::bind("0.0.0.0:0").unwrap();
    let taken = holder.local_addr().unwrap().port();
    let out = md.md(&[
        "run",
        "--network",
        "bridge",
        "-d",
        "--name",
        "clash",
        "-p",
        &format!("{taken}:80"),
        "busybox",
        "sh",
        "-c",
        IDLE,
    ]);
    out.assert_fail().assert_one_line_error();
    assert!(
        out.stderr.contains(&taken.to_string()),
        "the error names the port\n{out}"
    );
    assert_eq!(ports_of(&bridge), before_ports, "a veth is left\n{out}");
    assert_eq!(endpoints(&md, "bridge"), 0, "an endpoint is left");
    assert_eq!(nft_rules(&md), before_rules, "a rule is left");
    md.md(&["ps", "-q"]).assert_ok().assert_stdout_is("");
    let _ = md.md(&["rm", "-f", "clash"]);
    drop(holder);

    // Taken by another container.
    let p = free_port();
    let spec = format!("{p}:80");
    run_d_bridge(
        &md,
        &["--name", "first", "-p", &spec, "busybox", "sh", "-c", IDLE],
    );
    let ports_one = ports_of(&bridge);
    let rules_one = nft_rules(&md);
    let out = md.md(&[
        "run",
        "--network",
        "bridge",
        "-d",
        "--name",
        "second",
        "-p",
        &spec,
        "busybox",
        "sh",
        "-c",
        IDLE,
    ]);
    out.assert_fail().assert_one_line_error();
    assert_eq!(ports_of(&bridge), ports_one, "a veth is left\n{out}");
    assert_eq!(endpoints(&md, "bridge"), 1);
    assert_eq!(nft_rules(&md), rules_one);
    let _ = md.md(&["rm", "-f", "second"]);
    md.md(&["rm", "-f", "first"]).assert_ok();
    assert_eq!(ports_of(&bridge), before_ports);
    assert_eq!(nft_rules(&md), before_rules);
}

#[test]
fn network_commands_refuse_bad_input() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    let (net, subnet, base) = create_net(&md, 24);
    for bad in ["10.1.2.300/24", "notacidr", "10.1.2.0/33"] {
        md.md(&["network", "create", "--subnet", bad, &unique_name("h3bad")])
            .assert_fail()
            .assert_one_line_error();
    }
    let (other, _) = free_subnet(24);
    let outside_gw = Ipv4Addr::from(u32::from(base) + 300).to_string();
    md.md(&[
        "network",
        "create",
        "--subnet",
        &other,
        "--gateway",
        &outside_gw,
        &unique_name("h3bad"),
    ])
    .assert_fail()
    .assert_one_line_error();
    md.md(&["network", "create", "--subnet", &other, &net])
        .assert_fail()
        .assert_stderr_contains("already exists")
        .assert_one_line_error();
    md.md(&[
        "network",
        "create",
        "--subnet",
        &subnet,
        &unique_name("h3ovl"),
    ])
    .assert_fail()
    .assert_one_line_error();
    md.md(&[
        "network",
        "create",
        "--driver",
        "overlay",
        &unique_name("h3drv"),
    ])
    .assert_fail()
    .assert_one_line_error();
    // Only the good network exists.
    let ls = md.md(&["network", "ls"]);
    assert_eq!(
        ls.stdout.lines().filter(|l| l.contains("h3")).count(),
        1,
        "{ls}"
    );

    // In use: not removable; removable once the container is gone.
    run_d(
        &md,
        &[
            "--name",
            "user",
            "--network",
            &net,
            "busybox",
            "sh",
            "-c",
            IDLE,
        ],
    );
    md.md(&["network", "rm", &net])
        .assert_exit(1)
        .assert_stderr_contains("has active endpoints")
        .assert_one_line_error();
    md.md(&["network", "rm", "bridge"])
        .assert_fail()
        .assert_one_line_error();
    md.md(&["network", "rm", "nosuchnet"])
        .assert_fail()
        .assert_one_line_error();
    md.md(&["run", "--rm", "--network", "nosuchnet", "busybox", "true"])
        .assert_exit(125)
        .assert_one_line_error();
    md.md(&["rm", "-f", "user"]).assert_ok();
    let pruned = md.md(&["network", "prune", "-f"]);
    pruned.assert_ok().assert_stdout_contains(&net);
    md.md(&["network", "inspect", &net]).assert_fail();
}

/// PIDs: the container's init and its monitor.
fn init_and_monitor(md: &Md, name: &str) -> (String, String) {
    let pid = inspect_f(md, "{{.State.Pid}}", name);
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let ppid = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    (pid, ppid)
}

#[test]
fn a_container_and_its_monitor_killed_are_repaired_by_the_next_command() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    let (net, _, base) = create_net(&md, 28);
    let bridge = bridge_of(&md, &net);
    let ip = Ipv4Addr::from(u32::from(base) + 5).to_string();
    let p = free_port();
    let spec = format!("{p}:80");
    run_d(
        &md,
        &[
            "--name",
            "victim",
            "--network",
            &net,
            "--ip",
            &ip,
            "-p",
            &spec,
            "busybox",
            "sh",
            "-c",
            IDLE,
        ],
    );
    assert_eq!(ports_of(&bridge).len(), 1);
    let rules_with = nft_rules(&md);
    assert!(
        rules_with.iter().any(|r| r.contains(&p.to_string())),
        "no DNAT rule for {p}: {rules_with:#?}"
    );

    let (pid, monitor) = init_and_monitor(&md, "victim");
    host("kill", &["-KILL", &monitor, &pid]).assert_ok();
    wait_until(10, "the init is gone", || {
        fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.rsplit_once(')').unwrap().1.trim_start().starts_with('Z'))
            .unwrap_or(true)
    });
    // The next command sees the truth and releases the address, rules and veth.
    let ps = md.md(&["ps", "-a", "--format", "{{.Names}} {{.State}}"]);
    ps.assert_ok().assert_stdout_is("victim exited");
    wait_until(10, "the veth is gone", || ports_of(&bridge).is_empty());
    assert_eq!(endpoints(&md, &net), 0, "the endpoint is left");
    let rules = nft_rules(&md);
    assert!(
        !rules.iter().any(|r| r.contains(&p.to_string())),
        "the DNAT rule for {p} is left: {rules:#?}"
    );
    // The address and the host port are free again.
    run_d(
        &md,
        &[
            "--name",
            "reuse",
            "--network",
            &net,
            "--ip",
            &ip,
            "-p",
            &spec,
            "busybox",
            "sh",
            "-c",
            IDLE,
        ],
    );
    md.md(&["rm", "-f", "victim", "reuse"]).assert_ok();
    md.md(&["network", "rm", &net]).assert_ok();
}

/// A network namespace with a veth to the host: the test's "outside host".
struct OutsideHost {
    ns: String,
    host_if: String,
}

impl OutsideHost {
    fn new() -> OutsideHost {
        let routes = host("ip", &["-4", "route", "show", "table", "all"]).stdout;
        assert!(
            !routes.contains("198.51.100."),
            "198.51.100.0/30 is routed on this host already:\n{routes}"
        );
        let tag = &unique_name("")[..6];
        let o = OutsideHost {
            ns: format!("h3out{tag}"),
            host_if: format!("h3o{tag}h"),
        };
        let peer = format!("h3o{tag}p");
        host("ip", &["netns", "add", &o.ns]).assert_ok();
        host(
            "ip",
            &[
                "link", "add", &o.host_if, "type", "veth", "peer", "name", &peer,
            ],
        )
        .assert_ok();
        host("ip", &["link", "set", &peer, "netns", &o.ns]).assert_ok();
        host("ip", &["addr", "add", "198.51.100.1/30", "dev", &o.host_if]).assert_ok();
        host("ip", &["link", "set", &o.host_if, "up"]).assert_ok();
        for args in [
            vec!["addr", "add", "198.51.100.2/30", "dev", &peer],
            vec!["link", "set", &peer, "up"],
            vec!["link", "set", "lo", "up"],
        ] {
            let mut a = vec!["netns", "exec", &o.ns, "ip"];
            a.extend(args);
            host("ip", &a).assert_ok();
        }
        o
    }

    /// Listens on 198.51.100.2:port inside the namespace; returns the first peer's address.
    fn accept_one(&self, port: u16) -> thread::JoinHandle<std::io::Result<std::net::SocketAddr>> {
        let path = format!("/var/run/netns/{}", self.ns);
        let (tx, rx) = std::sync::mpsc::channel();
        let h = thread::spawn(move || {
            let f = fs::File::open(&path)?;
            nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(std::io::Error::from)?;
            let l = TcpListener::bind(("198.51.100.2", port));
            let _ = tx.send(());
            let l = l?;
            l.set_nonblocking(true)?;
            let start = Instant::now();
            loop {
                match l.accept() {
                    Ok((mut s, peer)) => {
                        let _ = s.write_all(b"seen\n");
                        return Ok(peer);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        if start.elapsed() > Duration::from_secs(20) {
                            return Err(std::io::Error::new(
                                std::io::ErrorKind::TimedOut,
                                "no connection",
                            ));
                        }
                        thread::sleep(Duration::from_millis(20));
                    }
                    Err(e) => return Err(e),
                }
            }
        });
        let _ = rx.recv_timeout(Duration::from_secs(5));
        h
    }
}

impl Drop for OutsideHost {
    fn drop(&mut self) {
        let _ = host("ip", &["link", "del", &self.host_if]);
        let _ = host("ip", &["netns", "del", &self.ns]);
    }
}

#[test]
fn an_outside_host_sees_masqueraded_traffic() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    let (net, _, _) = create_net(&md, 24);
    let outside = OutsideHost::new();
    for network in ["bridge", net.as_str()] {
        let port = 20000 + (u16::from_be_bytes(crate::harness::random_bytes::<2>()) % 20000);
        let listener = outside.accept_one(port);
        let cidfile = md.cidfile();
        let out = md.md(&[
            "run",
            "--rm",
            "--network",
            network,
            "--cidfile",
            cidfile.to_str().unwrap(),
            "busybox",
            "sh",
            "-c",
            &format!("ip -4 -o addr show eth0; echo hi | timeout 10 nc 198.51.100.2 {port}"),
        ]);
        out.assert_ok().assert_stdout_contains("seen");
        md.read_cid(&cidfile);
        let peer = listener
            .join()
            .unwrap()
            .expect("the outside host saw no connection");
        assert_eq!(
            peer.ip().to_string(),
            "198.51.100.1",
            "on {network}: the outside host saw the container's own address\n{out}"
        );
        assert!(!out.stdout.contains("198.51.100.1"), "{out}");
    }
    md.md(&["network", "rm", &net]).assert_ok();
}

#[test]
fn many_run_rm_cycles_on_a_slash_28_leak_nothing() {
    const CYCLES: usize = 200;
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    let (net, _, _) = create_net(&md, 28);
    let bridge = bridge_of(&md, &net);
    let rules_before = nft_rules(&md);
    let netns_before = host("ip", &["netns", "list"]).stdout;
    let addrs_before = host("ip", &["-4", "-o", "addr", "show", "dev", &bridge]).stdout;
    let start = Instant::now();
    for i in 0..CYCLES {
        let out = md.md(&["run", "--rm", "--network", &net, "busybox", "true"]);
        assert_eq!(out.code, 0, "cycle {i}\n{out}");
    }
    eprintln!("{CYCLES} run --rm on a /28 took {:?}", start.elapsed());
    // A /28 has 13 addresses for containers: all came back.
    assert_eq!(endpoints(&md, &net), 0);
    assert!(
        ports_of(&bridge).is_empty(),
        "veths left: {:?}",
        ports_of(&bridge)
    );
    assert_eq!(nft_rules(&md), rules_before, "nft rules changed");
    assert_eq!(
        host("ip", &["netns", "list"]).stdout,
        netns_before,
        "a netns is left"
    );
    assert_eq!(
        host("ip", &["-4", "-o", "addr", "show", "dev", &bridge]).stdout,
        addrs_before
    );
    md.md(&["ps", "-a", "-q"]).assert_ok().assert_stdout_is("");
    md.md(&["network", "rm", &net]).assert_ok();
    assert!(
        host("ip", &["link", "show", &bridge]).code != 0,
        "the bridge {bridge} is left"
    );
}

#[test]
fn network_inspect_is_docker_shaped() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    let (net, subnet, _) = create_net(&md, 24);
    run_d(
        &md,
        &[
            "--name",
            "member",
            "--network",
            &net,
            "busybox",
            "sh",
            "-c",
            IDLE,
        ],
    );
    let j = network_json(&md, &net);
    let _ = md.md(&["rm", "-f", "member"]);
    let _ = md.md(&["network", "rm", &net]);
    assert_eq!(j["Name"], net.as_str(), "{j:#}");
    assert_eq!(j["Driver"], "bridge", "{j:#}");
    assert_eq!(j["IPAM"]["Config"][0]["Subnet"], subnet.as_str(), "{j:#}");
    assert_eq!(
        j["Containers"].as_object().map(|o| o.len()),
        Some(1),
        "{j:#}"
    );
}
