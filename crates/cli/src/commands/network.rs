//! `mydocker network ...` and `mydocker port`.

use crate::cli::{NetworkCommand, PortArgs};
use crate::table;
use mydocker_engine::network::{CreateRequest, Ipv4Net};
use mydocker_engine::Engine;

pub fn network(engine: &Engine, cmd: NetworkCommand) -> anyhow::Result<i32> {
    let nets = engine.networks()?;
    match cmd {
        NetworkCommand::Create {
            driver,
            subnet,
            gateway,
            internal,
            label,
            name,
        } => {
            let subnet = subnet
                .map(|s| s.parse::<Ipv4Net>())
                .transpose()
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let labels = label
                .iter()
                .map(|l| match l.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (l.clone(), String::new()),
                })
                .collect();
            let info = nets.create(CreateRequest {
                name,
                driver,
                subnet,
                gateway,
                internal,
                labels,
                ..Default::default()
            })?;
            println!("{}", info.id);
        }
        NetworkCommand::Ls { quiet } => {
            let list = nets.list()?;
            if quiet {
                for n in &list {
                    println!("{}", n.short_id());
                }
            } else {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|n| {
                        vec![
                            n.short_id().to_string(),
                            n.name.clone(),
                            n.driver.clone(),
                            "local".into(),
                        ]
                    })
                    .collect();
                table::print(&["NETWORK ID", "NAME", "DRIVER", "SCOPE"], &rows);
            }
        }
        NetworkCommand::Inspect { format, networks } => {
            let mut out = Vec::new();
            for n in &networks {
                out.push(docker_shaped(&nets.inspect(n)?));
            }
            super::print_inspected(&out, format.as_deref())?;
        }
        NetworkCommand::Rm { networks } => {
            let mut code = 0;
            for n in &networks {
                match nets.remove(n) {
                    Ok(()) => println!("{n}"),
                    Err(e) => {
                        eprintln!("Error response from daemon: {e}");
                        code = 1;
                    }
                }
            }
            return Ok(code);
        }
        NetworkCommand::Prune { .. } => {
            let removed = nets.prune()?;
            if !removed.is_empty() {
                println!("Deleted Networks:");
                for n in removed {
                    println!("{n}");
                }
            }
        }
        NetworkCommand::Connect {
            alias,
            ip,
            network,
            container,
        } => engine.network_connect(&network, &container, alias, ip)?,
        NetworkCommand::Disconnect {
            network, container, ..
        } => engine.network_disconnect(&network, &container)?,
        NetworkCommand::Reload => nets.reload()?,
    }
    Ok(0)
}

/// A network as `docker network inspect` shows it.
fn docker_shaped(n: &mydocker_engine::network::NetworkInfo) -> serde_json::Value {
    let containers: serde_json::Map<String, serde_json::Value> = n
        .endpoints
        .iter()
        .map(|(id, ep)| {
            (
                id.clone(),
                serde_json::json!({
                    "Name": ep.container_name,
                    "MacAddress": ep.mac,
                    "IPv4Address": format!("{}/{}", ep.ip, n.subnet.prefix()),
                    "IPv6Address": "",
                }),
            )
        })
        .collect();
    serde_json::json!({
        "Name": n.name,
        "Id": n.id,
        "Created": n.created,
        "Scope": "local",
        "Driver": n.driver,
        "EnableIPv6": false,
        "IPAM": {
            "Driver": "default",
            "Options": {},
            "Config": [{"Subnet": n.subnet.to_string(), "Gateway": n.gateway.to_string()}],
        },
        "Internal": n.internal,
        "Attachable": false,
        "Containers": containers,
        "Options": {
            "com.docker.network.bridge.name": n.bridge,
            "com.docker.network.driver.mtu": n.mtu.to_string(),
        },
        "Labels": n.labels,
    })
}

pub fn port(engine: &Engine, args: PortArgs) -> anyhow::Result<i32> {
    let rec = engine.find_container(&args.container)?;
    let wanted = args.port.map(|p| {
        if p.contains('/') {
            p
        } else {
            format!("{p}/tcp")
        }
    });
    let mut found = false;
    for ep in &rec.endpoints {
        for p in &ep.ports {
            let key = format!("{}/{}", p.container_port, p.protocol);
            match &wanted {
                Some(w) if *w != key => continue,
                Some(_) => println!("{}:{}", p.host_ip, p.host_port),
                None => println!("{p}"),
            }
            found = true;
        }
    }
    if !found {
        if let Some(w) = wanted {
            anyhow::bail!("No public port '{w}' published for {}", args.container);
        }
    }
    Ok(0)
}
