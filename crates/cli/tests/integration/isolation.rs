//! Namespaces and the filesystem: what a container sees, and what the host does not.

use std::fs;

use crate::harness::{host_mounts, wait_for_file, Md};

#[test]
fn pid_1_is_the_command_and_no_host_process_is_visible() {
    let md = Md::with_busybox();
    // `ps` itself is PID 1: exec'd directly, it is the only process.
    let out = md.md(&["run", "--rm", "busybox", "ps", "-o", "pid,comm"]);
    out.assert_ok();
    let rows: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows, vec![vec!["1", "ps"]], "{out}");

    // Through a shell: PID 1 is the shell, and the host's processes (this test's own pid,
    // the host's init) are not in /proc.
    let me = std::process::id().to_string();
    let out = md.md(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        &format!(
            "cat /proc/1/comm; ls /proc | grep -c '^[0-9]*$'; \
             test -e /proc/{me} && echo SEES-HOST-PID; echo $$"
        ),
    ]);
    out.assert_ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.first(), Some(&"sh"), "{out}");
    let count: usize = lines[1].parse().unwrap();
    assert!(count <= 3, "too many processes visible ({count})\n{out}");
    assert!(!out.stdout.contains("SEES-HOST-PID"), "{out}");
    assert_eq!(lines.last(), Some(&"1"), "{out}");
}

#[test]
fn hostname_is_private() {
    let md = Md::with_busybox();
    let host_before = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    // Docker's default capabilities have no CAP_SYS_ADMIN, so `hostname x` may be refused;
    // either way the host's name must not change, and the container has its own.
    let out = md.md(&[
        "run",
        "--rm",
        "-h",
        "inner",
        "busybox",
        "sh",
        "-c",
        "hostname changed-inside 2>/dev/null; hostname",
    ]);
    out.assert_ok();
    assert!(
        ["inner", "changed-inside"].contains(&out.out()),
        "container hostname {:?}\n{out}",
        out.out()
    );
    let host_after = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(host_before, host_after);
    assert_ne!(host_after.trim(), "changed-inside");
}

#[test]
fn mounts_made_for_and_inside_the_container_are_not_on_the_host() {
    let md = Md::with_busybox();
    let tag = format!("mdtest-tmpfs-{}", std::process::id());
    let cidfile = md.cidfile();
    // The container's own /proc, /dev, /dev/pts, /sys... and a tmpfs it tries to mount
    // (refused without CAP_SYS_ADMIN, which Docker's defaults lack) stay in its mount
    // namespace: the host sees only the overlay of its rootfs.
    let script = format!(
        "mount -t tmpfs {tag} /tmp 2>/dev/null; grep -c ' /proc ' /proc/self/mountinfo \
         > /mounted.tmp; mv /mounted.tmp /mounted; sleep 3"
    );
    let bg = md.spawn(&[
        "run",
        "--rm",
        "--cidfile",
        cidfile.to_str().unwrap(),
        "busybox",
        "sh",
        "-c",
        &script,
    ]);
    wait_for_file(&cidfile, 30);
    let id = md.read_cid(&cidfile);
    wait_for_file(&md.container_dir(&id).join("upper/mounted"), 30);
    let host = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !host.contains(&tag),
        "the container's tmpfs shows on the host"
    );
    let rootfs = md.container_dir(&id).join("rootfs");
    let rootfs = rootfs.to_str().unwrap();
    let under: Vec<&str> = host
        .lines()
        .filter(|l| {
            l.split(' ')
                .nth(4)
                .is_some_and(|m| m.starts_with(&format!("{rootfs}/")))
        })
        .collect();
    assert!(under.is_empty(), "container mounts on the host: {under:#?}");
    bg.wait().assert_ok();
}

#[test]
fn ipc_objects_are_private() {
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
        "ipcmk -M 4096 > /ipc.tmp && mv /ipc.tmp /ipc && cat /proc/sysvipc/shm && sleep 3",
    ]);
    wait_for_file(&cidfile, 30);
    let id = md.read_cid(&cidfile);
    let ipc = md.container_dir(&id).join("upper/ipc");
    wait_for_file(&ipc, 30);
    let made = fs::read_to_string(&ipc).unwrap();
    let key_hex = made
        .lines()
        .find_map(|l| l.strip_prefix("Key: 0x"))
        .unwrap_or_else(|| panic!("ipcmk printed {made:?}"));
    let key = i64::from_str_radix(key_hex.trim(), 16).unwrap() as i32;
    // /proc/sysvipc/shm: the first column is the key, in decimal.
    let host = fs::read_to_string("/proc/sysvipc/shm").unwrap();
    let host_keys: Vec<i32> = host
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert!(
        !host_keys.contains(&key),
        "the container's segment (key {key}) is on the host:\n{host}"
    );
    let out = bg.wait();
    out.assert_ok();
    // ...and the container saw it in its own table.
    assert!(
        out.stdout.lines().skip(1).any(|l| l
            .split_whitespace()
            .next()
            .and_then(|k| k.parse::<i32>().ok())
            == Some(key)),
        "{out}"
    );
}

#[test]
fn host_mount_table_is_the_same_after_containers_ran() {
    let md = Md::exclusive_with_busybox();
    let before = host_mounts();
    md.md(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "mount -t tmpfs x /tmp 2>/dev/null; cat /proc/self/mountinfo >/dev/null",
    ])
    .assert_ok();
    md.md(&["run", "--rm", "--network", "host", "busybox", "true"])
        .assert_ok();
    let after = host_mounts();
    assert_eq!(
        before, after,
        "the host's mounts changed (ignoring test roots)"
    );
    // /proc on the host is still the host's.
    assert!(std::path::Path::new("/proc/1/comm").exists());
    assert!(fs::read_to_string("/proc/self/status").is_ok());
}

