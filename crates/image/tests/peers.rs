//! Round trips with real peers (see /work/shared/peers.md): umoci and skopeo make the archives,
//! podman, skopeo and dockerd read what the store saves. A missing tool fails the test; it is
//! never skipped. Runs as root (mknod, trusted xattrs, podman and dockerd storage).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mydocker_image::{ImageStore, NoProgress, SaveFormat};
use sha2::{Digest, Sha256};

/// Runs a command, failing loudly (with its stderr) when it cannot run or fails.
fn run(program: &str, args: &[&str], dir: &Path) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("CONTAINERS_CONF", dir.join("containers.conf"))
        .output()
        .unwrap_or_else(|e| panic!("{program} is required for this test and could not run: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The exact stdout of a command (no trimming: it is hashed).
fn raw_output(program: &str, args: &[&str], dir: &Path) -> Vec<u8> {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} is required for this test and could not run: {e}"));
    assert!(out.status.success(), "{program} {args:?} failed");
    out.stdout
}

/// Busybox rootfs, an umoci OCI layout and skopeo archives from it (peers.md's recipe).
struct Peers {
    dir: tempfile::TempDir,
    /// `sha256:` of the config skopeo reports: the image id every engine must agree on.
    id: String,
}

impl Peers {
    fn build() -> Peers {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(
            d.join("containers.conf"),
            "[containers]\ndefault_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n\
             [engine]\nruntime = \"runc\"\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n",
        )
        .unwrap();
        let r = d.join("rootfs");
        for sub in [
            "bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "tmp", "root",
        ] {
            fs::create_dir_all(r.join(sub)).unwrap();
        }
        fs::copy("/bin/busybox", r.join("bin/busybox")).expect("busybox-static is required");
        run(
            "chroot",
            &[r.to_str().unwrap(), "/bin/busybox", "--install", "-s"],
            d,
        );
        fs::write(r.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
        fs::write(r.join("etc/group"), "root:x:0:\n").unwrap();
        run("umoci", &["init", "--layout", "oci"], d);
        run("umoci", &["new", "--image", "oci:latest"], d);
        run(
            "umoci",
            &["insert", "--image", "oci:latest", "rootfs", "/"],
            d,
        );
        run(
            "umoci",
            &[
                "config",
                "--image",
                "oci:latest",
                "--config.cmd=/bin/sh",
                "--config.env=PATH=/bin",
            ],
            d,
        );
        let name = "docker.io/library/busybox:latest";
        run(
            "skopeo",
            &[
                "copy",
                "oci:oci:latest",
                &format!("docker-archive:docker.tar:{name}"),
            ],
            d,
        );
        run(
            "skopeo",
            &[
                "copy",
                "oci:oci:latest",
                &format!("oci-archive:oci.tar:{name}"),
            ],
            d,
        );
        run(
            "skopeo",
            &[
                "copy",
                "--dest-compress-format",
                "zstd",
                "oci:oci:latest",
                "oci:zstd:latest",
            ],
            d,
        );
        // The image id is the config digest the manifest names.
        let manifest = run("skopeo", &["inspect", "--raw", "oci:oci:latest"], d);
        let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
        let id = manifest["config"]["digest"].as_str().unwrap().to_owned();
        Peers { dir, id }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn podman(&self, args: &[&str]) -> String {
        let root = self.path("podman-root");
        let runroot = self.path("podman-run");
        let mut all = vec![
            "--root",
            root.to_str().unwrap(),
            "--runroot",
            runroot.to_str().unwrap(),
        ];
        all.extend_from_slice(args);
        run("podman", &all, self.dir.path())
    }
}

#[test]
fn skopeo_archives_load_and_saves_load_in_podman_and_skopeo() {
    let peers = Peers::build();
    let store = ImageStore::open(&peers.path("store")).unwrap();
    for archive in ["docker.tar", "oci.tar", "zstd"] {
        let loaded = store.load_path(&peers.path(archive), &NoProgress).unwrap();
        assert_eq!(loaded[0].id, peers.id, "{archive}");
    }
    assert_eq!(store.lookup("busybox").unwrap().id, peers.id);
    // One layer, stored once although it came three times (gzip, uncompressed, zstd).
    assert_eq!(fs::read_dir(peers.path("store/layers")).unwrap().count(), 1);
    let diff_ids = store.inspect("busybox").unwrap()["RootFS"]["Layers"].clone();

    for (format, file, transport) in [
        (
            SaveFormat::DockerArchive,
            "saved-docker.tar",
            "docker-archive",
        ),
        (SaveFormat::OciArchive, "saved-oci.tar", "oci-archive"),
    ] {
        let mut out = fs::File::create(peers.path(file)).unwrap();
        store
            .save(&["busybox".to_owned()], format, &mut out, &NoProgress)
            .unwrap();
        drop(out);
        // skopeo reads it back with the same config digest.
        let config = raw_output(
            "skopeo",
            &[
                "inspect",
                "--config",
                "--raw",
                &format!("{transport}:{file}"),
            ],
            peers.dir.path(),
        );
        assert_eq!(
            format!("sha256:{}", hex::encode(Sha256::digest(&config))),
            peers.id
        );
        // podman loads it with the same image id and layers.
        let loaded = peers.podman(&["load", "-i", peers.path(file).to_str().unwrap()]);
        assert!(loaded.contains("busybox"), "{loaded}");
        let id = peers.podman(&["image", "inspect", "--format", "{{.Id}}", "busybox:latest"]);
        assert_eq!(format!("sha256:{id}"), peers.id, "{transport}");
        let layers = peers.podman(&[
            "image",
            "inspect",
            "--format",
            "{{json .RootFS.Layers}}",
            "busybox:latest",
        ]);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&layers).unwrap(),
            diff_ids
        );
        peers.podman(&["rmi", "-a", "-f"]);
    }
}

/// dockerd on private sockets and directories, without touching the host network.
struct Dockerd {
    child: Child,
    socket: String,
}

impl Dockerd {
    fn start(dir: &Path) -> Dockerd {
        let socket = format!("unix://{}", dir.join("docker.sock").display());
        let log = fs::File::create(dir.join("dockerd.log")).unwrap();
        let child = Command::new("dockerd")
            .args(["--data-root", dir.join("data").to_str().unwrap()])
            .args(["--exec-root", dir.join("exec").to_str().unwrap()])
            .args(["--pidfile", dir.join("dockerd.pid").to_str().unwrap()])
            .args([
                "-H",
                &socket,
                "--bridge=none",
                "--iptables=false",
                "--ip6tables=false",
            ])
            .args(["--storage-driver=overlay2"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("dockerd (package docker.io) is required for this test");
        let dockerd = Dockerd { child, socket };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ok = Command::new("docker")
                .args(["-H", &dockerd.socket, "version"])
                .output()
                .is_ok_and(|o| o.status.success());
            if ok {
                return dockerd;
            }
            assert!(
                Instant::now() < deadline,
                "dockerd did not come up: {}",
                fs::read_to_string(dir.join("dockerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn docker(&self, dir: &Path, args: &[&str]) -> String {
        let mut all = vec!["-H", self.socket.as_str()];
        all.extend_from_slice(args);
        run("docker", &all, dir)
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        // SIGTERM lets dockerd stop its containerd too; then reap it.
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn docker_load_and_docker_save_round_trip() {
    let peers = Peers::build();
    let store = ImageStore::open(&peers.path("store")).unwrap();
    store
        .load_path(&peers.path("oci.tar"), &NoProgress)
        .unwrap();
    let mut out = fs::File::create(peers.path("saved.tar")).unwrap();
    store
        .save(
            &["busybox".to_owned()],
            SaveFormat::DockerArchive,
            &mut out,
            &NoProgress,
        )
        .unwrap();
    drop(out);

    let docker_dir = peers.path("docker");
    fs::create_dir(&docker_dir).unwrap();
    let dockerd = Dockerd::start(&docker_dir);
    let d = peers.dir.path();
    let loaded = dockerd.docker(
        d,
        &["load", "-i", peers.path("saved.tar").to_str().unwrap()],
    );
    assert!(loaded.contains("busybox:latest"), "{loaded}");
    let id = dockerd.docker(
        d,
        &["image", "inspect", "--format", "{{.Id}}", "busybox:latest"],
    );
    assert_eq!(id, peers.id);

    // docker save (its own layout: <id>/layer.tar, <id>.json) back into a fresh store.
    dockerd.docker(d, &["tag", "busybox:latest", "again:1"]);
    dockerd.docker(
        d,
        &[
            "save",
            "-o",
            peers.path("from-docker.tar").to_str().unwrap(),
            "again:1",
        ],
    );
    drop(dockerd);
    let fresh = ImageStore::open(&peers.path("fresh")).unwrap();
    let loaded = fresh
        .load_path(&peers.path("from-docker.tar"), &NoProgress)
        .unwrap();
    assert_eq!(loaded[0].id, peers.id);
    assert_eq!(loaded[0].tags, ["again:1"]);
}
