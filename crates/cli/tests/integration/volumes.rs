//! Volumes and cp (issue 4): bind mounts, named and anonymous volumes, --mount, --tmpfs,
//! --read-only, the volume commands, and cp in both directions, never through a symlink
//! to the host.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use crate::harness::{unique_name, Md};
use crate::lifecycle::{run_d, IDLE};

fn volumes(md: &Md) -> Vec<String> {
    let out = md.md(&["volume", "ls", "-q"]);
    out.assert_ok();
    out.stdout.split_whitespace().map(str::to_string).collect()
}

#[test]
fn bind_mounts_create_the_host_dir_and_ro_refuses_writes() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    let host = md.path("host/new/dir");
    let spec = format!("{}:/data", host.display());
    md.md(&[
        "run",
        "--rm",
        "-v",
        &spec,
        "busybox",
        "sh",
        "-c",
        "echo hi > /data/f",
    ])
    .assert_ok();
    assert!(host.is_dir(), "the host dir was not created");
    assert_eq!(fs::read_to_string(host.join("f")).unwrap(), "hi\n");

    let ro = format!("{}:/data:ro", host.display());
    md.md(&[
        "run",
        "--rm",
        "-v",
        &ro,
        "busybox",
        "sh",
        "-c",
        "echo x > /data/g",
    ])
    .assert_fail()
    .assert_stderr_contains("Read-only file system");
    md.md(&["run", "--rm", "-v", &ro, "busybox", "cat", "/data/f"])
        .assert_ok()
        .assert_stdout_is("hi");
    assert!(!host.join("g").exists());

    // A single file, read-only.
    let file = md.path("hostfile");
    fs::write(&file, "from host\n").unwrap();
    let f = format!("{}:/h:ro", file.display());
    md.md(&["run", "--rm", "-v", &f, "busybox", "cat", "/h"])
        .assert_ok()
        .assert_stdout_is("from host");
    md.md(&[
        "run",
        "--rm",
        "-v",
        &f,
        "busybox",
        "sh",
        "-c",
        "echo x >> /h",
    ])
    .assert_fail();
    assert_eq!(fs::read_to_string(&file).unwrap(), "from host\n");
    assert!(md.mounts_under_root().is_empty());
}

#[test]
fn a_named_volume_is_seeded_from_the_image_and_persists() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    let vol = unique_name("data");
    let spec = format!("{vol}:/etc");
    // Created on first use and seeded with the image's /etc.
    md.md(&[
        "run",
        "--rm",
        "-v",
        &spec,
        "busybox",
        "sh",
        "-c",
        "cat /etc/passwd >/dev/null && echo kept > /etc/newfile",
    ])
    .assert_ok();
    assert_eq!(volumes(&md), vec![vol.clone()]);
    md.md(&["run", "--rm", "-v", &spec, "busybox", "cat", "/etc/newfile"])
        .assert_ok()
        .assert_stdout_is("kept");
    md.md(&[
        "run",
        "--rm",
        "-v",
        &format!("{vol}:/other"),
        "busybox",
        "ls",
        "/other/passwd",
    ])
    .assert_ok();

    let insp = md.md(&["volume", "inspect", &vol]);
    insp.assert_ok();
    let j: serde_json::Value = serde_json::from_str(&insp.stdout).unwrap();
    assert_eq!(j[0]["Name"], vol.as_str());
    assert_eq!(j[0]["Driver"], "local");
    let mp = j[0]["Mountpoint"].as_str().unwrap().to_string();
    assert!(mp.starts_with(md.root().to_str().unwrap()), "{insp}");
    assert_eq!(
        fs::read_to_string(format!("{mp}/newfile")).unwrap(),
        "kept\n"
    );

    // In use: not removable.
    run_d(
        &md,
        &["--name", "holder", "-v", &spec, "busybox", "sh", "-c", IDLE],
    );
    md.md(&["volume", "rm", &vol])
        .assert_exit(1)
        .assert_stderr_contains("volume is in use")
        .assert_one_line_error();
    md.md(&["rm", "-f", "-v", "holder"]).assert_ok();
    assert_eq!(volumes(&md), vec![vol.clone()], "rm -v keeps named volumes");
    md.md(&["volume", "rm", &vol])
        .assert_ok()
        .assert_stdout_is(&vol);
    assert!(volumes(&md).is_empty());

    // volume create / prune.
    md.md(&["volume", "create", "made"])
        .assert_ok()
        .assert_stdout_is("made");
    let ls = md.md(&["volume", "ls"]);
    ls.assert_ok();
    assert!(
        ls.stdout.starts_with("DRIVER ") && ls.stdout.contains("VOLUME NAME"),
        "{ls}"
    );
    assert!(
        ls.stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["local", "made"]),
        "{ls}"
    );
    md.md(&["volume", "prune", "-f"]).assert_ok();
    md.md(&["volume", "rm", "nosuchvol"])
        .assert_exit(1)
        .assert_one_line_error();
    let _ = md.md(&["volume", "rm", "made"]);
    assert!(volumes(&md).is_empty());
}

