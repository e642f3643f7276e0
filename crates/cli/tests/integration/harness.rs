//! The test harness: every test gets its own `--root` (a temp dir named `mdtest-*`), runs
//! the real `mydocker` binary in it, and on drop asserts that mydocker left nothing behind
//! (no mount under the root, no container directory, no name, no cgroup of a container it
//! saw). Commands have a timeout, so a hung `mydocker` fails its test instead of the suite.
//!
//! Tests that compare host-wide state (the whole mount table, every `mydocker/` cgroup)
//! use [`Md::exclusive`], which waits until no other test holds a root; all others share.

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_mydocker");

/// How long one command may take before it is killed and the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// The prefix of every test root, so host-wide checks can ignore other tests' mounts.
pub const ROOT_PREFIX: &str = "mdtest-";

static HOST_STATE: RwLock<()> = RwLock::new(());

enum Guard {
    Shared(#[allow(dead_code)] RwLockReadGuard<'static, ()>),
    Exclusive(#[allow(dead_code)] RwLockWriteGuard<'static, ()>),
    /// Covered by another [`Md`]'s guard (see [`Md::another_root`]).
    Nested,
}

/// What one command did.
pub struct Out {
    pub cmd: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl fmt::Display for Out {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "command: {}\nexit code: {}\n--- stdout ---\n{}\n--- stderr ---\n{}\n--------------",
            self.cmd, self.code, self.stdout, self.stderr
        )
    }
}

impl Out {
    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        self.assert_exit(0)
    }

    #[track_caller]
    pub fn assert_exit(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "unexpected exit code\n{self}");
        self
    }

    #[track_caller]
    pub fn assert_fail(&self) -> &Self {
        assert_ne!(self.code, 0, "expected a failure\n{self}");
        self
    }

    #[track_caller]
    pub fn assert_stdout_is(&self, want: &str) -> &Self {
        assert_eq!(self.stdout.trim_end(), want, "unexpected stdout\n{self}");
        self
    }

    #[track_caller]
    pub fn assert_stdout_contains(&self, want: &str) -> &Self {
        assert!(self.stdout.contains(want), "stdout lacks {want:?}\n{self}");
        self
    }

    #[track_caller]
    pub fn assert_stderr_contains(&self, want: &str) -> &Self {
        assert!(self.stderr.contains(want), "stderr lacks {want:?}\n{self}");
        self
    }

    /// The error is exactly one non-empty line on stderr.
    #[track_caller]
    pub fn assert_one_line_error(&self) -> &Self {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert!(
            lines.len() == 1 && !lines[0].trim().is_empty(),
            "expected exactly one line on stderr, got {}\n{self}",
            lines.len()
        );
        self
    }

    pub fn out(&self) -> &str {
        self.stdout.trim()
    }
}

/// One test's mydocker: a private root, the commands run in it, and the leak check.
pub struct Md {
    dir: Option<TempDir>,
    root: PathBuf,
    /// Container ids this test learned (cidfiles, container dirs); their cgroups must go.
    ids: std::cell::RefCell<BTreeSet<String>>,
    _guard: Guard,
}

fn lock_shared() -> Guard {
    Guard::Shared(HOST_STATE.read().unwrap_or_else(|e| e.into_inner()))
}

fn lock_exclusive() -> Guard {
    Guard::Exclusive(HOST_STATE.write().unwrap_or_else(|e| e.into_inner()))
}

impl Md {
    /// A fresh root shared with other running tests.
    pub fn new() -> Md {
        Md::with_guard(lock_shared())
    }

    /// A fresh root while no other test runs a container: host-wide state is ours to compare.
    pub fn exclusive() -> Md {
        Md::with_guard(lock_exclusive())
    }

    fn with_guard(guard: Guard) -> Md {
        assert!(is_root(), "the integration tests must run as root");
        let dir = tempfile::Builder::new()
            .prefix(ROOT_PREFIX)
            .tempdir_in(std::env::temp_dir())
            .expect("create a temp root");
        let root = dir.path().to_path_buf();
        Md {
            dir: Some(dir),
            root,
            ids: Default::default(),
            _guard: guard,
        }
    }

