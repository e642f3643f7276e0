//! The v1 manager against a fake cgroupfs: a tempdir with one directory per controller, a
//! mountinfo that points at them, and the interface files a kernel would have created.

use super::*;
use oci_spec::runtime::{
    LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResourcesBuilder,
};
use std::fs;
use tempfile::TempDir;

const MIB: i64 = 1024 * 1024;
const UNLIMITED: &str = "9223372036854771712\n";

/// A fake host: `<tmp>/<controller>` for each of `controllers` (comma-joined names are
/// co-mounted), plus a named systemd hierarchy and the hybrid cgroup2, which must be ignored.
struct FakeHost {
    tmp: TempDir,
    mountinfo: PathBuf,
}

impl FakeHost {
    fn new(controllers: &[&str]) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let mut text = format!("31 23 0:28 / {} rw - tmpfs tmpfs rw\n", root.display());
        for (i, c) in controllers
            .iter()
            .chain(&["systemd", "unified"])
            .enumerate()
        {
            let mount = root.join(c);
            fs::create_dir(&mount).unwrap();
            let (fstype, opts) = match *c {
                "systemd" => ("cgroup", "rw,name=systemd".to_string()),
                "unified" => ("cgroup2", "rw".to_string()),
                c => ("cgroup", format!("rw,{c}")),
            };
            text += &format!(
                "{} 31 0:{} / {} rw - {fstype} cgroup {opts}\n",
                40 + i,
                40 + i,
                mount.display()
            );
        }
        fs::write(root.join("cpuset").join("cpuset.cpus"), "0-1\n").ok();
        fs::write(root.join("cpuset").join("cpuset.mems"), "0\n").ok();
        fs::write(root.join("cpuset").join("cpuset.effective_cpus"), "0-1\n").ok();
        fs::write(root.join("cpuset").join("cpuset.effective_mems"), "0\n").ok();
        let mountinfo = root.join("mountinfo");
        fs::write(&mountinfo, text).unwrap();
        FakeHost { tmp, mountinfo }
    }

    fn all() -> Self {
        Self::new(&[
            "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
        ])
    }

    fn dir(&self, controller: &str, cgroup: &str) -> PathBuf {
        self.tmp.path().join(controller).join(cgroup)
    }

    /// Makes `dir` as the kernel would: the directory with its interface files.
    fn cgroup(&self, controller: &str, cgroup: &str, files: &[(&str, &str)]) {
        let dir = self.dir(controller, cgroup);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("cgroup.procs"), "").unwrap();
        for (name, content) in files {
            fs::write(dir.join(name), content).unwrap();
        }
    }

    /// Every leaf file of a fresh `mydocker/x` with the limits we write.
    fn fresh_leaf(&self) {
        self.cgroup(
            "memory",
            "mydocker/x",
            &[
                ("memory.limit_in_bytes", UNLIMITED),
                ("memory.memsw.limit_in_bytes", UNLIMITED),
                ("memory.soft_limit_in_bytes", UNLIMITED),
                ("memory.swappiness", "60\n"),
            ],
        );
        self.cgroup(
            "cpu",
            "mydocker/x",
            &[
                ("cpu.shares", "1024\n"),
                ("cpu.cfs_period_us", "100000\n"),
                ("cpu.cfs_quota_us", "-1\n"),
            ],
        );
        let empty = [("cpuset.cpus", "\n"), ("cpuset.mems", "\n")];
        self.cgroup("cpuset", "mydocker", &empty);
        self.cgroup("cpuset", "mydocker/x", &empty);
        self.cgroup("pids", "mydocker/x", &[("pids.max", "max\n")]);
        for c in ["cpuacct", "devices", "freezer", "blkio"] {
            self.cgroup(c, "mydocker/x", &[]);
        }
    }

    fn manager(&self) -> Manager {
        Manager::new(&self.mountinfo, "/mydocker/x").unwrap()
    }

    fn read(&self, controller: &str, file: &str) -> String {
        fs::read_to_string(self.dir(controller, "mydocker/x").join(file)).unwrap()
    }
}

fn resources() -> LinuxResources {
    LinuxResourcesBuilder::default()
        .memory(
            LinuxMemoryBuilder::default()
                .limit(64 * MIB)
                .swap(96 * MIB)
                .reservation(32 * MIB)
                .build()
                .unwrap(),
        )
        .cpu(
            LinuxCpuBuilder::default()
                .shares(512u64)
                .quota(50_000i64)
                .period(100_000u64)
                .cpus("1")
                .mems("0")
                .build()
                .unwrap(),
        )
        .pids(LinuxPidsBuilder::default().limit(50).build().unwrap())
        .build()
        .unwrap()
}

#[test]
fn each_controller_gets_its_own_directory() {
    let host = FakeHost::all();
    let m = host.manager();
    assert_eq!(m.path(), host.dir("memory", "mydocker/x"));
    assert_eq!(
        m.controller_path("cpuset").unwrap(),
        host.dir("cpuset", "mydocker/x")
    );
    assert!(m.controller_path("systemd").is_none());
    assert_eq!(m.distinct().count(), 8);
    assert!(m.clone_into_fd().unwrap().is_none());
}

#[test]
fn co_mounted_controllers_are_created_and_joined_once() {
    let host = FakeHost::new(&["cpu,cpuacct", "cpuset", "memory"]);
    let m = host.manager();
    let cpu = host.dir("cpu,cpuacct", "mydocker/x");
    assert_eq!(m.controller_path("cpu").unwrap(), cpu);
    assert_eq!(m.controller_path("cpuacct").unwrap(), cpu);
    assert_eq!(m.distinct().count(), 3);
}

