//! `mydocker inspect`: a container's record in the shape of Docker's JSON, so that
//! `--format '{{.State.Pid}}'` and scripts written for Docker work.

use crate::layout::ContainerPaths;
use crate::record::{ContainerRecord, Status};
use crate::Engine;
use serde_json::{json, Value};

impl Engine {
    pub fn inspect_container(&self, rec: &ContainerRecord) -> Value {
        let paths = ContainerPaths::new(&self.layout.container_dir(&rec.id));
        let spec = oci_spec::runtime::Spec::load(paths.spec()).ok();
        let process = spec.as_ref().and_then(|s| s.process().clone());
        let env = process
            .as_ref()
            .and_then(|p| p.env().clone())
            .unwrap_or_default();
        let cwd = process
            .as_ref()
            .map(|p| p.cwd().display().to_string())
            .unwrap_or_default();
        let st = &rec.state;
        let c = &rec.config;
        let r = &c.resources;
        let lower: Vec<String> = rec
            .layers
            .iter()
            .rev()
            .map(|p| p.display().to_string())
            .collect();
        let zero_time = "0001-01-01T00:00:00Z";
        json!({
            "Id": rec.id,
            "Created": rec.created,
            "Path": rec.args.first().cloned().unwrap_or_default(),
            "Args": rec.args.iter().skip(1).collect::<Vec<_>>(),
            "State": {
                "Status": st.status.as_str(),
                "Running": matches!(st.status, Status::Running | Status::Paused),
                "Paused": st.status == Status::Paused,
                "Restarting": st.status == Status::Restarting,
                "OOMKilled": st.oom_killed,
                "Dead": false,
                "Pid": st.pid,
                "ExitCode": st.exit_code,
                "Error": st.error,
                "StartedAt": st.started_at.clone().unwrap_or_else(|| zero_time.into()),
                "FinishedAt": st.finished_at.clone().unwrap_or_else(|| zero_time.into()),
            },
            "Image": rec.image_id,
            "ResolvConfPath": "",
            "HostnamePath": paths.hostname(),
            "HostsPath": paths.hosts(),
            "LogPath": paths.dir.join(format!("{}-json.log", rec.id)),
            "Name": format!("/{}", rec.name),
            "RestartCount": st.restart_count,
            "Driver": "overlay2",
            "Platform": "linux",
            "HostConfig": {
                "NetworkMode": c.network.to_string(),
                "RestartPolicy": {
                    "Name": c.restart.name(),
                    "MaximumRetryCount": match c.restart { crate::options::RestartPolicy::OnFailure(n) => n, _ => 0 },
                },
                "AutoRemove": c.remove,
                "ReadonlyRootfs": c.read_only,
                "LogConfig": {
                    "Type": "json-file",
                    "Config": {},
                },
                "Memory": r.memory.unwrap_or(0),
                "MemorySwap": r.memory_swap.unwrap_or(0),
                "MemoryReservation": r.memory_reservation.unwrap_or(0),
                "NanoCpus": r.nano_cpus.unwrap_or(0),
                "CpuShares": r.cpu_shares.unwrap_or(0),
                "CpuPeriod": r.cpu_period.unwrap_or(0),
                "CpuQuota": r.cpu_quota.unwrap_or(0),
                "CpusetCpus": r.cpuset_cpus.clone().unwrap_or_default(),
                "CpusetMems": r.cpuset_mems.clone().unwrap_or_default(),
                "PidsLimit": r.pids_limit,
                "Ulimits": c.ulimits.iter().map(|u| json!({"Name": u.name, "Soft": u.soft, "Hard": u.hard})).collect::<Vec<_>>(),
            },
            "GraphDriver": {
                "Name": "overlay2",
                "Data": {
                    "LowerDir": lower.join(":"),
                    "UpperDir": paths.upper(),
                    "WorkDir": paths.work(),
                    "MergedDir": paths.rootfs(),
                },
            },
            "Mounts": c.mounts.iter().map(|m| {
                let (typ, name, source) = match &m.source {
                    crate::volumes::MountSource::Bind { path } => ("bind", String::new(), path.display().to_string()),
                    crate::volumes::MountSource::Volume { name, .. } => ("volume", name.clone(), self.volume_data(name).display().to_string()),
                    crate::volumes::MountSource::Tmpfs { .. } => ("tmpfs", String::new(), String::new()),
                };
                json!({"Type": typ, "Name": name, "Source": source, "Destination": m.target, "RW": !m.read_only})
            }).collect::<Vec<_>>(),
            "Config": {
                "Hostname": rec.hostname,
                "User": c.user.clone().unwrap_or_default(),
                "AttachStdin": c.interactive && !c.detach,
                "AttachStdout": !c.detach,
                "AttachStderr": !c.detach,
                "Tty": c.tty,
                "OpenStdin": c.interactive,
                "Env": env,
                "Cmd": if c.command.is_empty() { Value::Null } else { json!(c.command) },
                "Image": rec.image,
                "WorkingDir": cwd,
                "Entrypoint": c.entrypoint.as_ref().map(|e| json!([e])).unwrap_or(Value::Null),
                "StopSignal": c.stop_signal.clone().unwrap_or_else(|| "SIGTERM".into()),
            },
            "NetworkSettings": network_settings(self, rec),
        })
    }
}

/// Docker's `NetworkSettings`: the first endpoint's address at the top, every network below.
fn network_settings(engine: &Engine, rec: &ContainerRecord) -> Value {
    let all = engine
        .networks()
        .and_then(|n| Ok(n.list()?))
        .unwrap_or_default();
    let mut networks = serde_json::Map::new();
    let mut ports = serde_json::Map::new();
    for ep in &rec.endpoints {
        let info = all.iter().find(|i| i.endpoints.contains_key(&rec.id));
        let (name, gateway, prefix) = info
            .map(|i| (i.name.clone(), i.gateway.to_string(), i.subnet.prefix()))
            .unwrap_or_default();
        networks.insert(
            name,
            json!({
                "Aliases": ep.aliases,
                "IPAddress": ep.ip.to_string(),
                "IPPrefixLen": prefix,
                "Gateway": gateway,
                "MacAddress": ep.mac,
            }),
        );
        for p in &ep.ports {
            let key = format!("{}/{}", p.container_port, p.protocol);
            let entry = ports.entry(key).or_insert_with(|| json!([]));
            if let Some(list) = entry.as_array_mut() {
                list.push(
                    json!({"HostIp": p.host_ip.to_string(), "HostPort": p.host_port.to_string()}),
                );
            }
        }
    }
    let first = networks.values().next().cloned().unwrap_or(json!({}));
    json!({
        "IPAddress": first.get("IPAddress").cloned().unwrap_or(json!("")),
        "Gateway": first.get("Gateway").cloned().unwrap_or(json!("")),
        "MacAddress": first.get("MacAddress").cloned().unwrap_or(json!("")),
        "Ports": ports,
        "Networks": networks,
    })
}