#[test]
fn anonymous_volumes_go_with_rm_v_and_run_rm() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    md.md(&[
        "run",
        "--name",
        "anon",
        "-v",
        "/scratch",
        "busybox",
        "sh",
        "-c",
        "echo x > /scratch/f",
    ])
    .assert_ok();
    let v = volumes(&md);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(
        v[0].len(),
        64,
        "an anonymous volume has a 64-hex name: {v:?}"
    );
    md.md(&["rm", "-v", "anon"]).assert_ok();
    assert!(volumes(&md).is_empty(), "rm -v left {:?}", volumes(&md));

    md.md(&["run", "--rm", "-v", "/scratch", "busybox", "true"])
        .assert_ok();
    assert!(volumes(&md).is_empty(), "run --rm left {:?}", volumes(&md));

    // Without -v, Docker keeps it; prune then removes it.
    md.md(&["run", "--name", "keep", "-v", "/scratch", "busybox", "true"])
        .assert_ok();
    md.md(&["rm", "keep"]).assert_ok();
    assert_eq!(volumes(&md).len(), 1);
    md.md(&["volume", "prune", "-f"]).assert_ok();
    assert!(volumes(&md).is_empty());
}

#[test]
fn mount_tmpfs_and_read_only() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    let vol = unique_name("mv");
    let m = format!("type=volume,src={vol},dst=/m");
    md.md(&[
        "run",
        "--rm",
        "--mount",
        &m,
        "busybox",
        "sh",
        "-c",
        "echo m > /m/f",
    ])
    .assert_ok();
    md.md(&["run", "--rm", "--mount", &m, "busybox", "cat", "/m/f"])
        .assert_ok()
        .assert_stdout_is("m");
    let host = md.path("bindsrc");
    fs::create_dir(&host).unwrap();
    let b = format!("type=bind,src={},dst=/b,readonly", host.display());
    md.md(&["run", "--rm", "--mount", &b, "busybox", "touch", "/b/x"])
        .assert_fail();
    md.md(&[
        "run",
        "--rm",
        "--mount",
        "type=tmpfs,dst=/t,tmpfs-size=1m",
        "busybox",
        "sh",
        "-c",
        "grep ' /t ' /proc/mounts",
    ])
    .assert_ok()
    .assert_stdout_contains("tmpfs /t tmpfs")
    .assert_stdout_contains("size=1024k");
    md.md(&[
        "run",
        "--rm",
        "--tmpfs",
        "/run",
        "busybox",
        "sh",
        "-c",
        "grep ' /run ' /proc/mounts",
    ])
    .assert_ok()
    .assert_stdout_contains("tmpfs /run tmpfs");
    // --read-only: the rootfs refuses writes, a tmpfs and a volume still take them.
    md.md(&["run", "--rm", "--read-only", "busybox", "touch", "/x"])
        .assert_fail()
        .assert_stderr_contains("Read-only file system");
    md.md(&[
        "run",
        "--rm",
        "--read-only",
        "--tmpfs",
        "/run",
        "--mount",
        &m,
        "busybox",
        "sh",
        "-c",
        "touch /run/x && echo more >> /m/f && cat /m/f",
    ])
    .assert_ok()
    .assert_stdout_is("m\nmore");
    md.md(&["volume", "rm", &vol]).assert_ok();
    assert!(md.mounts_under_root().is_empty());
}

