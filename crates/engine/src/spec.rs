//! Building the OCI runtime spec of a container from the image's config and the user's
//! options: Docker's defaults (namespaces, mounts, capabilities, masked paths) plus what was
//! asked for. The runtime executes whatever this returns; it knows nothing of images.

use crate::error::{EngineError, Result};
use crate::options::{NetworkMode, Resources, RunOptions, Ulimit};
use crate::user::ExecUser;
use mydocker_runtime::exec::DEFAULT_PATH;
use oci_spec::image::ImageConfiguration;
use oci_spec::runtime::{
    Capability, LinuxBuilder, LinuxCapabilitiesBuilder, LinuxCpu, LinuxMemory, LinuxNamespace,
    LinuxNamespaceBuilder, LinuxNamespaceType, LinuxPidsBuilder, LinuxResources, Mount,
    MountBuilder, PosixRlimitBuilder, PosixRlimitType, ProcessBuilder, RootBuilder, Spec,
    UserBuilder,
};
use std::collections::HashSet;
use std::path::Path;

/// The capabilities Docker leaves a container by default.
pub const DEFAULT_CAPABILITIES: [Capability; 14] = [
    Capability::Chown,
    Capability::DacOverride,
    Capability::Fsetid,
    Capability::Fowner,
    Capability::Mknod,
    Capability::NetRaw,
    Capability::Setgid,
    Capability::Setuid,
    Capability::Setfcap,
    Capability::Setpcap,
    Capability::NetBindService,
    Capability::SysChroot,
    Capability::Kill,
    Capability::AuditWrite,
];

const MASKED_PATHS: [&str; 11] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// System calls Docker's default seccomp profile refuses to a container without extra
/// capabilities: kernel modules and keyrings, clocks, reboot, swap, namespaces and mounts,
/// other processes' memory, and a few obsolete or risky interfaces. They fail with EPERM.
/// (Docker's profile is an allow list; this deny list keeps its effect for these calls.)
const BLOCKED_SYSCALLS: [&str; 52] = [
    "acct",
    "add_key",
    "bpf",
    "clock_adjtime",
    "clock_settime",
    "create_module",
    "delete_module",
    "finit_module",
    "fsconfig",
    "fsmount",
    "fsopen",
    "fspick",
    "get_kernel_syms",
    "get_mempolicy",
    "init_module",
    "ioperm",
    "iopl",
    "kcmp",
    "kexec_file_load",
    "kexec_load",
    "keyctl",
    "lookup_dcookie",
    "mbind",
    "mount",
    "mount_setattr",
    "move_mount",
    "move_pages",
    "name_to_handle_at",
    "nfsservctl",
    "open_by_handle_at",
    "open_tree",
    "perf_event_open",
    "pivot_root",
    "process_vm_readv",
    "process_vm_writev",
    "query_module",
    "quotactl",
    "reboot",
    "request_key",
    "set_mempolicy",
    "setns",
    "settimeofday",
    "swapoff",
    "swapon",
    "sysfs",
    "umount2",
    "unshare",
    "uselib",
    "userfaultfd",
    "ustat",
    "vm86",
    "vm86old",
];

/// The default seccomp filter: everything allowed but [`BLOCKED_SYSCALLS`].
pub fn default_seccomp() -> Result<oci_spec::runtime::LinuxSeccomp> {
    use oci_spec::runtime::{LinuxSeccompAction, LinuxSeccompBuilder, LinuxSyscallBuilder};
    let blocked = LinuxSyscallBuilder::default()
        .names(
            BLOCKED_SYSCALLS
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
        )
        .action(LinuxSeccompAction::ScmpActErrno)
        .errno_ret(libc::EPERM as u32)
        .build()
        .map_err(spec_err)?;
    LinuxSeccompBuilder::default()
        .default_action(LinuxSeccompAction::ScmpActAllow)
        .syscalls(vec![blocked])
        .build()
        .map_err(spec_err)
}

const READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// The command to run: the entrypoint (image's, or `--entrypoint`) followed by the command
/// (the user's, or else the image's CMD unless the entrypoint was overridden).
pub fn command_line(opts: &RunOptions, image: &ImageConfiguration) -> Result<Vec<String>> {
    let config = image.config().clone().unwrap_or_default();
    let (entrypoint, cmd) = match &opts.entrypoint {
        Some(ep) if ep.is_empty() => (Vec::new(), opts.command.clone()),
        Some(ep) => (vec![ep.clone()], opts.command.clone()),
        None => {
            let cmd = if opts.command.is_empty() {
                config.cmd().clone().unwrap_or_default()
            } else {
                opts.command.clone()
            };
            (config.entrypoint().clone().unwrap_or_default(), cmd)
        }
    };
    let args: Vec<String> = entrypoint.into_iter().chain(cmd).collect();
    if args.is_empty() {
        return Err(EngineError::InvalidArgument("No command specified".into()));
    }
    Ok(args)
}

/// The container's environment: Docker's PATH and HOSTNAME, the image's variables, then
/// the user's (`-e` replaces a variable of the same name), TERM for a tty, and HOME.
pub fn environment(
    opts: &RunOptions,
    image: &ImageConfiguration,
    hostname: &str,
    home: &str,
) -> Vec<String> {
    let mut env: Vec<String> = Vec::new();
    let mut set = |var: String| {
        let key = var.split('=').next().unwrap_or_default().to_string();
        match env
            .iter_mut()
            .find(|e| e.split('=').next() == Some(key.as_str()))
        {
            Some(existing) => *existing = var,
            None => env.push(var),
        }
    };
    set(format!("PATH={DEFAULT_PATH}"));
    set(format!("HOSTNAME={hostname}"));
    let image_env = image
        .config()
        .as_ref()
        .and_then(|c| c.env().clone())
        .unwrap_or_default();
    for var in image_env.into_iter().chain(opts.env.iter().cloned()) {
        set(var);
    }
    let has = |env: &[String], key: &str| env.iter().any(|e| e.starts_with(&format!("{key}=")));
    if opts.tty && !has(&env, "TERM") {
        env.push("TERM=xterm".into());
    }
    if !has(&env, "HOME") {
        env.push(format!("HOME={home}"));
    }
    env
}

fn mount(dest: &str, typ: &str, source: &str, options: &[&str]) -> Result<Mount> {
    MountBuilder::default()
        .destination(dest)
        .typ(typ)
        .source(source)
        .options(options.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .build()
        .map_err(spec_err)
}

fn spec_err(e: oci_spec::OciSpecError) -> EngineError {
    EngineError::InvalidArgument(format!("building runtime spec: {e}"))
}

/// Docker's default mounts, and the files the engine writes for the container.
fn default_mounts(bundle: &Path) -> Result<Vec<Mount>> {
    let mut mounts = vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"])?,
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        )?,
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        )?,
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
        )?,
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["ro", "nosuid", "noexec", "nodev"],
        )?,
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        )?,
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"],
        )?,
    ];
    let file = |name: &str| bundle.join(name).to_string_lossy().into_owned();
    mounts.push(mount(
        "/etc/hostname",
        "bind",
        &file("hostname"),
        &["rbind", "rprivate"],
    )?);
    mounts.push(mount(
        "/etc/hosts",
        "bind",
        &file("hosts"),
        &["rbind", "rprivate"],
    )?);
    mounts.push(mount(
        "/etc/resolv.conf",
        "bind",
        &file("resolv.conf"),
        &["rbind", "rprivate"],
    )?);
    Ok(mounts)
}