#[test]
fn create_copies_cpuset_lists_into_every_level() {
    let host = FakeHost::all();
    host.fresh_leaf();
    host.manager().create().unwrap();
    for level in ["mydocker", "mydocker/x"] {
        let dir = host.dir("cpuset", level);
        assert_eq!(
            fs::read_to_string(dir.join("cpuset.cpus")).unwrap(),
            "0-1",
            "{level}"
        );
        assert_eq!(
            fs::read_to_string(dir.join("cpuset.mems")).unwrap(),
            "0",
            "{level}"
        );
    }
    assert!(host.dir("blkio", "mydocker/x").is_dir());
}

#[test]
fn create_makes_missing_directories() {
    let host = FakeHost::new(&["memory", "pids"]);
    host.manager().create().unwrap();
    host.manager().create().unwrap();
    assert!(host.dir("memory", "mydocker/x").is_dir());
    assert!(host.dir("pids", "mydocker/x").is_dir());
}

#[test]
fn apply_writes_each_limit_to_its_file() {
    let host = FakeHost::all();
    host.fresh_leaf();
    let m = host.manager();
    m.create().unwrap();
    m.apply(&resources()).unwrap();
    assert_eq!(host.read("memory", "memory.limit_in_bytes"), "67108864");
    assert_eq!(
        host.read("memory", "memory.memsw.limit_in_bytes"),
        "100663296"
    );
    assert_eq!(
        host.read("memory", "memory.soft_limit_in_bytes"),
        "33554432"
    );
    assert_eq!(
        host.read("memory", "memory.swappiness"),
        "60\n",
        "not requested"
    );
    assert_eq!(host.read("cpu", "cpu.shares"), "512");
    assert_eq!(host.read("cpu", "cpu.cfs_period_us"), "100000");
    assert_eq!(host.read("cpu", "cpu.cfs_quota_us"), "50000");
    assert_eq!(host.read("cpuset", "cpuset.cpus"), "1");
    assert_eq!(host.read("cpuset", "cpuset.mems"), "0");
    assert_eq!(host.read("pids", "pids.max"), "50");
}

#[test]
fn unavailable_cpus_are_refused_before_any_write() {
    let host = FakeHost::all();
    host.fresh_leaf();
    let m = host.manager();
    m.create().unwrap();
    let mut r = resources();
    if let Some(cpu) = r.cpu_mut() {
        cpu.set_cpus(Some("99".into()));
    }
    let err = m.apply(&r).unwrap_err().to_string();
    assert_eq!(
        err,
        "invalid cpuset cpus: requested CPUs are not available - requested 99, available: 0-1"
    );
    assert_eq!(host.read("memory", "memory.limit_in_bytes"), UNLIMITED);
}

#[test]
fn a_missing_controller_names_the_limit() {
    let host = FakeHost::new(&["cpu", "cpuset", "memory"]);
    let err = host.manager().apply(&resources()).unwrap_err().to_string();
    assert_eq!(
        err,
        "cannot apply pids limit: the pids controller is not mounted (cgroup v1)"
    );
}

#[test]
fn swap_without_swap_accounting_is_unsupported() {
    let host = FakeHost::all();
    host.fresh_leaf();
    fs::remove_file(
        host.dir("memory", "mydocker/x")
            .join("memory.memsw.limit_in_bytes"),
    )
    .unwrap();
    let err = host.manager().apply(&resources()).unwrap_err().to_string();
    assert!(err.starts_with("cannot apply memory+swap limit: "), "{err}");
    assert!(
        err.ends_with("(swap accounting is off: boot with swapaccount=1)"),
        "{err}"
    );
}

#[test]
fn add_task_joins_every_controller() {
    let host = FakeHost::all();
    host.fresh_leaf();
    host.manager().add_task(4242).unwrap();
    for c in SUBSYSTEMS {
        assert_eq!(host.read(c, "cgroup.procs"), "4242", "{c}");
    }
}

#[test]
fn destroy_of_a_missing_cgroup_is_success() {
    let host = FakeHost::new(&["memory", "pids"]);
    host.manager().destroy().unwrap();
    host.manager().create().unwrap();
    host.manager().destroy().unwrap();
    assert!(!host.dir("memory", "mydocker/x").exists());
    assert!(
        host.dir("memory", "mydocker").exists(),
        "the shared parent stays"
    );
}

#[test]
fn a_failed_create_removes_what_it_made() {
    // cpu is made first; then cpuset fails, as its new levels have no files to inherit into.
    let host = FakeHost::new(&["cpu", "cpuset"]);
    let err = host.manager().create().unwrap_err().to_string();
    assert!(err.starts_with("read "), "{err}");
    assert!(!host.dir("cpu", "mydocker/x").exists());
    assert!(
        host.dir("cpu", "mydocker").exists(),
        "a shared parent is left"
    );
}

#[test]
fn freeze_and_thaw_write_the_freezer_state() {
    let host = FakeHost::all();
    host.fresh_leaf();
    fs::write(
        host.dir("freezer", "mydocker/x").join("freezer.state"),
        "THAWED\n",
    )
    .unwrap();
    let m = host.manager();
    m.freeze().unwrap();
    assert_eq!(host.read("freezer", "freezer.state"), "FROZEN");
    m.thaw().unwrap();
    assert_eq!(host.read("freezer", "freezer.state"), "THAWED");
    let err = FakeHost::new(&["memory"]).manager().freeze().unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot apply freeze: the freezer controller is not mounted (cgroup v1)"
    );
}