    /// A second fresh root under this one's guard, for tests that need two roots at once
    /// (save in one, load in the other). Taking a second shared guard instead could
    /// deadlock: a waiting exclusive test blocks new readers while this one holds its own.
    /// Drop it before `self`.
    pub fn another_root(&self) -> Md {
        Md::with_guard(Guard::Nested)
    }

    /// The same, with the busybox test image imported as `busybox`.
    pub fn with_busybox() -> Md {
        let md = Md::new();
        md.import_busybox();
        md
    }

    pub fn exclusive_with_busybox() -> Md {
        let md = Md::exclusive();
        md.import_busybox();
        md
    }

    pub fn import_busybox(&self) {
        let tar = busybox_tar();
        self.md(&["import", tar.to_str().unwrap(), "busybox"])
            .assert_ok();
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A path inside this test's temp dir (for cidfiles and the like), outside the root's
    /// own subdirectories.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// A fresh cidfile path (mydocker refuses to overwrite an existing one, like Docker).
    pub fn cidfile(&self) -> PathBuf {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.path(&format!("cid-{n}"))
    }

    /// The 64-hex id written into `cidfile`; remembered for the leak check.
    #[track_caller]
    pub fn read_cid(&self, cidfile: &Path) -> String {
        let id = fs::read_to_string(cidfile)
            .unwrap_or_else(|e| panic!("read cidfile {}: {e}", cidfile.display()))
            .trim()
            .to_string();
        assert!(is_full_id(&id), "cidfile holds {id:?}, not a 64-hex id");
        self.ids.borrow_mut().insert(id.clone());
        id
    }

    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.root.join("containers").join(id)
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.arg("--root").arg(&self.root).args(args);
        cmd.env_remove("MYDOCKER_ROOT")
            .env_remove("MYDOCKER_EXEC_ROOT")
            .env_remove("MYDOCKER_LOG_LEVEL")
            // Containers without --network get no network, so tests that are not about
            // networking make no bridge; networking tests name their network, or pass
            // `--bridge bridge` to use the default one.
            .env("MYDOCKER_BRIDGE", "none");
        cmd
    }

    /// `mydocker --root <root> ARGS...` with empty stdin.
    pub fn md(&self, args: &[&str]) -> Out {
        let cmd = self.command(args);
        run(cmd, None)
    }

    /// The same with `input` on stdin.
    pub fn md_stdin(&self, args: &[&str], input: &str) -> Out {
        let cmd = self.command(args);
        run(cmd, Some(input.as_bytes()))
    }

    /// `mydocker ARGS` under a pseudo-terminal (`script`), with `input` typed in.
    pub fn md_tty(&self, args: &[&str], input: &str) -> Out {
        let mut line = shell_quote(BIN);
        line.push_str(" --root ");
        line.push_str(&shell_quote(self.root.to_str().unwrap()));
        for a in args {
            line.push(' ');
            line.push_str(&shell_quote(a));
        }
        let mut cmd = Command::new("script");
        // -e: script exits with the child's code; -c: the command; output to /dev/null
        // (the typescript), what we read is script's own stdout.
        cmd.args(["-qec", &line, "/dev/null"]);
        run(cmd, Some(input.as_bytes()))
    }

    /// Starts `mydocker ARGS` in the background; the caller waits with [`Bg::wait`].
    pub fn spawn(&self, args: &[&str]) -> Bg {
        let mut cmd = self.command(args);
        let desc = describe(&cmd);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {desc}: {e}"));
        Bg {
            child: Some(child),
            desc,
        }
    }

    /// Mounts whose line in the host's mountinfo mentions this root.
    pub fn mounts_under_root(&self) -> Vec<String> {
        let root = self.root.to_str().unwrap();
        mountinfo()
            .into_iter()
            .filter(|l| l.contains(root))
            .collect()
    }

    /// Entries of `<root>/<sub>`, or none when it does not exist.
    pub fn entries(&self, sub: &str) -> Vec<String> {
        list_dir(&self.root.join(sub))
    }

