//! Integration tests of bridge networks, as root, each in its own private "host" network namespace.
//! See `common/mod.rs` for the harness and its network-safety rules.

mod common;

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use common::*;
use mydocker_network::{parse_publish, CreateRequest, EndpointRequest, NetworkError, NetworkInfo};

fn create(host: &TestHost, name: &str, subnet: &str) -> NetworkInfo {
    host.nets
        .create(CreateRequest {
            name: name.into(),
            subnet: Some(subnet.parse().unwrap()),
            ..Default::default()
        })
        .unwrap()
}

fn req(c: &Container, id: &str) -> EndpointRequest {
    EndpointRequest {
        container_id: id.into(),
        container_name: format!("name-{id}"),
        netns: c.netns(),
        ..Default::default()
    }
}

fn veths() -> Vec<String> {
    host_link_names()
        .into_iter()
        .filter(|n| n.starts_with("vmd"))
        .collect()
}

/// Two containers on one network reach each other by IP; the container side is eth0 with the address, a default
/// route via the gateway and `lo` up; disconnect releases the address and leaves no veth and no rule.
#[test]
fn containers_ping_each_other_and_disconnect_leaves_nothing() {
    require_root!();
    let host = TestHost::new();
    let net = create(&host, "pingnet", &random_subnet(28));
    let (c1, c2) = (Container::new(), Container::new());
    let e1 = host.nets.connect("pingnet", req(&c1, "c1")).unwrap();
    let e2 = host.nets.connect(&net.id[..8], req(&c2, "c2")).unwrap();
    let hosts: Vec<Ipv4Addr> = net.subnet.hosts().collect();
    assert_eq!((net.gateway, e1.ip, e2.ip), (hosts[0], hosts[1], hosts[2]));
    assert_eq!(e1.interface, "eth0");

    // Oracle: ip -j addr / route inside the container.
    let addrs = c1.addrs();
    let eth0 = addrs
        .iter()
        .find(|l| l["ifname"] == "eth0")
        .expect("eth0 in container");
    assert_eq!(eth0["addr_info"][0]["local"], e1.ip.to_string());
    assert_eq!(eth0["address"], e1.mac);
    assert!(eth0["flags"].to_string().contains("UP"));
    let lo = addrs.iter().find(|l| l["ifname"] == "lo").unwrap();
    assert!(lo["flags"].to_string().contains("UP"));
    let routes = String::from_utf8(c1.exec(&["ip", "-j", "route"]).stdout).unwrap();
    assert!(
        routes.contains(&format!(r#""dst":"default","gateway":"{}""#, net.gateway)),
        "{routes}"
    );
    // The host end is attached to the bridge.
    let links = host_links();
    let v = links
        .iter()
        .find(|l| l["ifname"] == e1.host_veth.as_str())
        .unwrap();
    assert_eq!(v["master"], net.bridge.as_str());

    assert!(c1.ping(&e2.ip.to_string()), "c1 -> c2");
    assert!(c2.ping(&e1.ip.to_string()), "c2 -> c1");
    assert!(c1.ping(&net.gateway.to_string()), "c1 -> gateway");

    // Names for /etc/hosts.
    let (own, peers) = host.nets.hosts_entries("c1").unwrap();
    assert_eq!(own[0].names, vec!["name-c1".to_string(), "c1".into()]);
    assert_eq!(peers[0].ip.to_string(), e2.ip.to_string());
    assert_eq!(host.nets.neighbours("c1").unwrap(), vec!["c2".to_string()]);

    host.nets.disconnect("pingnet", "c1").unwrap();
    host.nets.disconnect("pingnet", "c1").unwrap(); // idempotent
    assert!(!veths().contains(&e1.host_veth));
    assert!(c1.addrs().iter().all(|l| l["ifname"] != "eth0"));
    assert!(!host.nft_json().contains("\"c1\""));
    // The released address is handed out again.
    let again = host.nets.connect("pingnet", req(&c1, "c3")).unwrap();
    assert_eq!(again.ip, e1.ip);
    host.nets.cleanup_container("c3").unwrap();
    host.nets.cleanup_container("c2").unwrap();
    assert!(veths().is_empty(), "{:?}", veths());
    assert!(host.nets.endpoints("pingnet").unwrap().is_empty());
}

/// A published port answers on the host's 127.0.0.1, on the gateway from another container (hairpin), and from
/// an "outside host" namespace; a taken host port is refused before anything is allocated.
#[test]
fn published_ports_answer_from_loopback_other_containers_and_outside() {
    require_root!();
    let host = TestHost::new();
    let net = create(&host, "pubnet", &random_subnet(28));
    let (mut web, client) = (Container::new(), Container::new());
    let hostport = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut r = req(&web, "web");
    r.ports = parse_publish(&format!("{hostport}:80")).unwrap();
    let ep = host.nets.connect("pubnet", r).unwrap();
    assert_eq!(ep.ports[0].host_port, hostport);
    let _docroot = serve_http(&mut web, ep.ip, "hello from web\n");
    let ec = host.nets.connect("pubnet", req(&client, "client")).unwrap();

    // From the host itself, through 127.0.0.1 (output-chain DNAT + route_localnet + masquerade).
    let body = http_get(SocketAddr::from((Ipv4Addr::LOCALHOST, hostport)));
    assert_eq!(body.as_deref(), Some("hello from web\n"));
    // From another container, through the host's address on the bridge (hairpin NAT).
    let url = format!("http://{}:{hostport}/", net.gateway);
    let out = client.exec(&["timeout", "5", "busybox", "wget", "-q", "-O", "-", &url]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello from web\n",
        "{out:?}"
    );

    // From an outside host: a namespace linked to the test host by its own veth pair.
    let outside = Container::new();
    let o = format!("vo{}", suffix());
    sh(&[
        "ip",
        "link",
        "add",
        &o,
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        &outside.pid().to_string(),
    ]);
    sh(&["ip", "addr", "add", "192.0.2.1/24", "dev", &o]);
    sh(&["ip", "link", "set", &o, "up"]);
    for args in [
        &["ip", "addr", "add", "192.0.2.2/24", "dev", "eth0"][..],
        &["ip", "link", "set", "eth0", "up"],
        &["ip", "link", "set", "lo", "up"],
        &["ip", "route", "add", "default", "via", "192.0.2.1"],
    ] {
        assert!(outside.exec(args).status.success(), "{args:?}");
    }
    let url = format!("http://192.0.2.1:{hostport}/");
    let out = outside.exec(&["timeout", "5", "busybox", "wget", "-q", "-O", "-", &url]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello from web\n",
        "{out:?}"
    );

    // Taken by another endpoint: refused, nothing allocated.
    let other = Container::new();
    let before = (veths(), host.nets.endpoints("pubnet").unwrap().len());
    let mut r = req(&other, "other");
    r.ports = parse_publish(&format!("127.0.0.1:{hostport}:81")).unwrap();
    let err = host.nets.connect("pubnet", r).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("Bind for 127.0.0.1:{hostport} failed: port is already allocated")
    );
    // Taken by another process on the host.
    let l = TcpListener::bind("0.0.0.0:0").unwrap();
    let busy = l.local_addr().unwrap().port();
    let mut r = req(&other, "other");
    r.ports = parse_publish(&format!("{busy}:80")).unwrap();
    let err = host.nets.connect("pubnet", r).unwrap_err();
    assert!(
        matches!(err, NetworkError::PortAllocated { port, .. } if port == busy),
        "{err}"
    );
    assert_eq!(
        before,
        (veths(), host.nets.endpoints("pubnet").unwrap().len())
    );

    // Random host port (-p 80 / -P).
    let mut r = req(&other, "other");
    r.ports = parse_publish("127.0.0.1::80").unwrap();
    let eo = host.nets.connect("pubnet", r).unwrap();
    assert_ne!(eo.ports[0].host_port, 0);
    assert!(host.nft_text().contains(&format!(
        "tcp dport {} dnat to {}:80",
        eo.ports[0].host_port, eo.ip
    )));

    // Every rule of an endpoint goes with it.
    host.nets.disconnect("pubnet", "web").unwrap();
    let json = host.nft_json();
    assert!(
        !json.contains("\"web\"") && !json.contains(&ep.ip.to_string()),
        "{json}"
    );
    assert_eq!(
        http_get(SocketAddr::from((Ipv4Addr::LOCALHOST, hostport))),
        None
    );
    for id in ["client", "other"] {
        host.nets.disconnect("pubnet", id).unwrap();
    }
    let _ = ec;
}

/// Traffic leaving a (non-internal) network is masqueraded: an outside host sees the host's address on its link,
/// not the container's. An internal network cannot reach it at all.
#[test]
fn outside_host_sees_masqueraded_source_and_internal_is_cut_off() {
    require_root!();
    let host = TestHost::new();
    create(&host, "outnet", &random_subnet(29));
    host.nets
        .create(CreateRequest {
            name: "intnet".into(),
            subnet: Some(random_subnet(29).parse().unwrap()),
            internal: true,
            ..Default::default()
        })
        .unwrap();
    let mut outside = Container::new();
    let o = format!("vo{}", suffix());
    sh(&[
        "ip",
        "link",
        "add",
        &o,
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        &outside.pid().to_string(),
    ]);
    sh(&["ip", "addr", "add", "198.51.100.1/24", "dev", &o]);
    sh(&["ip", "link", "set", &o, "up"]);
    for args in [
        &["ip", "addr", "add", "198.51.100.2/24", "dev", "eth0"][..],
        &["ip", "link", "set", "eth0", "up"],
        &["ip", "link", "set", "lo", "up"],
    ] {
        assert!(outside.exec(args).status.success(), "{args:?}");
    }
    // A server that answers with the address the connection came from. The outside host has no route back to
    // the container subnet: only masquerade makes the reply possible at all.
    let script = "import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
                  s.bind(('0.0.0.0',9000))\ns.listen()\nwhile True:\n c,a=s.accept()\n c.sendall(a[0].encode())\n c.close()\n";
    outside.spawn(&["/usr/bin/python3", "-c", script]);
    let c = Container::new();
    let ci = Container::new();
    let ep = host.nets.connect("outnet", req(&c, "c")).unwrap();
    host.nets.connect("intnet", req(&ci, "ci")).unwrap();

    let deadline = Instant::now() + Duration::from_secs(5);
    let seen = loop {
        let out = c.exec(&["busybox", "nc", "-w", "1", "198.51.100.2", "9000"]);
        let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !s.is_empty() || Instant::now() > deadline {
            break s;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        seen, "198.51.100.1",
        "outside host must see the host's link address, not {}",
        ep.ip
    );
    let out = ci.exec(&["busybox", "nc", "-w", "1", "198.51.100.2", "9000"]);
    assert!(
        out.stdout.is_empty(),
        "internal network reached the outside"
    );
    let rules = host.nft_text();
    assert!(!rules.contains(&format!(
        "ip saddr {} oifname",
        host.nets.inspect("intnet").unwrap().subnet
    )));
    host.nets.cleanup_container("c").unwrap();
    host.nets.cleanup_container("ci").unwrap();
}

/// Containers of two networks cannot reach each other.
#[test]
fn two_networks_are_isolated() {
    require_root!();
    let host = TestHost::new();
    let n1 = create(&host, "iso1", &random_subnet(28));
    let n2 = create(&host, "iso2", &random_subnet(28));
    let (a, b, a2) = (Container::new(), Container::new(), Container::new());
    let ea = host.nets.connect("iso1", req(&a, "a")).unwrap();
    let eb = host.nets.connect("iso2", req(&b, "b")).unwrap();
    let ea2 = host.nets.connect("iso1", req(&a2, "a2")).unwrap();
    assert!(a.ping(&ea2.ip.to_string()), "same network must work");
    assert!(!a.ping(&eb.ip.to_string()), "iso1 -> iso2 must be dropped");
    assert!(!b.ping(&ea.ip.to_string()), "iso2 -> iso1 must be dropped");
    // Removing is refused while endpoints exist, with Docker's message.
    let err = host.nets.remove("iso1").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "error while removing network: network iso1 id {} has active endpoints",
            n1.id
        )
    );
    for id in ["a", "b", "a2"] {
        host.nets.cleanup_container(id).unwrap();
    }
    // Network removal deletes the bridge and all its rules.
    host.nets.remove("iso1").unwrap();
    assert!(!host_link_names().contains(&n1.bridge));
    let rules = host.nft_text();
    assert!(
        !rules.contains(&n1.bridge) && !rules.contains(&n1.subnet.to_string()),
        "{rules}"
    );
    assert!(rules.contains(&n2.bridge));
    assert_eq!(host.nets.prune().unwrap(), vec!["iso2".to_string()]);
    assert!(
        host.nft_text().is_empty(),
        "table must be gone with the last network"
    );
}

