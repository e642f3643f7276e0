//! Repeated and interrupted runs leave nothing behind: no mount mentioning the root, no
//! cgroup directory of any container this test made, no container directory.

use crate::harness::{cgroup_dirs_of, mountinfo, wait_for_file, Md};

#[test]
fn fifty_sequential_runs_leave_nothing() {
    let md = Md::with_busybox();
    let mut ids = Vec::new();
    for _ in 0..50 {
        let cidfile = md.cidfile();
        md.md(&[
            "run",
            "--rm",
            "--cidfile",
            cidfile.to_str().unwrap(),
            "busybox",
            "true",
        ])
        .assert_ok();
        ids.push(md.read_cid(&cidfile));
    }
    let root = md.root().to_str().unwrap().to_string();
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
    let left: Vec<&str> = mounts.lines().filter(|l| l.contains(&root)).collect();
    assert!(left.is_empty(), "mounts left: {left:#?}");
    for id in &ids {
        assert!(
            cgroup_dirs_of(id).is_empty(),
            "cgroup of {id} left: {:?}",
            cgroup_dirs_of(id)
        );
        assert!(!md.container_dir(id).exists(), "container dir of {id} left");
    }
    let unique: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "container ids repeat");
    assert!(md.entries("containers").is_empty());
}

#[test]
fn failing_and_killed_containers_are_cleaned_up() {
    let md = Md::with_busybox();
    let cidfile = md.cidfile();
    md.md(&[
        "run",
        "--rm",
        "-m",
        "64m",
        "--cidfile",
        cidfile.to_str().unwrap(),
        "busybox",
        "sh",
        "-c",
        "exit 7",
    ])
    .assert_exit(7);
    let mut ids = vec![md.read_cid(&cidfile)];
    let before = md.entries("containers");
    crate::run_basics::kill_from_host(&md, "KILL").assert_exit(137);
    assert_eq!(md.entries("containers"), before);
    ids.extend(md.entries("containers"));
    for id in &ids {
        assert!(cgroup_dirs_of(id).is_empty(), "cgroup of {id} left");
        assert!(!md.container_dir(id).exists(), "dir of {id} left");
    }
    assert!(md.mounts_under_root().is_empty(), "mount left");
}

#[test]
fn a_container_with_background_children_is_cleaned_up() {
    // PID 1 exits while its children still run: they die with the pid namespace, and
    // nothing of the container remains.
    let md = Md::with_busybox();
    let cidfile = md.cidfile();
    md.md(&[
        "run",
        "--rm",
        "--pids-limit",
        "50",
        "--cidfile",
        cidfile.to_str().unwrap(),
        "busybox",
        "sh",
        "-c",
        "sleep 100 & sleep 100 & echo started",
    ])
    .assert_ok()
    .assert_stdout_is("started");
    let id = md.read_cid(&cidfile);
    assert!(cgroup_dirs_of(&id).is_empty());
    assert!(!md.container_dir(&id).exists());
}

#[test]
fn a_running_container_is_visible_and_its_rootfs_mounted_only_while_it_runs() {
    let md = Md::with_busybox();
    let cidfile = md.cidfile();
    let bg = md.spawn(&[
        "run",
        "--rm",
        "--cidfile",
        cidfile.to_str().unwrap(),
        "busybox",
        "sh",
        "-c",
        "touch /up; sleep 2",
    ]);
    wait_for_file(&cidfile, 30);
    let id = md.read_cid(&cidfile);
    wait_for_file(&md.container_dir(&id).join("upper/up"), 30);
    let rootfs = md.container_dir(&id).join("rootfs");
    let rootfs = rootfs.to_str().unwrap();
    assert!(
        mountinfo()
            .iter()
            .any(|l| l.split(' ').nth(4) == Some(rootfs)),
        "the container's rootfs is not mounted while it runs"
    );
    bg.wait().assert_ok();
    assert!(md.mounts_under_root().is_empty());
}
