//! The v2 manager against a fake cgroupfs in a tempdir, holding the interface files a
//! kernel would show: which file gets which value, and what each ancestor enables.

use super::*;
use oci_spec::runtime::{
    LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResourcesBuilder,
};
use std::fs;
use tempfile::TempDir;

const MIB: i64 = 1024 * 1024;

/// A fake v2 tree: the root offering `root_controllers`, `/mydocker` offering
/// `parent_controllers`, and a leaf `/mydocker/c1` with its files (the kernel makes them
/// on mkdir; here they exist beforehand, and `create` finds the directory made).
struct FakeTree {
    tmp: TempDir,
}

impl FakeTree {
    fn new(root_controllers: &str, parent_controllers: &str) -> Self {
        let tree = FakeTree {
            tmp: tempfile::tempdir().unwrap(),
        };
        tree.cgroup("", &[("cgroup.controllers", root_controllers)]);
        tree.cgroup("mydocker", &[("cgroup.controllers", parent_controllers)]);
        tree.cgroup(
            "mydocker/c1",
            &[
                ("cgroup.controllers", parent_controllers),
                ("memory.max", "max\n"),
                ("memory.swap.max", "max\n"),
                ("memory.low", "0\n"),
                ("cpu.weight", "100\n"),
                ("cpu.max", "max 100000\n"),
                ("cpuset.cpus", "\n"),
                ("cpuset.mems", "\n"),
                ("pids.max", "max\n"),
                ("cgroup.kill", ""),
            ],
        );
        tree
    }

    fn cgroup(&self, path: &str, files: &[(&str, &str)]) {
        let dir = self.tmp.path().join(path);
        fs::create_dir_all(&dir).unwrap();
        let base = [
            ("cgroup.subtree_control", ""),
            ("cgroup.procs", ""),
            ("cpuset.cpus.effective", "0-3\n"),
            ("cpuset.mems.effective", "0\n"),
        ];
        for (name, content) in base.iter().chain(files) {
            fs::write(dir.join(name), content).unwrap();
        }
    }

    fn manager(&self) -> Manager {
        Manager::new(self.tmp.path(), "/mydocker/c1").unwrap()
    }

    fn read(&self, path: &str) -> String {
        fs::read_to_string(self.tmp.path().join(path)).unwrap()
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
                .cpus("2-3")
                .mems("0")
                .build()
                .unwrap(),
        )
        .pids(LinuxPidsBuilder::default().limit(50).build().unwrap())
        .build()
        .unwrap()
}

const ALL: &str = "cpuset cpu io memory hugetlb pids rdma misc\n";

#[test]
fn create_enables_controllers_in_every_ancestor() {
    let tree = FakeTree::new(ALL, "cpuset cpu io memory pids\n");
    fs::remove_dir_all(tree.tmp.path().join("mydocker/c1")).unwrap();
    tree.manager().create().unwrap();
    assert_eq!(
        tree.read("cgroup.subtree_control"),
        "+cpu +cpuset +memory +pids +io"
    );
    assert_eq!(
        tree.read("mydocker/cgroup.subtree_control"),
        "+cpu +cpuset +memory +pids +io"
    );
    assert!(tree.tmp.path().join("mydocker/c1").is_dir());
}

#[test]
fn create_enables_only_what_is_offered_and_missing() {
    let tree = FakeTree::new(ALL, "cpu pids\n");
    fs::write(
        tree.tmp.path().join("cgroup.subtree_control"),
        "cpu memory\n",
    )
    .unwrap();
    tree.manager().create().unwrap();
    assert_eq!(tree.read("cgroup.subtree_control"), "+cpuset +pids +io");
    assert_eq!(tree.read("mydocker/cgroup.subtree_control"), "+cpu +pids");
}

#[test]
fn apply_writes_each_limit_to_its_file() {
    let tree = FakeTree::new(ALL, "cpuset cpu io memory pids\n");
    let m = tree.manager();
    m.create().unwrap();
    m.apply(&resources()).unwrap();
    assert_eq!(tree.read("mydocker/c1/memory.max"), "67108864");
    assert_eq!(tree.read("mydocker/c1/memory.swap.max"), "33554432");
    assert_eq!(tree.read("mydocker/c1/memory.low"), "33554432");
    assert_eq!(tree.read("mydocker/c1/cpu.weight"), "20");
    assert_eq!(tree.read("mydocker/c1/cpu.max"), "50000 100000");
    assert_eq!(tree.read("mydocker/c1/cpuset.cpus"), "2-3");
    assert_eq!(tree.read("mydocker/c1/cpuset.mems"), "0");
    assert_eq!(tree.read("mydocker/c1/pids.max"), "50");
}

