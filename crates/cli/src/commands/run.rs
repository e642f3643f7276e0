//! `mydocker run`.

use crate::cli::{ExecArgs, RunArgs};
use mydocker_engine::volumes;
use mydocker_engine::{
    Engine, EngineError, LogOptions, NetworkMode, Resources, RestartPolicy, RunOptions, RunResult,
    Ulimit,
};

pub fn run(engine: &Engine, args: RunArgs, default_network: &str) -> anyhow::Result<i32> {
    let network: NetworkMode = args
        .network
        .as_deref()
        .unwrap_or(default_network)
        .parse()
        .map_err(EngineError::InvalidArgument)?;
    let ulimits = args
        .ulimit
        .iter()
        .map(|u| parse_ulimit(u))
        .collect::<Result<Vec<_>, _>>()?;
    let env = args
        .env
        .iter()
        .filter_map(|e| match e.split_once('=') {
            Some(_) => Some(e.clone()),
            // `-e NAME` takes NAME from our own environment, and is dropped if unset.
            None => std::env::var(e).ok().map(|v| format!("{e}={v}")),
        })
        .collect();
    let restart: RestartPolicy = args.restart.parse().map_err(EngineError::InvalidArgument)?;
    if restart != RestartPolicy::No && args.rm {
        return Err(
            EngineError::InvalidArgument("Conflicting options: --restart and --rm".into()).into(),
        );
    }
    if let Some(sig) = &args.stop_signal {
        mydocker_engine::parse_signal(sig)?;
    }
    let add_hosts = args
        .add_host
        .iter()
        .map(|h| {
            let bad = || {
                EngineError::InvalidArgument(format!(
                    "invalid argument \"{h}\" for \"--add-host\" flag: invalid IP address"
                ))
            };
            let (name, ip) = h
                .split_once(':')
                .or_else(|| h.split_once('='))
                .ok_or_else(bad)?;
            Ok((name.to_string(), ip.parse().map_err(|_| bad())?))
        })
        .collect::<Result<Vec<_>, EngineError>>()?;
    let mut mounts = Vec::new();
    for v in &args.volume {
        mounts.push(volumes::parse_volume(v)?);
    }
    for m in &args.mount {
        mounts.push(volumes::parse_mount(m)?);
    }
    for t in &args.tmpfs {
        mounts.push(volumes::parse_tmpfs(t)?);
    }
    let opts = RunOptions {
        mounts,
        net: mydocker_engine::NetworkOptions {
            publish: args.publish,
            publish_all: args.publish_all,
            ip: args.ip,
            mac: args.mac_address,
            aliases: args.network_alias,
            dns: args.dns,
            dns_search: args.dns_search,
            dns_options: args.dns_option,
            add_hosts,
        },
        detach: args.detach,
        restart,
        log: parse_log_opts(&args.log_opt)?,
        stop_signal: args.stop_signal,
        stop_timeout: args.stop_timeout,
        image: args.image,
        command: args.command,
        entrypoint: args.entrypoint,
        name: args.name,
        env,
        workdir: args.workdir,
        user: args.user,
        hostname: args.hostname,
        network,
        interactive: args.interactive,
        tty: args.tty,
        remove: args.rm,
        read_only: args.read_only,
        resources: Resources {
            memory: args.memory,
            memory_swap: args.memory_swap,
            memory_reservation: args.memory_reservation,
            cpu_shares: args.cpu_shares,
            nano_cpus: args.cpus,
            cpu_period: args.cpu_period,
            cpu_quota: args.cpu_quota,
            cpuset_cpus: args.cpuset_cpus,
            cpuset_mems: args.cpuset_mems,
            pids_limit: args.pids_limit,
        },
        ulimits,
        cidfile: args.cidfile,
    };
    if opts.tty && opts.interactive && !nix::unistd::isatty(std::io::stdin()).unwrap_or(false) {
        return Err(EngineError::InvalidArgument("the input device is not a TTY".into()).into());
    }
    Ok(match engine.run(opts)? {
        RunResult::Detached(id) => {
            println!("{id}");
            0
        }
        RunResult::Exited(code) => code,
        RunResult::UserDetached(_) => 0,
    })
}

/// `--log-opt max-size=10m --log-opt max-file=3`.
fn parse_log_opts(opts: &[String]) -> Result<LogOptions, EngineError> {
    let mut log = LogOptions {
        max_size: None,
        max_file: 1,
    };
    for opt in opts {
        let bad = || EngineError::InvalidArgument(format!("invalid log opt: {opt}"));
        match opt.split_once('=').ok_or_else(bad)? {
            ("max-size", v) => {
                log.max_size =
                    Some(crate::units::parse_size(v).map_err(EngineError::InvalidArgument)? as u64)
            }
            ("max-file", v) => {
                log.max_file = v.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    EngineError::InvalidArgument(format!("invalid value for max-file: {v}"))
                })?
            }
            (k, _) => {
                return Err(EngineError::InvalidArgument(format!(
                    "unknown log opt '{k}' for json-file log driver"
                )))
            }
        }
    }
    Ok(log)
}

/// `name=soft[:hard]`, as `docker run --ulimit`.
fn parse_ulimit(s: &str) -> Result<Ulimit, EngineError> {
    let bad = || EngineError::InvalidArgument(format!("invalid ulimit argument: {s}"));
    let (name, values) = s.split_once('=').ok_or_else(bad)?;
    if !mydocker_engine::spec::rlimit_known(name) {
        return Err(EngineError::InvalidArgument(format!(
            "invalid ulimit type: {name}"
        )));
    }
    let (soft, hard) = match values.split_once(':') {
        Some((s, h)) => (s, h),
        None => (values, values),
    };
    let soft: u64 = soft.parse().map_err(|_| bad())?;
    let hard: u64 = hard.parse().map_err(|_| bad())?;
    if soft > hard {
        return Err(EngineError::InvalidArgument(format!(
            "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
        )));
    }
    Ok(Ulimit {
        name: name.to_string(),
        soft,
        hard,
    })
}

/// `mydocker exec`. Docker exits 1 when the daemon refuses (no such or stopped container),
/// and 126/127 when the command cannot be run.
pub fn exec(engine: &Engine, args: ExecArgs) -> anyhow::Result<i32> {
    if args.tty && args.interactive && !nix::unistd::isatty(std::io::stdin()).unwrap_or(false) {
        eprintln!("mydocker: the input device is not a TTY");
        return Ok(1);
    }
    let opts = mydocker_engine::exec::ExecOptions {
        command: args.command,
        interactive: args.interactive,
        tty: args.tty,
        detach: args.detach,
        env: args.env,
        workdir: args.workdir,
        user: args.user,
        privileged: args.privileged,
    };
    match engine.exec(&args.container, &opts) {
        Ok(code) => Ok(code),
        Err(e) => {
            let code = match e.exit_code() {
                126 | 127 => e.exit_code(),
                _ => 1,
            };
            eprintln!("Error response from daemon: {e}");
            Ok(code)
        }
    }
}
