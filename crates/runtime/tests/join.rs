//! `docker exec` against a real container (run as root): a busybox container running
//! `sleep 30` with its own pid, ipc, uts and mount namespaces; commands exec'd into it must
//! see what its init sees, and nothing may be left behind.
//!
//! Everything runs in one test function, on purpose: `exec` enters the container's pid
//! namespace for the calling thread's children, and cloning from a process whose other
//! threads run tests could deadlock the child. One test keeps the harness's other thread idle.

use mydocker_runtime::join::{exec, ExecProcess, ExecRequest};
use mydocker_runtime::{Container, CreateOptions, ExecFailure, RuntimeError, Spec, Stdio};
use oci_spec::runtime::Process;
use serde_json::json;
use std::fs;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

const PATH: &str = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
const HOSTNAME: &str = "join-test";

/// A busybox rootfs in `<bundle>/rootfs`: /bin/busybox (static) and one symlink per applet.
fn busybox_rootfs(bundle: &Path) -> PathBuf {
    let root = bundle.join("rootfs");
    for d in [
        "bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "tmp", "root", "run",
    ] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    fs::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
    let out = Command::new("/bin/busybox")
        .arg("--list-full")
        .output()
        .unwrap();
    for applet in String::from_utf8(out.stdout).unwrap().lines() {
        if applet != "bin/busybox" {
            let _ = symlink("/bin/busybox", root.join(applet));
        }
    }
    fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    fs::write(root.join("etc/group"), "root:x:0:\n").unwrap();
    root
}

fn container_spec(cgroups_path: &str) -> Spec {
    serde_json::from_value(json!({
        "ociVersion": "1.0.2",
        "root": {"path": "rootfs"},
        "hostname": HOSTNAME,
        "process": {
            "user": {"uid": 0, "gid": 0},
            "args": ["sleep", "30"],
            "env": [PATH],
            "cwd": "/"
        },
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]}
        ],
        "linux": {
            "cgroupsPath": cgroups_path,
            "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]
        }
    }))
    .unwrap()
}

fn process(args: &[&str], extra: serde_json::Value) -> Process {
    let mut p = json!({
        "user": {"uid": 0, "gid": 0}, "args": args, "env": [PATH], "cwd": "/"
    });
    if let (Some(p), Some(extra)) = (p.as_object_mut(), extra.as_object()) {
        p.extend(extra.clone());
    }
    serde_json::from_value(p).unwrap()
}

/// The container and everything made for it. On drop (a failed assertion included) the
/// container is destroyed and the shared `/mydocker-test` cgroup parents removed if empty.
struct Fixture {
    bundle: tempfile::TempDir,
    spec: Spec,
    cgroups_path: String,
    container: Option<Container>,
}

impl Fixture {
    fn start() -> Fixture {
        let bundle = tempfile::tempdir().unwrap();
        busybox_rootfs(bundle.path());
        let id = bundle
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace('.', "");
        let cgroups_path = format!("/mydocker-test/{id}");
        let spec = container_spec(&cgroups_path);
        let mut container =
            mydocker_runtime::create(&id, &spec, bundle.path(), CreateOptions::default())
                .expect("create the container");
        container.start().expect("start the container");
        Fixture {
            bundle,
            spec,
            cgroups_path,
            container: Some(container),
        }
    }

    fn container(&self) -> &Container {
        self.container.as_ref().unwrap()
    }

    fn request<'a>(&'a self, process: &'a Process, stdio: Stdio) -> ExecRequest<'a> {
        ExecRequest {
            init_pid: self.container().pid().as_raw(),
            namespaces: self
                .spec
                .linux()
                .as_ref()
                .unwrap()
                .namespaces()
                .as_deref()
                .unwrap(),
            cgroups_path: &self.cgroups_path,
            process,
            stdio,
            seccomp: None,
        }
    }

    /// Execs `args` with stdout and stderr on a pipe; returns (exit code, output, host pid).
    fn run(&self, process: &Process) -> (i32, String, ExecProcess) {
        let (read, write) = nix::unistd::pipe().unwrap();
        let stdio = Stdio {
            stdin: None,
            stdout: Some(write.as_raw_fd()),
            stderr: Some(write.as_raw_fd()),
        };
        let mut p = exec(&self.request(process, stdio)).expect("exec");
        drop(write);
        let mut out = String::new();
        fs::File::from(read).read_to_string(&mut out).unwrap();
        (p.wait().unwrap(), out, p)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(c) = self.container.take() {
            let _ = c.destroy();
        }
        for hierarchy in fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten()
        {
            let _ = fs::remove_dir(hierarchy.path().join("mydocker-test"));
        }
        let _ = fs::remove_dir("/sys/fs/cgroup/mydocker-test");
    }
}