    fn leaks(&self) -> Vec<String> {
        let mut leaks = Vec::new();
        for m in self.mounts_under_root() {
            leaks.push(format!("mount left: {m}"));
        }
        let containers = self.entries("containers");
        for c in &containers {
            leaks.push(format!(
                "container dir left: {}/containers/{c}",
                self.root.display()
            ));
        }
        for n in self.entries("names") {
            leaks.push(format!("name left: {}/names/{n}", self.root.display()));
        }
        let mut ids = self.ids.borrow().clone();
        ids.extend(containers.into_iter().filter(|c| is_full_id(c)));
        for id in &ids {
            for cg in cgroup_dirs_of(id) {
                leaks.push(format!("cgroup left: {}", cg.display()));
            }
        }
        leaks
    }

    /// Best effort: free what a failed test left, so one failure does not cascade.
    fn scrub(&self) {
        let mut ids: BTreeSet<String> = self.ids.borrow().clone();
        ids.extend(self.entries("containers"));
        for id in &ids {
            for cg in cgroup_dirs_of(id) {
                if let Ok(procs) = fs::read_to_string(cg.join("cgroup.procs")) {
                    for pid in procs.split_whitespace() {
                        let _ = Command::new("kill").args(["-9", pid]).status();
                    }
                }
            }
        }
        thread::sleep(Duration::from_millis(200));
        let mut mounts: Vec<String> = self
            .mounts_under_root()
            .iter()
            .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
            .collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mounts {
            let _ = Command::new("umount").args(["-l", &m]).status();
        }
        for id in &ids {
            for cg in cgroup_dirs_of(id) {
                let _ = fs::remove_dir(cg);
            }
        }
    }
}

impl Drop for Md {
    fn drop(&mut self) {
        let leaks = self.leaks();
        if !leaks.is_empty() {
            self.scrub();
        }
        // Host-wide network objects named after this root (its default bridge and nft
        // table, and the bridges of networks a failed test left) outlive the temp dir and
        // would use up Docker's default address pools for later tests.
        remove_root_network_objects(&self.root);
        if let Some(dir) = self.dir.take() {
            let path = dir.path().to_path_buf();
            if let Err(e) = dir.close() {
                if !thread::panicking() {
                    panic!("removing the test root {} failed: {e}", path.display());
                }
            }
        }
        if !leaks.is_empty() && !thread::panicking() {
            panic!("mydocker left things behind:\n  {}", leaks.join("\n  "));
        }
    }
}

/// A `mydocker` running in the background.
pub struct Bg {
    child: Option<Child>,
    desc: String,
}

impl Bg {
    pub fn wait(mut self) -> Out {
        let child = self.child.take().unwrap();
        collect(child, &self.desc, None)
    }
}

impl Drop for Bg {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn describe(cmd: &Command) -> String {
    let mut s = shell_quote(&cmd.get_program().to_string_lossy());
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&shell_quote(&a.to_string_lossy()));
    }
    s
}

pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Runs `cmd` to completion (or [`TIMEOUT`]) with `input` on stdin (empty when none).
pub fn run(mut cmd: Command, input: Option<&[u8]>) -> Out {
    let desc = describe(&cmd);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {desc}: {e}"));
    collect(child, &desc, input)
}

fn collect(mut child: Child, desc: &str, input: Option<&[u8]>) -> Out {
    if let Some(mut stdin) = child.stdin.take() {
        let input = input.unwrap_or_default().to_vec();
        // A writer thread: the child may never read, or exit before reading all of it.
        thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t_out = thread::spawn(move || {
        let mut b = Vec::new();
        let _ = so.read_to_end(&mut b);
        b
    });
    let t_err = thread::spawn(move || {
        let mut b = Vec::new();
        let _ = se.read_to_end(&mut b);
        b
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait for mydocker") {
            break st;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("timed out after {TIMEOUT:?} (killed): {desc}");
        }
        thread::sleep(Duration::from_millis(5));
    };
    let stdout = String::from_utf8_lossy(&t_out.join().unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&t_err.join().unwrap()).into_owned();
    let code = match status.code() {
        Some(c) => c,
        None => {
            use std::os::unix::process::ExitStatusExt;
            128 + status.signal().unwrap_or(0)
        }
    };
    Out {
        cmd: desc.to_string(),
        code,
        stdout,
        stderr,
    }
}

/// The busybox rootfs tarball that `scripts/build-test-images` makes.
pub fn images_dir() -> PathBuf {
    match std::env::var_os("MYDOCKER_TEST_IMAGES") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/images"),
    }
}