/// Docker's semantics of the resource flags, as OCI `LinuxResources`.
pub fn linux_resources(r: &Resources, host_has_swap_limit: bool) -> LinuxResources {
    let mut res = LinuxResources::default();
    if r.memory.is_some() || r.memory_swap.is_some() || r.memory_reservation.is_some() {
        let mut m = LinuxMemory::default();
        m.set_limit(r.memory);
        m.set_reservation(r.memory_reservation);
        // Without --memory-swap, Docker lets a container swap as much as its memory limit.
        let swap = match (r.memory_swap, r.memory) {
            (Some(s), _) => Some(s),
            (None, Some(mem)) if host_has_swap_limit && mem > 0 => Some(mem * 2),
            _ => None,
        };
        m.set_swap(swap);
        res.set_memory(Some(m));
    }
    let mut cpu = LinuxCpu::default();
    let mut any_cpu = false;
    if let Some(shares) = r.cpu_shares.filter(|s| *s > 0) {
        cpu.set_shares(Some(shares));
        any_cpu = true;
    }
    if let Some(nano) = r.nano_cpus.filter(|n| *n > 0) {
        let period = 100_000u64;
        cpu.set_period(Some(period));
        cpu.set_quota(Some(nano * period as i64 / 1_000_000_000));
        any_cpu = true;
    }
    if let Some(p) = r.cpu_period.filter(|p| *p > 0) {
        cpu.set_period(Some(p));
        any_cpu = true;
    }
    if let Some(q) = r.cpu_quota.filter(|q| *q != 0) {
        cpu.set_quota(Some(q));
        any_cpu = true;
    }
    if let Some(cpus) = r.cpuset_cpus.clone().filter(|c| !c.is_empty()) {
        cpu.set_cpus(Some(cpus));
        any_cpu = true;
    }
    if let Some(mems) = r.cpuset_mems.clone().filter(|m| !m.is_empty()) {
        cpu.set_mems(Some(mems));
        any_cpu = true;
    }
    if any_cpu {
        res.set_cpu(Some(cpu));
    }
    if let Some(limit) = r.pids_limit {
        let limit = if limit <= 0 { -1 } else { limit };
        res.set_pids(LinuxPidsBuilder::default().limit(limit).build().ok());
    }
    res
}

fn rlimit_type(name: &str) -> Option<PosixRlimitType> {
    serde_json::from_value(serde_json::Value::String(format!(
        "RLIMIT_{}",
        name.to_ascii_uppercase()
    )))
    .ok()
}

pub fn rlimit_known(name: &str) -> bool {
    rlimit_type(name).is_some()
}

fn rlimits(ulimits: &[Ulimit]) -> Result<Vec<oci_spec::runtime::PosixRlimit>> {
    ulimits
        .iter()
        .map(|u| {
            let typ = rlimit_type(&u.name).ok_or_else(|| {
                EngineError::InvalidArgument(format!("invalid ulimit type: {}", u.name))
            })?;
            PosixRlimitBuilder::default()
                .typ(typ)
                .soft(u.soft)
                .hard(u.hard)
                .build()
                .map_err(spec_err)
        })
        .collect()
}

fn namespace(typ: LinuxNamespaceType) -> Result<LinuxNamespace> {
    LinuxNamespaceBuilder::default()
        .typ(typ)
        .build()
        .map_err(spec_err)
}

/// Everything the spec needs that the caller decided.
pub struct SpecInputs<'a> {
    pub id: &'a str,
    pub bundle: &'a Path,
    pub hostname: &'a str,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub user: &'a ExecUser,
    pub resources: LinuxResources,
    /// The network namespace to join (`--network container:X`).
    pub netns_path: Option<std::path::PathBuf>,
    /// Volumes, binds and tmpfs mounts, after Docker's defaults.
    pub extra_mounts: Vec<Mount>,
}

