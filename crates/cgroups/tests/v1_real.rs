//! The managers against this host's real cgroups (run as root). On a v1 host (legacy or
//! hybrid) the v1 manager limits a real `sleep`, and on hybrid the v2 manager also runs on
//! the controller-less `/sys/fs/cgroup/unified`; on a unified host the v2 manager does the
//! v1 scenario's job. Every branch asserts: nothing passes by skipping.

use mydocker_cgroups::hierarchy::CGROUP_ROOT;
use mydocker_cgroups::{manager_for, v2, CgroupError, CgroupManager, Hierarchy};
use oci_spec::runtime::{
    LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResources, LinuxResourcesBuilder,
};
use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{SystemTime, UNIX_EPOCH};

const MIB: i64 = 1024 * 1024;
const V1_CONTROLLERS: [&str; 8] = [
    "cpu", "cpuacct", "cpuset", "memory", "pids", "freezer", "blkio", "devices",
];

/// A `sleep 30` and the cgroup directories of one scenario: on drop (a failed assertion
/// included), the sleep is killed and reaped and the directories removed, deepest first.
struct Scenario {
    child: Option<Child>,
    dirs: Vec<PathBuf>,
}

impl Scenario {
    fn new(dirs: Vec<PathBuf>) -> Self {
        Scenario { child: None, dirs }
    }

    fn spawn_sleep(&mut self) -> i32 {
        let child = Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        let pid = i32::try_from(child.id()).expect("pid fits i32");
        self.child = Some(child);
        pid
    }

    /// Waits for the sleep and asserts it died of SIGKILL.
    fn assert_killed(&mut self) {
        let status = self
            .child
            .take()
            .expect("a sleep")
            .wait()
            .expect("wait for sleep");
        assert_eq!(
            status.signal(),
            Some(libc::SIGKILL),
            "sleep ended with {status}"
        );
    }
}

impl Drop for Scenario {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        for dir in &self.dirs {
            let _ = fs::remove_dir(dir);
        }
    }
}

fn unique_name() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("/mydocker-test-{}-{nanos:x}", std::process::id())
}

fn read(path: &Path) -> String {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .trim_end()
        .to_string()
}

fn resources(limit: i64, swap: Option<i64>, cpus: &str) -> LinuxResources {
    let mut memory = LinuxMemoryBuilder::default().limit(limit);
    if let Some(swap) = swap {
        memory = memory.swap(swap);
    }
    LinuxResourcesBuilder::default()
        .memory(memory.build().unwrap())
        .cpu(
            LinuxCpuBuilder::default()
                .shares(512u64)
                .quota(50_000i64)
                .period(100_000u64)
                .cpus(cpus)
                .mems("0")
                .build()
                .unwrap(),
        )
        .pids(LinuxPidsBuilder::default().limit(50).build().unwrap())
        .build()
        .unwrap()
}

#[test]
fn a_real_cgroup_limits_a_process_and_goes_away() {
    match Hierarchy::detect().expect("detect the cgroup hierarchy") {
        Hierarchy::Legacy => v1_scenario(),
        Hierarchy::Hybrid => {
            v1_scenario();
            v2_on_hybrid_unified();
        }
        Hierarchy::Unified => v2_scenario(),
    }
}