pub fn busybox_tar() -> PathBuf {
    let tar = images_dir().join("busybox.tar");
    assert!(
        tar.is_file(),
        "{} is missing: run scripts/build-test-images first",
        tar.display()
    );
    tar
}

pub fn is_root() -> bool {
    // The effective uid from /proc: no libc dependency in the tests.
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

pub fn is_full_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

pub fn list_dir(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

/// The host's mount table, one line per mount.
pub fn mountinfo() -> Vec<String> {
    fs::read_to_string("/proc/self/mountinfo")
        .expect("read /proc/self/mountinfo")
        .lines()
        .map(str::to_string)
        .collect()
}

/// The host's mounts as (mount point, fs type, source), ignoring every test root's.
pub fn host_mounts() -> BTreeSet<String> {
    mountinfo()
        .into_iter()
        .filter(|l| !l.contains(ROOT_PREFIX))
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let dash = f.iter().position(|w| *w == "-").unwrap_or(f.len() - 1);
            format!(
                "{} {} {}",
                f.get(4).unwrap_or(&""),
                f.get(dash + 1).unwrap_or(&""),
                f.get(dash + 2).unwrap_or(&"")
            )
        })
        .collect()
}

/// The v1 controller hierarchies under /sys/fs/cgroup (cpu, memory, pids, ...).
pub fn cgroup_hierarchies() -> Vec<PathBuf> {
    list_dir(Path::new("/sys/fs/cgroup"))
        .into_iter()
        .map(|n| Path::new("/sys/fs/cgroup").join(n))
        .filter(|p| p.is_dir() && !p.is_symlink())
        .collect()
}

/// `/sys/fs/cgroup/*/mydocker/<id>` directories that exist.
pub fn cgroup_dirs_of(id: &str) -> Vec<PathBuf> {
    cgroup_hierarchies()
        .into_iter()
        .map(|h| h.join("mydocker").join(id))
        .filter(|p| p.is_dir())
        .collect()
}

/// Every container cgroup directory on the host (`*/mydocker/<64 hex>`).
pub fn all_container_cgroups() -> BTreeSet<PathBuf> {
    cgroup_hierarchies()
        .into_iter()
        .flat_map(|h| {
            let base = h.join("mydocker");
            list_dir(&base)
                .into_iter()
                .filter(|n| is_full_id(n))
                .map(move |n| base.join(n))
        })
        .collect()
}

/// Polls until `path` exists; panics after `secs`.
#[track_caller]
pub fn wait_for_file(path: &Path, secs: u64) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "{} did not appear within {secs}s",
            path.display()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// The first 8 hex digits of sha256(root path): mydocker names the default bridge of a
/// non-default root `md<hash8>` and its nftables table `mydocker_<hash8>`.
pub fn root_hash8(root: &Path) -> String {
    let mut cmd = Command::new("sha256sum");
    cmd.arg("-");
    let out = run(cmd, Some(root.to_str().unwrap().as_bytes()));
    assert_eq!(out.code, 0, "{out}");
    out.stdout[..8].to_string()
}

/// Best effort, after a test: deletes the bridges recorded in `<root>/network/networks`,
/// the root's default bridge and its nft table. Nothing to do when the root made no network.
pub fn remove_root_network_objects(root: &Path) {
    let dir = root.join("network").join("networks");
    let had_networks = root.join("network").exists();
    for f in list_dir(&dir) {
        if let Ok(data) = fs::read(dir.join(&f)) {
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&data) {
                if let Some(br) = v.get("bridge").and_then(|b| b.as_str()) {
                    let _ = Command::new("ip")
                        .args(["link", "del", br])
                        .stderr(Stdio::null())
                        .status();
                }
            }
        }
    }
    if !had_networks {
        return;
    }
    let h = root_hash8(root);
    let _ = Command::new("ip")
        .args(["link", "del", &format!("md{h}")])
        .stderr(Stdio::null())
        .status();
    let _ = Command::new("nft")
        .args(["delete", "table", "ip", &format!("mydocker_{h}")])
        .stderr(Stdio::null())
        .status();
}

