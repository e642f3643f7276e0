//! Resource limits: what the container's own cgroup files say (it sees them under
//! /sys/fs/cgroup through its cgroup namespace), and what the kernel enforces.

use crate::harness::{cgroup_dirs_of, wait_for_file, Md};

/// `cat FILES` in a container run with `flags`; returns stdout lines.
fn cat_in(md: &Md, flags: &[&str], files: &[&str]) -> Vec<String> {
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(flags);
    args.extend(["busybox", "cat"]);
    args.extend_from_slice(files);
    let out = md.md(&args);
    out.assert_ok();
    out.stdout.lines().map(|l| l.trim().to_string()).collect()
}

#[test]
fn memory_limit_is_in_the_containers_cgroup() {
    let md = Md::with_busybox();
    assert_eq!(
        cat_in(
            &md,
            &["-m", "64m"],
            &["/sys/fs/cgroup/memory/memory.limit_in_bytes"]
        ),
        ["67108864"]
    );
    assert_eq!(
        cat_in(
            &md,
            &["--memory", "64m", "--memory-swap", "128m"],
            &["/sys/fs/cgroup/memory/memory.limit_in_bytes"]
        ),
        ["67108864"]
    );
}

#[test]
fn cpu_limits_are_in_the_containers_cgroup() {
    let md = Md::with_busybox();
    assert_eq!(
        cat_in(
            &md,
            &["--cpus", "0.5"],
            &[
                "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
                "/sys/fs/cgroup/cpu/cpu.cfs_period_us"
            ]
        ),
        ["50000", "100000"]
    );
    assert_eq!(
        cat_in(&md, &["-c", "512"], &["/sys/fs/cgroup/cpu/cpu.shares"]),
        ["512"]
    );
    assert_eq!(
        cat_in(
            &md,
            &["--cpu-shares", "512"],
            &["/sys/fs/cgroup/cpu/cpu.shares"]
        ),
        ["512"]
    );
    assert_eq!(
        cat_in(
            &md,
            &["--cpu-period", "50000", "--cpu-quota", "25000"],
            &[
                "/sys/fs/cgroup/cpu/cpu.cfs_period_us",
                "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"
            ]
        ),
        ["50000", "25000"]
    );
}

#[test]
fn cpuset_is_in_the_containers_cgroup() {
    let md = Md::with_busybox();
    assert_eq!(
        cat_in(
            &md,
            &["--cpuset-cpus", "0", "--cpuset-mems", "0"],
            &[
                "/sys/fs/cgroup/cpuset/cpuset.cpus",
                "/sys/fs/cgroup/cpuset/cpuset.mems"
            ]
        ),
        ["0", "0"]
    );
    // And the kernel applies it: the process may run on CPU 0 only.
    md.md(&[
        "run",
        "--rm",
        "--cpuset-cpus",
        "0",
        "busybox",
        "sh",
        "-c",
        "grep Cpus_allowed_list /proc/self/status",
    ])
    .assert_ok()
    .assert_stdout_contains("Cpus_allowed_list:\t0\n");
}

#[test]
fn pids_limit_is_in_the_containers_cgroup() {
    let md = Md::with_busybox();
    assert_eq!(
        cat_in(
            &md,
            &["--pids-limit", "50"],
            &["/sys/fs/cgroup/pids/pids.max"]
        ),
        ["50"]
    );
}

#[test]
fn ulimit_nofile_applies() {
    let md = Md::with_busybox();
    md.md(&[
        "run",
        "--rm",
        "--ulimit",
        "nofile=1024:1024",
        "busybox",
        "sh",
        "-c",
        "ulimit -n; ulimit -Hn",
    ])
    .assert_ok()
    .assert_stdout_is("1024\n1024");
}

#[test]
fn memory_hog_is_oom_killed_with_137() {
    let md = Md::with_busybox();
    // dd allocates a 64M buffer; 32M of memory (and as much swap) is not enough.
    md.md(&[
        "run",
        "--rm",
        "-m",
        "32m",
        "busybox",
        "dd",
        "if=/dev/zero",
        "of=/dev/null",
        "bs=64M",
        "count=1",
    ])
    .assert_exit(137);
    // The same without a limit works: the limit did it.
    md.md(&[
        "run",
        "--rm",
        "busybox",
        "dd",
        "if=/dev/zero",
        "of=/dev/null",
        "bs=64M",
        "count=1",
    ])
    .assert_ok();
}

#[test]
fn fork_bomb_stops_at_the_pids_limit() {
    let md = Md::with_busybox();
    let out = md.md(&[
        "run",
        "--rm",
        "--pids-limit",
        "20",
        "busybox",
        "sh",
        "-c",
        "i=0; while [ $i -lt 50 ]; do sleep 30 & i=$((i+1)); echo started $i; done",
    ]);
    let started = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("started"))
        .count();
    assert!(
        (1..20).contains(&started),
        "{started} background processes started under --pids-limit 20\n{out}"
    );
    assert!(
        out.stderr.contains("fork"),
        "expected a fork failure\n{out}"
    );
    assert_ne!(out.code, 0, "{out}");
}

#[test]
fn host_cgroup_exists_while_running_and_is_removed_after() {
    let md = Md::with_busybox();
    let cidfile = md.cidfile();
    let bg = md.spawn(&[
        "run",
        "--rm",
        "-m",
        "64m",
        "--pids-limit",
        "50",
        "--cidfile",
        cidfile.to_str().unwrap(),
        "busybox",
        "sh",
        "-c",
        "touch /up; sleep 3",
    ]);
    wait_for_file(&cidfile, 30);
    let id = md.read_cid(&cidfile);
    wait_for_file(&md.container_dir(&id).join("upper/up"), 30);
    for controller in ["memory", "pids"] {
        let dir = std::path::Path::new("/sys/fs/cgroup")
            .join(controller)
            .join("mydocker")
            .join(&id);
        assert!(dir.is_dir(), "{} missing while running", dir.display());
    }
    let limit = std::fs::read_to_string(format!(
        "/sys/fs/cgroup/memory/mydocker/{id}/memory.limit_in_bytes"
    ))
    .unwrap();
    assert_eq!(limit.trim(), "67108864");
    bg.wait().assert_ok();
    assert_eq!(cgroup_dirs_of(&id), Vec::<std::path::PathBuf>::new());
}