fn v1_scenario() {
    let name = unique_name();
    let cgroup = format!("{name}/x");
    let in_v1 = |c: &str, rel: &str| Path::new(CGROUP_ROOT).join(c).join(&rel[1..]);
    let leaves: Vec<PathBuf> = V1_CONTROLLERS.iter().map(|c| in_v1(c, &cgroup)).collect();
    let parents: Vec<PathBuf> = V1_CONTROLLERS.iter().map(|c| in_v1(c, &name)).collect();
    let mut s = Scenario::new(leaves.iter().chain(&parents).cloned().collect());

    let m = manager_for(&cgroup).expect("manager_for");
    assert_eq!(m.path(), in_v1("memory", &cgroup));
    m.create().expect("create");
    assert!(leaves.iter().all(|d| d.is_dir()));
    // The famous bug: a cpuset level with empty mems refuses tasks (ENOSPC).
    assert_ne!(read(&in_v1("cpuset", &name).join("cpuset.mems")), "");

    let swap_accounting = in_v1("memory", &cgroup)
        .join("memory.memsw.limit_in_bytes")
        .exists();
    if swap_accounting {
        m.apply(&resources(64 * MIB, Some(96 * MIB), "0"))
            .expect("apply");
    } else {
        let err = m
            .apply(&resources(64 * MIB, Some(96 * MIB), "0"))
            .unwrap_err();
        assert!(matches!(err, CgroupError::Unsupported { .. }), "{err}");
        m.apply(&resources(64 * MIB, None, "0")).expect("apply");
    }
    let pid = s.spawn_sleep();
    m.add_task(pid).expect("add_task");

    let file = |c: &str, f: &str| read(&in_v1(c, &cgroup).join(f));
    assert_eq!(file("memory", "memory.limit_in_bytes"), "67108864");
    if swap_accounting {
        assert_eq!(file("memory", "memory.memsw.limit_in_bytes"), "100663296");
    }
    assert_eq!(file("cpu", "cpu.shares"), "512");
    assert_eq!(file("cpu", "cpu.cfs_period_us"), "100000");
    assert_eq!(file("cpu", "cpu.cfs_quota_us"), "50000");
    assert_eq!(file("cpuset", "cpuset.cpus"), "0");
    assert_eq!(file("cpuset", "cpuset.mems"), "0");
    assert_eq!(file("pids", "pids.max"), "50");
    assert_eq!(m.pids().expect("pids"), [pid]);
    let proc_cgroup = read(&PathBuf::from(format!("/proc/{pid}/cgroup")));
    for c in V1_CONTROLLERS {
        let line = format!(":{c}:{cgroup}");
        assert!(
            proc_cgroup.lines().any(|l| l.ends_with(&line)),
            "{line} in\n{proc_cgroup}"
        );
    }

    if swap_accounting {
        // Raising needs memsw written first, lowering needs the limit first.
        m.apply(&resources(128 * MIB, Some(256 * MIB), "0"))
            .expect("raise");
        assert_eq!(file("memory", "memory.limit_in_bytes"), "134217728");
        m.apply(&resources(32 * MIB, Some(48 * MIB), "0"))
            .expect("lower");
        assert_eq!(file("memory", "memory.memsw.limit_in_bytes"), "50331648");
    }
    let err = m
        .apply(&resources(64 * MIB, None, "99"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("requested CPUs are not available - requested 99, available: "),
        "{err}"
    );

    // Pause, and leave it paused: destroy must thaw before its SIGKILL can land.
    m.freeze().expect("freeze");
    assert_eq!(file("freezer", "freezer.state"), "FROZEN");
    m.thaw().expect("thaw");
    assert_eq!(file("freezer", "freezer.state"), "THAWED");
    m.freeze().expect("freeze again");

    m.destroy().expect("destroy");
    s.assert_killed();
    for dir in &leaves {
        assert!(!dir.exists(), "{} still exists", dir.display());
    }
    assert!(
        parents.iter().all(|d| d.is_dir()),
        "destroy leaves the shared parent"
    );
    m.destroy().expect("destroy twice");
}

/// On a hybrid host the cgroup2 at `unified` has no controllers of ours: the v2 manager can
/// create, join, open and kill there, and refuses limits with the reason.
fn v2_on_hybrid_unified() {
    let root = Path::new(CGROUP_ROOT).join("unified");
    let name = unique_name();
    let cgroup = format!("{name}/u");
    let mut s = Scenario::new(vec![root.join(&cgroup[1..]), root.join(&name[1..])]);

    let m = v2::Manager::new(&root, &cgroup).expect("v2 manager");
    m.create().expect("create");
    let err = m
        .apply(&resources(64 * MIB, None, "0"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "cannot apply memory limit: the memory controller is not available in {} \
             (cgroup.controllers is empty)",
            root.join(&name[1..]).display()
        )
    );
    assert!(m.clone_into_fd().expect("clone_into_fd").is_some());
    let pid = s.spawn_sleep();
    m.add_task(pid).expect("add_task");
    assert_eq!(m.pids().expect("pids"), [pid]);
    let proc_cgroup = read(&PathBuf::from(format!("/proc/{pid}/cgroup")));
    assert!(
        proc_cgroup.lines().any(|l| l == format!("0::{cgroup}")),
        "{proc_cgroup}"
    );

    m.destroy().expect("destroy");
    s.assert_killed();
    assert!(!m.path().exists());
}

/// The v1 scenario on a cgroup v2 host.
fn v2_scenario() {
    let name = unique_name();
    let cgroup = format!("{name}/x");
    let root = Path::new(CGROUP_ROOT);
    let mut s = Scenario::new(vec![root.join(&cgroup[1..]), root.join(&name[1..])]);

    let m = manager_for(&cgroup).expect("manager_for");
    m.create().expect("create");
    m.apply(&resources(64 * MIB, None, "0")).expect("apply");
    assert!(m.clone_into_fd().expect("clone_into_fd").is_some());
    let pid = s.spawn_sleep();
    m.add_task(pid).expect("add_task");

    let file = |f: &str| read(&m.path().join(f));
    assert_eq!(file("memory.max"), "67108864");
    assert_eq!(file("cpu.weight"), "20");
    assert_eq!(file("cpu.max"), "50000 100000");
    assert_eq!(file("cpuset.cpus"), "0");
    assert_eq!(file("pids.max"), "50");
    assert_eq!(m.pids().expect("pids"), [pid]);
    let proc_cgroup = read(&PathBuf::from(format!("/proc/{pid}/cgroup")));
    assert!(
        proc_cgroup.lines().any(|l| l == format!("0::{cgroup}")),
        "{proc_cgroup}"
    );

    m.destroy().expect("destroy");
    s.assert_killed();
    assert!(!m.path().exists());
    m.destroy().expect("destroy twice");
}
