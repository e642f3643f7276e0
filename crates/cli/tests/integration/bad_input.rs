//! Every input mydocker must refuse: it says so in one line on stderr, exits non-zero, and
//! leaves nothing behind (no new mount, no `mydocker/<id>` cgroup, no container directory).
//! These tests hold the host-wide lock ([`Md::exclusive`]) so that the whole mount table
//! and every container cgroup can be compared before and after.

use std::fs;
use std::process::Command;

use crate::harness::{self, all_container_cgroups, host_mounts, mountinfo, Md, Out, BIN};

/// Runs `f`, then checks the failure and that host and root are as before.
#[track_caller]
fn assert_rejected(md: &Md, code: Option<i32>, f: impl FnOnce() -> Out) -> Out {
    let mounts = host_mounts();
    let raw_mounts = mountinfo().len();
    let cgroups = all_container_cgroups();
    let containers = md.entries("containers");
    let names = md.entries("names");

    let out = f();
    out.assert_fail().assert_one_line_error();
    if let Some(code) = code {
        out.assert_exit(code);
    }
    assert_eq!(host_mounts(), mounts, "mounts changed\n{out}");
    assert_eq!(mountinfo().len(), raw_mounts, "mount count changed\n{out}");
    assert!(
        md.mounts_under_root().is_empty(),
        "mount left under the root\n{out}"
    );
    assert_eq!(all_container_cgroups(), cgroups, "cgroups changed\n{out}");
    assert_eq!(
        md.entries("containers"),
        containers,
        "container dir left\n{out}"
    );
    assert_eq!(md.entries("names"), names, "name left\n{out}");
    out
}

fn run_rejected(md: &Md, code: i32, args: &[&str]) -> Out {
    assert_rejected(md, Some(code), || md.md(args))
}

#[test]
fn unknown_image() {
    let md = Md::exclusive_with_busybox();
    run_rejected(&md, 125, &["run", "--rm", "nosuchimage", "true"]);
    run_rejected(&md, 125, &["run", "--rm", "busybox:nosuchtag", "true"]);
}

#[test]
fn image_names_with_bad_characters() {
    let md = Md::exclusive_with_busybox();
    for name in [
        "BusyBox",
        "bad@@name",
        "busy box",
        "-busybox",
        "busybox:bad tag",
    ] {
        run_rejected(&md, 125, &["run", "--rm", name, "true"]);
    }
    let tar = harness::busybox_tar();
    for name in ["BusyBox", "bad@@name"] {
        assert_rejected(&md, Some(125), || {
            md.md(&["import", tar.to_str().unwrap(), name])
        });
    }
}

#[test]
fn bad_flag_values() {
    let md = Md::exclusive_with_busybox();
    let cases: &[&[&str]] = &[
        &["-m", "10q"],
        &["--memory", "-5m"],
        &["--cpus", "-1"],
        &["--cpus", "abc"],
        &["--cpuset-cpus", "99"],
        &["--cpuset-cpus", "0-"],
        &["--cpu-shares", "x"],
        &["--pids-limit", "many"],
        &["--ulimit", "nofile=abc"],
        &["--network", "nosuchnet"],
    ];
    for flags in cases {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(flags);
        args.extend(["busybox", "true"]);
        run_rejected(&md, 125, &args);
    }
}

#[test]
fn command_missing_from_the_image() {
    let md = Md::exclusive_with_busybox();
    let out = run_rejected(&md, 127, &["run", "--rm", "busybox", "/no/such/binary"]);
    out.assert_stderr_contains("no such file or directory");
    run_rejected(&md, 127, &["run", "--rm", "busybox", "nosuchcommand"])
        .assert_stderr_contains("executable file not found in $PATH");
    run_rejected(&md, 126, &["run", "--rm", "busybox", "/etc"]);
}

#[test]
fn non_root_is_refused() {
    let md = Md::exclusive_with_busybox();
    for args in [&["run", "--rm", "busybox", "true"][..], &["images"][..]] {
        assert_rejected(&md, None, || {
            let mut cmd = Command::new("setpriv");
            cmd.args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                BIN,
                "--root",
            ])
            .arg(md.root())
            .args(args);
            harness::run(cmd, None)
        });
    }
}

#[test]
fn import_of_missing_or_malformed_tarballs() {
    let md = Md::exclusive();
    let missing = md.path("missing.tar");
    let garbage = md.path("garbage.tar");
    fs::write(&garbage, b"this is not a tarball at all\n".repeat(100)).unwrap();
    let garbage_gz = md.path("garbage.tar.gz");
    fs::write(&garbage_gz, b"\x1f\x8b\x08\x00garbage after a gzip magic").unwrap();
    let truncated_gz = md.path("truncated.tar.gz");
    let gz = fs::read(harness::images_dir().join("busybox.tar.gz")).unwrap();
    fs::write(&truncated_gz, &gz[..gz.len() / 2]).unwrap();
    let truncated = md.path("truncated.tar");
    let tar = fs::read(harness::busybox_tar()).unwrap();
    fs::write(&truncated, &tar[..tar.len() / 2 + 77]).unwrap();

    for src in [&missing, &garbage, &garbage_gz, &truncated_gz, &truncated] {
        assert_rejected(&md, Some(125), || {
            md.md(&["import", src.to_str().unwrap(), "broken"])
        });
    }
    // Nothing was half-imported.
    md.md(&["images", "-q"]).assert_ok().assert_stdout_is("");
    for f in [&garbage, &garbage_gz, &truncated_gz, &truncated] {
        fs::remove_file(f).unwrap();
    }
}

#[test]
fn unknown_flags_and_commands() {
    let md = Md::exclusive_with_busybox();
    run_rejected(&md, 125, &["run", "--no-such-flag", "busybox", "true"]);
    run_rejected(&md, 125, &["run", "--rm"]);
    assert_rejected(&md, None, || md.md(&["nosuchcommand"]));
}