/// Random bytes from the kernel (no `rand` dependency in the tests).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .expect("read /dev/urandom");
    b
}

/// A name no other test (or earlier run) uses: `prefix` and 8 random hex digits.
pub fn unique_name(prefix: &str) -> String {
    let b: [u8; 4] = random_bytes();
    format!("{prefix}{:02x}{:02x}{:02x}{:02x}", b[0], b[1], b[2], b[3])
}

/// The host's IPv4 routes' destinations as (network address, prefix length).
fn host_route_nets() -> Vec<(u32, u32)> {
    let out = run(
        {
            let mut c = Command::new("ip");
            c.args(["-4", "route", "show", "table", "all"]);
            c
        },
        None,
    );
    let mut v = Vec::new();
    for line in out.stdout.lines() {
        let mut words = line.split_whitespace();
        let mut dst = words.next().unwrap_or("");
        if matches!(dst, "broadcast" | "local" | "unicast") {
            dst = words.next().unwrap_or("");
        }
        if dst == "default" {
            continue;
        }
        let (addr, len) = dst.split_once('/').unwrap_or((dst, "32"));
        if let (Ok(a), Ok(l)) = (addr.parse::<std::net::Ipv4Addr>(), len.parse::<u32>()) {
            v.push((u32::from(a), l));
        }
    }
    v
}

/// A random `10.x.y.z/prefix` (prefix 16..=30) that no host route overlaps, as
/// (CIDR, the network's first address); unique enough between concurrent tests.
pub fn free_subnet(prefix: u32) -> (String, std::net::Ipv4Addr) {
    assert!((16..=30).contains(&prefix));
    let routes = host_route_nets();
    let mask = |l: u32| if l == 0 { 0 } else { u32::MAX << (32 - l) };
    for _ in 0..1000 {
        let b: [u8; 4] = random_bytes();
        let raw = u32::from_be_bytes([10, b[1], b[2], b[3]]) & mask(prefix);
        // Keep clear of 10.0/16 and 10.255/16, which hosts and VPNs like to use.
        if matches!(b[1], 0 | 255) {
            continue;
        }
        let overlaps = routes.iter().any(|&(r, l)| {
            let m = mask(l.min(prefix));
            (r & m) == (raw & m)
        });
        if !overlaps {
            let a = std::net::Ipv4Addr::from(raw);
            return (format!("{a}/{prefix}"), a);
        }
    }
    panic!("no free 10.x subnet found");
}

/// Removes, when a test panics, every container (with its anonymous volumes), network and
/// volume of the root, so the failure does not leak processes, veths or bridges. A test
/// that passes cleans up itself (that is part of what it proves). Declare it after the
/// [`Md`] so it runs first: `let _tidy = md.tidy();`
pub struct Tidy<'a>(&'a Md);

impl Md {
    pub fn tidy(&self) -> Tidy<'_> {
        Tidy(self)
    }

    /// Best effort: `rm -f -v` every container, `network rm` every user network,
    /// `volume rm -f` every volume.
    pub fn remove_everything(&self) {
        let ids = self.md(&["ps", "-a", "-q", "--no-trunc"]);
        let ids: Vec<&str> = ids.stdout.split_whitespace().collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(ids.iter().copied());
            self.md(&args);
        }
        let nets = self.md(&["network", "ls"]);
        for n in nets
            .stdout
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().nth(1))
        {
            if !matches!(n, "bridge" | "host" | "none") {
                self.md(&["network", "rm", n]);
            }
        }
        let vols = self.md(&["volume", "ls", "-q"]);
        for v in vols.stdout.split_whitespace() {
            self.md(&["volume", "rm", "-f", v]);
        }
    }
}

impl Drop for Tidy<'_> {
    fn drop(&mut self) {
        if thread::panicking() {
            self.0.remove_everything();
        }
    }
}