/// Bad input is refused with clear messages and leaves nothing behind.
#[test]
fn create_refuses_bad_input() {
    require_root!();
    let host = TestHost::new();
    let subnet = random_subnet(28);
    create(&host, "dup", &subnet);
    let try_create = |name: &str, subnet: Option<&str>, gateway: Option<&str>| {
        host.nets
            .create(CreateRequest {
                name: name.into(),
                subnet: subnet.map(|s| s.parse().unwrap()),
                gateway: gateway.map(|g| g.parse().unwrap()),
                ..Default::default()
            })
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        try_create("dup", None, None),
        "network with name dup already exists"
    );
    assert!(try_create("other", Some(&subnet), None).contains("overlaps with pool"));
    assert!(
        try_create("gw", Some("10.250.0.0/28"), Some("10.250.0.17")).contains("not a host address")
    );
    assert!(
        try_create("gw", Some("10.250.0.0/28"), Some("10.250.0.15")).contains("not a host address")
    );
    assert!(try_create("bad name!", None, None).contains("invalid network name"));
    let err = host
        .nets
        .create(CreateRequest {
            name: "drv".into(),
            driver: "overlay".into(),
            ..Default::default()
        })
        .unwrap_err();
    assert!(err.to_string().contains("not supported"));
    assert!("10.0.0.1/24".parse::<mydocker_network::Ipv4Net>().is_err());
    assert_eq!(host.nets.list().unwrap().len(), 1);
    assert_eq!(
        host_link_names()
            .iter()
            .filter(|n| n.starts_with("br-"))
            .count(),
        1
    );
    // A custom gateway is honoured.
    let n = host
        .nets
        .create(CreateRequest {
            name: "gwok".into(),
            subnet: Some("10.250.0.0/29".parse().unwrap()),
            gateway: Some("10.250.0.6".parse().unwrap()),
            ..Default::default()
        })
        .unwrap();
    let addrs = sh(&["ip", "-j", "addr", "show", "dev", &n.bridge]);
    assert!(
        addrs.contains(r#""local":"10.250.0.6","prefixlen":29"#),
        "{addrs}"
    );
}

/// The default network: mydocker0 with 172.17.0.0/16, or the next pool when a host route overlaps.
#[test]
fn default_network_avoids_host_routes() {
    require_root!();
    let host = TestHost::new();
    let d = format!("d{}", suffix());
    sh(&[
        "ip",
        "link",
        "add",
        &d,
        "type",
        "veth",
        "peer",
        "name",
        &format!("{d}p"),
    ]);
    sh(&["ip", "addr", "add", "172.17.5.1/16", "dev", &d]);
    sh(&["ip", "link", "set", &d, "up"]);
    let def = host.nets.ensure_default().unwrap();
    assert_eq!(
        (def.name.as_str(), def.bridge.as_str()),
        ("bridge", "mydocker0")
    );
    assert_eq!(def.subnet.to_string(), "172.18.0.0/16");
    assert_eq!(def.gateway.to_string(), "172.18.0.1");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
            .unwrap()
            .trim(),
        "1"
    );
    // Idempotent, and a user network without --subnet takes the next pool.
    assert_eq!(host.nets.ensure_default().unwrap().id, def.id);
    let n = host
        .nets
        .create(CreateRequest {
            name: "auto".into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(n.subnet.to_string(), "172.19.0.0/16");
    assert!(matches!(
        host.nets.remove("bridge"),
        Err(NetworkError::Predefined)
    ));
    // The bridge device deleted behind our back is recreated on next use.
    sh(&["ip", "link", "del", "mydocker0"]);
    host.nets.ensure_default().unwrap();
    assert!(host_link_names().contains(&"mydocker0".to_string()));
}

/// `reload` restores the table after `nft delete table` and a deleted bridge (re-attaching veths).
#[test]
fn reload_restores_rules_and_bridge() {
    require_root!();
    let host = TestHost::new();
    let net = create(&host, "reloadnet", &random_subnet(28));
    let c = Container::new();
    let mut r = req(&c, "rc");
    r.ports = parse_publish("127.0.0.1::80/udp").unwrap();
    let ep = host.nets.connect("reloadnet", r).unwrap();
    let before = host.nft_text();
    assert!(before.contains(&format!(
        "udp dport {} dnat to {}:80",
        ep.ports[0].host_port, ep.ip
    )));
    sh(&["nft", "delete", "table", "ip", &host.table]);
    sh(&["ip", "link", "del", &net.bridge]);
    assert!(host.nft_text().is_empty());
    host.reopen().reload().unwrap();
    assert_eq!(host.nft_text(), before);
    let links = host_links();
    let v = links
        .iter()
        .find(|l| l["ifname"] == ep.host_veth.as_str())
        .unwrap();
    assert_eq!(v["master"], net.bridge.as_str());
    assert!(c.ping(&net.gateway.to_string()));
    host.nets.disconnect("reloadnet", "rc").unwrap();
}

/// A failure in the middle of connect undoes everything: address released, no veth, no rule.
#[test]
fn failed_connect_rolls_back() {
    require_root!();
    let host = TestHost::new();
    create(&host, "rbnet", &random_subnet(29));
    let c = Container::new();
    // Missing netns: refused before anything is allocated.
    let mut r = req(&c, "x");
    r.netns = "/proc/0/ns/net".into();
    assert!(host.nets.connect("rbnet", r).is_err());
    // An interface name the kernel refuses (too long): fails after the address was saved and the veth made.
    let mut r = req(&c, "x");
    r.interface = Some("this-name-is-too-long-for-linux".into());
    r.ports = parse_publish("127.0.0.1::80").unwrap();
    let err = host.nets.connect("rbnet", r).unwrap_err();
    assert!(err.to_string().contains("create veth"), "{err}");
    assert!(host.nets.endpoints("rbnet").unwrap().is_empty());
    assert!(veths().is_empty());
    assert!(!host.nft_json().contains("\"x\""));
    // A /29 still has all 5 addresses.
    let cs: Vec<Container> = (0..5).map(|_| Container::new()).collect();
    for (i, c) in cs.iter().enumerate() {
        host.nets
            .connect("rbnet", req(c, &format!("k{i}")))
            .unwrap();
    }
    let extra = Container::new();
    let err = host.nets.connect("rbnet", req(&extra, "k5")).unwrap_err();
    assert!(err
        .to_string()
        .starts_with("no available IPv4 addresses on this network's address pools: rbnet ("));
    for i in 0..5 {
        host.nets.disconnect("rbnet", &format!("k{i}")).unwrap();
    }
}

/// A container killed with its netns gone: cleanup still releases everything.
#[test]
fn cleanup_after_container_died() {
    require_root!();
    let host = TestHost::new();
    create(&host, "deadnet", &random_subnet(29));
    let mut c = Container::new();
    let mut r = req(&c, "dead");
    r.ports = parse_publish("127.0.0.1::80").unwrap();
    host.nets.connect("deadnet", r).unwrap();
    c.kill();
    // The kernel destroys the netns (and the veth pair) asynchronously.
    host.reopen().cleanup_container("dead").unwrap();
    assert!(host.nets.endpoints("deadnet").unwrap().is_empty());
    let deadline = Instant::now() + Duration::from_secs(5);
    while !veths().is_empty() {
        assert!(Instant::now() < deadline, "veth left: {:?}", veths());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!host.nft_json().contains("\"dead\""));
}

/// 200 connect/disconnect cycles on a /28 leak no address, veth or rule.
#[test]
fn two_hundred_cycles_leak_nothing() {
    require_root!();
    let host = TestHost::new();
    let net = create(&host, "cyclenet", &random_subnet(28));
    let c = Container::new();
    let neighbour = Container::new();
    host.nets
        .connect("cyclenet", req(&neighbour, "stay"))
        .unwrap();
    let start = Instant::now();
    for i in 0..200 {
        let mut r = req(&c, &format!("cycle{i}"));
        r.ports = parse_publish("127.0.0.1::80").unwrap();
        let ep = host.nets.connect("cyclenet", r).unwrap();
        assert_eq!(ep.ip, net.subnet.hosts().nth(2).unwrap(), "cycle {i}");
        host.nets
            .disconnect("cyclenet", &format!("cycle{i}"))
            .unwrap();
    }
    eprintln!("200 connect/disconnect cycles: {:?}", start.elapsed());
    let eps = host.nets.endpoints("cyclenet").unwrap();
    assert_eq!(eps.len(), 1);
    assert_eq!(veths(), vec![eps[0].host_veth.clone()]);
    assert!(c.addrs().iter().all(|l| l["ifname"] != "eth0"));
    let json = host.nft_json();
    assert!(
        !json.contains("cycle") && !json.contains("\"dnat\": {"),
        "{json}"
    );
    host.nets.disconnect("cyclenet", "stay").unwrap();
    host.nets.remove("cyclenet").unwrap();
    assert!(veths().is_empty() && host.nft_text().is_empty());
}