#[test]
fn cp_both_ways_keeps_modes_and_works_on_stopped_containers() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    run_d(
        &md,
        &[
            "--name", "box", "busybox", "sh", "-c",
            &format!("mkdir -p /data/sub && echo inside > /data/sub/f && chmod 640 /data/sub/f && chown 1000:1000 /data/sub/f; {IDLE}"),
        ],
    );
    crate::lifecycle::wait_until(10, "the file exists", || {
        md.md(&["exec", "box", "test", "-f", "/data/sub/f"]).code == 0
    });
    // Out of a running container: a file, and a directory.
    let out = md.path("out");
    fs::create_dir(&out).unwrap();
    md.md(&["cp", "box:/data/sub/f", out.to_str().unwrap()])
        .assert_ok();
    let f = out.join("f");
    assert_eq!(fs::read_to_string(&f).unwrap(), "inside\n");
    let meta = fs::metadata(&f).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o640);
    assert_eq!((meta.uid(), meta.gid()), (1000, 1000));
    md.md(&["cp", "box:/data", out.join("tree").to_str().unwrap()])
        .assert_ok();
    assert_eq!(
        fs::read_to_string(out.join("tree/sub/f")).unwrap(),
        "inside\n"
    );

    // Into a stopped container, then seen when it runs again.
    md.md(&["stop", "box"]).assert_ok();
    let src = md.path("in.txt");
    fs::write(&src, "from host\n").unwrap();
    fs::set_permissions(&src, fs::Permissions::from_mode(0o600)).unwrap();
    md.md(&["cp", src.to_str().unwrap(), "box:/tmp/"])
        .assert_ok();
    md.md(&["cp", "box:/data/sub/f", out.join("again").to_str().unwrap()])
        .assert_ok();
    assert_eq!(fs::read_to_string(out.join("again")).unwrap(), "inside\n");
    md.md(&["start", "box"]).assert_ok();
    md.md(&[
        "exec",
        "box",
        "sh",
        "-c",
        "cat /tmp/in.txt; stat -c %a /tmp/in.txt",
    ])
    .assert_ok()
    .assert_stdout_is("from host\n600");

    md.md(&["cp", "box:/nonexistent", out.to_str().unwrap()])
        .assert_fail()
        .assert_one_line_error();
    md.md(&["cp", src.to_str().unwrap(), "nosuch:/tmp/"])
        .assert_fail()
        .assert_one_line_error();
    md.md(&["rm", "-f", "box"]).assert_ok();
    assert!(md.mounts_under_root().is_empty());
}

#[test]
fn cp_through_a_symlink_in_the_container_stays_in_the_container() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    md.md(&[
        "run",
        "--name",
        "trap",
        "busybox",
        "sh",
        "-c",
        "ln -s /etc /evil && ln -s / /up",
    ])
    .assert_ok();
    let name = unique_name("mdcp-");
    let payload = md.path("payload");
    fs::write(&payload, "payload\n").unwrap();
    for dst in [
        format!("trap:/evil/{name}"),
        format!("trap:/up/etc/{name}2"),
    ] {
        md.md(&["cp", payload.to_str().unwrap(), &dst]).assert_ok();
    }
    assert!(
        !std::path::Path::new(&format!("/etc/{name}")).exists()
            && !std::path::Path::new(&format!("/etc/{name}2")).exists(),
        "cp wrote into the host's /etc"
    );
    // It went into the container's /etc.
    let back = md.path("back");
    md.md(&["cp", &format!("trap:/etc/{name}"), back.to_str().unwrap()])
        .assert_ok();
    assert_eq!(fs::read_to_string(&back).unwrap(), "payload\n");
    // Reading through the symlink gives the container's file, not the host's.
    let pw = md.path("passwd");
    md.md(&["cp", "trap:/evil/passwd", pw.to_str().unwrap()])
        .assert_ok();
    let theirs = fs::read_to_string(&pw).unwrap();
    assert!(
        theirs.contains("app:x:1000"),
        "not the container's passwd: {theirs}"
    );
    assert_ne!(theirs, fs::read_to_string("/etc/passwd").unwrap());
    md.md(&["rm", "trap"]).assert_ok();
}