/// Reads the pty master until the slave side is gone (EIO).
fn read_pty(master: OwnedFd) -> String {
    let mut f = fs::File::from(master);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn sections(out: &str) -> Vec<Vec<&str>> {
    out.split("---\n").map(|s| s.lines().collect()).collect()
}

#[test]
fn exec_joins_a_running_container() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: exec into a container needs root");
        return;
    }
    let fx = Fixture::start();
    let init_pid = fx.container().pid().as_raw();

    // The container's view: pid namespace, hostname, cgroup, rootfs, processes.
    let script = "echo $$; echo ---; hostname; echo ---; cat /proc/self/cgroup; echo ---; \
                  ls /; echo ---; ps";
    let (code, out, p) = fx.run(&process(&["sh", "-c", script], json!({})));
    assert_eq!(code, 0, "output:\n{out}");
    let s = sections(&out);
    assert_eq!(s.len(), 5, "output:\n{out}");

    let pid_inside: i32 = s[0][0].parse().unwrap();
    assert!(
        pid_inside > 1 && pid_inside < 100,
        "pid inside: {pid_inside}"
    );
    assert_ne!(
        pid_inside,
        p.pid.as_raw(),
        "the pid is the container's, not the host's"
    );

    assert_eq!(s[1], [HOSTNAME]);

    let init_cgroup = fs::read_to_string(format!("/proc/{init_pid}/cgroup")).unwrap();
    assert_eq!(s[2], init_cgroup.lines().collect::<Vec<_>>());

    let mut expected: Vec<String> = fs::read_dir(fx.bundle.path().join("rootfs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    expected.sort();
    assert_eq!(s[3], expected);

    let pid1 = s[4]
        .iter()
        .find(|l| l.split_whitespace().next() == Some("1"))
        .unwrap_or_else(|| panic!("no PID 1 in ps:\n{out}"));
    assert!(pid1.ends_with("sleep 30"), "PID 1 is {pid1}");

    // The exec'd process is in the container's cgroup while it runs.
    let (read, write) = nix::unistd::pipe().unwrap();
    let sleeper = process(&["sleep", "30"], json!({}));
    let stdio = Stdio {
        stdout: Some(write.as_raw_fd()),
        ..Stdio::default()
    };
    let mut p = exec(&fx.request(&sleeper, stdio)).expect("exec sleep");
    drop((read, write));
    let pids = fx.container().cgroup().pids().unwrap();
    assert!(pids.contains(&p.pid.as_raw()), "{pids:?} lacks {}", p.pid);
    assert_eq!(p.try_wait().unwrap(), None);
    p.kill(mydocker_runtime::Signal::SIGKILL).unwrap();
    assert_eq!(p.wait().unwrap(), 137);

    // The user, working directory and environment of the process are applied.
    let as_nobody = process(
        &["sh", "-c", "id -u; id -g; pwd; echo $GREETING"],
        json!({"user": {"uid": 65534, "gid": 65534}, "cwd": "/tmp",
               "env": [PATH, "GREETING=hello"]}),
    );
    let (code, out, _) = fx.run(&as_nobody);
    assert_eq!((code, out.as_str()), (0, "65534\n65534\n/tmp\nhello\n"));

    // A terminal comes from the container's devpts and is sent back.
    let tty = process(&["tty"], json!({"terminal": true}));
    let mut p = exec(&fx.request(&tty, Stdio::default())).expect("exec tty");
    let master = p.pty_master.take().expect("a pty master");
    let out = read_pty(master);
    assert_eq!(p.wait().unwrap(), 0, "output: {out}");
    assert!(out.trim().starts_with("/dev/pts/"), "tty printed {out:?}");

    // Failures come back from the child, as errors, and nothing runs.
    let err =
        exec(&fx.request(&process(&["no-such-command"], json!({})), Stdio::default())).unwrap_err();
    assert!(
        matches!(
            err,
            RuntimeError::Exec {
                kind: ExecFailure::NotFound,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err
        .to_string()
        .contains("executable file not found in $PATH"));
    let err = exec(&fx.request(
        &process(&["true"], json!({"cwd": "/no/such/dir"})),
        Stdio::default(),
    ))
    .unwrap_err();
    assert!(err.to_string().contains("chdir to /no/such/dir"), "{err}");
    let pids = fx.container().cgroup().pids().unwrap();
    assert_eq!(pids, [init_pid], "failed children are reaped");

    // Cleanup: no cgroup, no mount left behind.
    let mut fx = fx;
    let cgroup_dir = fx.container().cgroup().path().to_path_buf();
    fx.container.take().unwrap().destroy().unwrap();
    assert!(!cgroup_dir.exists(), "{} left behind", cgroup_dir.display());
    let bundle = fx.bundle.path().to_path_buf();
    drop(fx);
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mountinfo.contains(bundle.to_str().unwrap()), "{mountinfo}");
    assert!(!bundle.exists());
    let parents: Vec<PathBuf> = fs::read_dir("/sys/fs/cgroup")
        .unwrap()
        .flatten()
        .map(|h| h.path().join("mydocker-test"))
        .filter(|p| p.exists())
        .collect();
    assert!(parents.is_empty(), "left behind: {parents:?}");
}