#[test]
fn unlimited_values_are_max() {
    let tree = FakeTree::new(ALL, ALL);
    let r = LinuxResourcesBuilder::default()
        .memory(LinuxMemoryBuilder::default().limit(-1).build().unwrap())
        .pids(LinuxPidsBuilder::default().limit(-1).build().unwrap())
        .build()
        .unwrap();
    fs::write(tree.tmp.path().join("mydocker/c1/memory.swap.max"), "0\n").unwrap();
    tree.manager().apply(&r).unwrap();
    assert_eq!(tree.read("mydocker/c1/memory.max"), "max");
    assert_eq!(tree.read("mydocker/c1/memory.swap.max"), "max");
    assert_eq!(tree.read("mydocker/c1/pids.max"), "max");
}

#[test]
fn a_controller_the_parent_lacks_is_unsupported() {
    let tree = FakeTree::new(ALL, "cpu pids\n");
    let err = tree.manager().apply(&resources()).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "cannot apply memory limit: the memory controller is not available in {} \
             (cgroup.controllers: cpu pids)",
            tree.tmp.path().join("mydocker").display()
        )
    );
    assert_eq!(
        tree.read("mydocker/c1/cpu.weight"),
        "100\n",
        "nothing written"
    );
}

#[test]
fn unavailable_cpus_are_refused() {
    let tree = FakeTree::new(ALL, ALL);
    let mut r = resources();
    if let Some(cpu) = r.cpu_mut() {
        cpu.set_cpus(Some("4".into()));
    }
    let err = tree.manager().apply(&r).unwrap_err().to_string();
    assert_eq!(
        err,
        "invalid cpuset cpus: requested CPUs are not available - requested 4, available: 0-3"
    );
    assert_eq!(
        tree.read("mydocker/c1/memory.max"),
        "max\n",
        "nothing written"
    );
}

#[test]
fn swap_without_swap_accounting_is_unsupported() {
    let tree = FakeTree::new(ALL, ALL);
    fs::remove_file(tree.tmp.path().join("mydocker/c1/memory.swap.max")).unwrap();
    let err = tree.manager().apply(&resources()).unwrap_err().to_string();
    assert!(err.starts_with("cannot apply memory+swap limit: "), "{err}");
}

#[test]
fn add_task_pids_and_clone_fd() {
    let tree = FakeTree::new(ALL, ALL);
    let m = tree.manager();
    m.add_task(4242).unwrap();
    assert_eq!(tree.read("mydocker/c1/cgroup.procs"), "4242");
    assert_eq!(m.pids().unwrap(), [4242]);
    assert!(m.clone_into_fd().unwrap().is_some());
    assert_eq!(m.path(), tree.tmp.path().join("mydocker/c1"));
}

#[test]
fn destroy_of_a_missing_cgroup_is_success() {
    let tree = FakeTree::new(ALL, ALL);
    let m = Manager::new(tree.tmp.path(), "/mydocker/gone").unwrap();
    m.destroy().unwrap();
    fs::create_dir(m.path()).unwrap();
    m.destroy().unwrap();
    assert!(!m.path().exists());
    assert!(m.clone_into_fd().is_err());
}

#[test]
fn freeze_waits_for_the_kernel_to_say_frozen() {
    let tree = FakeTree::new(ALL, ALL);
    let m = tree.manager();
    let events = tree.tmp.path().join("mydocker/c1/cgroup.events");
    fs::write(tree.tmp.path().join("mydocker/c1/cgroup.freeze"), "0\n").unwrap();
    fs::write(&events, "populated 1\nfrozen 1\n").unwrap();
    m.freeze().unwrap();
    assert_eq!(tree.read("mydocker/c1/cgroup.freeze"), "1");
    m.thaw().unwrap();
    assert_eq!(tree.read("mydocker/c1/cgroup.freeze"), "0");

    fs::write(&events, "populated 1\nfrozen 0\n").unwrap();
    let err = m.freeze().unwrap_err().to_string();
    assert!(
        err.contains("cgroup.events: still \"populated 1\\nfrozen 0\" after"),
        "{err}"
    );
}