pub fn build(opts: &RunOptions, inputs: SpecInputs<'_>) -> Result<Spec> {
    let caps: HashSet<Capability> = DEFAULT_CAPABILITIES.into_iter().collect();
    let capabilities = LinuxCapabilitiesBuilder::default()
        .bounding(caps.clone())
        .effective(caps.clone())
        .permitted(caps)
        .build()
        .map_err(spec_err)?;
    let user = UserBuilder::default()
        .uid(inputs.user.uid)
        .gid(inputs.user.gid)
        .additional_gids(inputs.user.additional_gids.clone())
        .build()
        .map_err(spec_err)?;
    let process = ProcessBuilder::default()
        .terminal(opts.tty)
        .user(user)
        .args(inputs.args)
        .env(inputs.env)
        .cwd(inputs.cwd)
        .capabilities(capabilities)
        .rlimits(rlimits(&opts.ulimits)?)
        .no_new_privileges(false)
        .build()
        .map_err(spec_err)?;

    let mut namespaces = vec![
        namespace(LinuxNamespaceType::Pid)?,
        namespace(LinuxNamespaceType::Ipc)?,
        namespace(LinuxNamespaceType::Uts)?,
        namespace(LinuxNamespaceType::Mount)?,
        namespace(LinuxNamespaceType::Cgroup)?,
    ];
    match (&opts.network, inputs.netns_path) {
        (NetworkMode::Host, _) => {}
        (_, Some(path)) => namespaces.push(
            LinuxNamespaceBuilder::default()
                .typ(LinuxNamespaceType::Network)
                .path(path)
                .build()
                .map_err(spec_err)?,
        ),
        (_, None) => namespaces.push(namespace(LinuxNamespaceType::Network)?),
    }
    let linux = LinuxBuilder::default()
        .namespaces(namespaces)
        .resources(inputs.resources)
        .cgroups_path(mydocker_runtime::default_cgroups_path(inputs.id))
        .seccomp(default_seccomp()?)
        .masked_paths(
            MASKED_PATHS
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
        )
        .readonly_paths(
            READONLY_PATHS
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
        )
        .build()
        .map_err(spec_err)?;
    let root = RootBuilder::default()
        .path("rootfs")
        .readonly(opts.read_only)
        .build()
        .map_err(spec_err)?;

    let mut spec = Spec::default();
    spec.set_process(Some(process))
        .set_root(Some(root))
        .set_hostname(Some(inputs.hostname.to_string()))
        .set_mounts(Some(
            default_mounts(inputs.bundle)?
                .into_iter()
                .chain(inputs.extra_mounts)
                .collect(),
        ))
        .set_linux(Some(linux));
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(entrypoint: &[&str], cmd: &[&str], env: &[&str]) -> ImageConfiguration {
        let v = serde_json::json!({
            "architecture": "amd64", "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": []},
            "config": {"Entrypoint": entrypoint, "Cmd": cmd, "Env": env}
        });
        serde_json::from_value(v).unwrap()
    }

    fn opts(command: &[&str], entrypoint: Option<&str>) -> RunOptions {
        RunOptions {
            command: command.iter().map(|s| s.to_string()).collect(),
            entrypoint: entrypoint.map(String::from),
            ..Default::default()
        }
    }

    #[test]
    fn command_line_follows_docker_rules() {
        let img = image(&["/ep"], &["default"], &[]);
        assert_eq!(
            command_line(&opts(&[], None), &img).unwrap(),
            ["/ep", "default"]
        );
        assert_eq!(
            command_line(&opts(&["x"], None), &img).unwrap(),
            ["/ep", "x"]
        );
        assert_eq!(command_line(&opts(&[], Some("/o")), &img).unwrap(), ["/o"]);
        assert_eq!(command_line(&opts(&["a"], Some("")), &img).unwrap(), ["a"]);
        let e = command_line(&opts(&[], Some("")), &image(&[], &[], &[])).unwrap_err();
        assert_eq!(e.to_string(), "No command specified");
    }

    #[test]
    fn environment_merges_in_docker_order() {
        let img = image(&[], &[], &["PATH=/img", "A=1"]);
        let mut o = opts(&[], None);
        o.env = vec!["A=2".into(), "B=3".into()];
        o.tty = true;
        let env = environment(&o, &img, "abc", "/root");
        assert_eq!(
            env,
            [
                "PATH=/img",
                "HOSTNAME=abc",
                "A=2",
                "B=3",
                "TERM=xterm",
                "HOME=/root"
            ]
        );
    }

    #[test]
    fn resources_follow_docker_flags() {
        let r = Resources {
            memory: Some(64 << 20),
            nano_cpus: Some(500_000_000),
            cpu_shares: Some(512),
            cpuset_cpus: Some("0".into()),
            pids_limit: Some(50),
            ..Default::default()
        };
        let res = linux_resources(&r, true);
        let mem = res.memory().unwrap();
        assert_eq!(mem.limit(), Some(64 << 20));
        assert_eq!(mem.swap(), Some(128 << 20));
        let cpu = res.cpu().as_ref().unwrap();
        assert_eq!(
            (cpu.quota(), cpu.period(), cpu.shares()),
            (Some(50_000), Some(100_000), Some(512))
        );
        assert_eq!(cpu.cpus().as_deref(), Some("0"));
        assert_eq!(res.pids().unwrap().limit(), 50);
        assert!(linux_resources(&r, false)
            .memory()
            .unwrap()
            .swap()
            .is_none());
    }
}