#[test]
fn writes_land_in_the_containers_upper_dir_only() {
    let md = Md::with_busybox();
    let cidfile = md.cidfile();
    let bg = md.spawn(&[
        "run",
        "--rm",
        "--name",
        "writer",
        "--cidfile",
        cidfile.to_str().unwrap(),
        "busybox",
        "sh",
        "-c",
        "echo x > /marker; sleep 3",
    ]);
    wait_for_file(&cidfile, 30);
    let id = md.read_cid(&cidfile);
    let marker = md.container_dir(&id).join("upper/marker");
    wait_for_file(&marker, 30);
    assert_eq!(fs::read_to_string(&marker).unwrap(), "x\n");
    let layers = md.root().join("image/layers");
    let layer_dirs = crate::harness::list_dir(&layers);
    assert!(
        !layer_dirs.is_empty(),
        "no layers under {}",
        layers.display()
    );
    for l in layer_dirs {
        let diff = layers.join(&l).join("diff");
        assert!(
            diff.join("bin/busybox").exists(),
            "{} is not the image",
            diff.display()
        );
        assert!(
            !diff.join("marker").exists(),
            "the write reached the image layer {}",
            diff.display()
        );
    }
    bg.wait().assert_ok();
    assert!(
        !md.container_dir(&id).exists(),
        "--rm removes the container"
    );
}

#[test]
fn two_containers_from_one_image_do_not_see_each_others_files() {
    let md = Md::with_busybox();
    let c1 = md.cidfile();
    let bg = md.spawn(&[
        "run",
        "--rm",
        "--cidfile",
        c1.to_str().unwrap(),
        "busybox",
        "sh",
        "-c",
        "echo one > /only-in-one; sleep 3",
    ]);
    wait_for_file(&c1, 30);
    let id1 = md.read_cid(&c1);
    wait_for_file(&md.container_dir(&id1).join("upper/only-in-one"), 30);
    md.md(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "test ! -e /only-in-one && echo two > /only-in-two && echo clean",
    ])
    .assert_ok()
    .assert_stdout_is("clean");
    bg.wait().assert_ok();
    // And a third, after both: the image is untouched.
    md.md(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "ls /only-in-* 2>/dev/null | wc -l",
    ])
    .assert_ok()
    .assert_stdout_is("0");
}

#[test]
fn network_none_has_only_lo() {
    let md = Md::with_busybox();
    for args in [
        &["run", "--rm", "busybox", "cat", "/proc/net/dev"][..],
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "busybox",
            "cat",
            "/proc/net/dev",
        ][..],
    ] {
        let out = md.md(args);
        out.assert_ok();
        let ifaces = interfaces(&out.stdout);
        assert_eq!(ifaces, vec!["lo".to_string()], "{out}");
    }
}

#[test]
fn network_host_shares_the_hosts_interfaces() {
    let md = Md::with_busybox();
    let out = md.md(&[
        "run",
        "--rm",
        "--network",
        "host",
        "busybox",
        "cat",
        "/proc/net/dev",
    ]);
    out.assert_ok();
    let host = interfaces(&fs::read_to_string("/proc/net/dev").unwrap());
    let inside = interfaces(&out.stdout);
    assert!(host.len() > 1, "the host has only {host:?}");
    for i in &host {
        assert!(inside.contains(i), "{i} missing inside\n{out}");
    }
}

fn interfaces(proc_net_dev: &str) -> Vec<String> {
    let mut v: Vec<String> = proc_net_dev
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(|s| s.trim().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn dev_proc_and_sys_are_set_up() {
    let md = Md::with_busybox();
    let out = md.md(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "for d in null zero full random urandom tty ptmx pts shm mqueue; do \
           test -e /dev/$d || echo missing /dev/$d; done; \
         test \"$(readlink /dev/fd)\" = /proc/self/fd || echo bad /dev/fd; \
         echo hi > /dev/null || echo bad null; \
         test \"$(head -c 3 /dev/zero | wc -c)\" = 3 || echo bad zero; \
         touch /sys/x 2>/dev/null && echo sys-writable; \
         mkdir /sys/fs/cgroup/memory/x 2>/dev/null && echo cgroup-writable; \
         echo done",
    ]);
    out.assert_ok().assert_stdout_is("done");
}

#[test]
fn cgroup_namespace_shows_the_containers_own_cgroup_as_root() {
    let md = Md::with_busybox();
    let out = md.md(&[
        "run",
        "--rm",
        "-m",
        "64m",
        "busybox",
        "cat",
        "/proc/self/cgroup",
    ]);
    out.assert_ok();
    for line in out.stdout.lines() {
        assert!(
            line.ends_with(":/"),
            "not at its cgroup namespace root: {line}\n{out}"
        );
    }
}

/// Docker's default security includes a seccomp filter: the container's processes run
/// under one (mode 2), exec'd ones too.
#[test]
fn containers_and_their_execs_run_under_a_seccomp_filter() {
    let md = Md::with_busybox();
    md.md(&[
        "run",
        "--rm",
        "busybox",
        "grep",
        "Seccomp:",
        "/proc/self/status",
    ])
    .assert_ok()
    .assert_stdout_is("Seccomp:\t2");
    let cid = md.cidfile();
    md.md(&[
        "run",
        "-d",
        "--name",
        "sc",
        "--cidfile",
        cid.to_str().unwrap(),
        "busybox",
        "sleep",
        "30",
    ])
    .assert_ok();
    md.read_cid(&cid);
    md.md(&["exec", "sc", "grep", "Seccomp:", "/proc/self/status"])
        .assert_ok()
        .assert_stdout_is("Seccomp:\t2");
    md.md(&["rm", "-f", "sc"]).assert_ok();
}
