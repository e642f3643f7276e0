//! Test harness: a private "host" network namespace per test, fake containers, and `ip`/`nft` as oracles.
//!
//! Each test thread first unshares its own network namespace ([`TestHost`]) and plays the host there: bridges,
//! veths, nft tables and sysctls all live in it, so tests run in parallel, never touch the real host's network,
//! and everything they made disappears with the namespace even if a test panics. Traffic only goes to 127.0.0.1
//! and to namespaces the test made. A "container" is `unshare -n sleep` ([`Container`]); commands run in it with
//! `nsenter -t PID -n`. The library is only checked through independent tools (`ip -j`, `nft -j`).
#![allow(dead_code)]

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use mydocker_network::{Networks, Nftables};
use nix::sched::{setns, unshare, CloneFlags};
use rand::Rng;

/// Skips the test (returns early) unless running as root.
#[macro_export]
macro_rules! require_root {
    () => {
        if !nix::unistd::Uid::effective().is_root() {
            eprintln!("skipped: needs root");
            return;
        }
    };
}

/// A private network namespace for the calling thread, plus a state root and a `Networks` on it.
pub struct TestHost {
    original: File,
    pub root: tempfile::TempDir,
    pub nets: Networks,
    pub table: String,
}

impl TestHost {
    pub fn new() -> TestHost {
        let original = File::open("/proc/thread-self/ns/net").unwrap();
        unshare(CloneFlags::CLONE_NEWNET).expect("unshare netns");
        sh(&["ip", "link", "set", "lo", "up"]);
        let root = tempfile::tempdir().unwrap();
        let table = format!("mydocker_t{}", suffix());
        let nets = Networks::open_with(root.path(), Box::new(Nftables::new(&table))).unwrap();
        TestHost {
            original,
            root,
            nets,
            table,
        }
    }

    /// Another `Networks` on the same root (as a second `mydocker` process would open it).
    pub fn reopen(&self) -> Networks {
        Networks::open_with(self.root.path(), Box::new(Nftables::new(&self.table))).unwrap()
    }

    /// `nft -j list table ip <ours>` as text; empty when the table does not exist.
    pub fn nft_json(&self) -> String {
        let out = run(&["nft", "-j", "list", "table", "ip", &self.table]);
        if out.status.success() {
            String::from_utf8_lossy(&out.stdout).into_owned()
        } else {
            String::new()
        }
    }

    /// `nft list table ip <ours>` as text; empty when the table does not exist.
    pub fn nft_text(&self) -> String {
        let out = run(&["nft", "list", "table", "ip", &self.table]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        let _ = setns(&self.original, CloneFlags::CLONE_NEWNET);
    }
}

pub fn suffix() -> String {
    format!("{:06x}", rand::thread_rng().gen::<u32>() & 0xff_ffff)
}

/// A random /28 in 10.0.0.0/8 (private to the test's namespace anyway).
pub fn random_subnet(prefix: u8) -> String {
    let mut r = rand::thread_rng();
    let size = 1u32 << (32 - u32::from(prefix));
    let base = u32::from(Ipv4Addr::new(10, r.gen(), r.gen(), 0))
        + (r.gen::<u32>() % (256 / size.min(256))) * size;
    format!("{}/{prefix}", Ipv4Addr::from(base))
}

pub fn run(args: &[&str]) -> Output {
    Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {args:?}: {e}"))
}

/// Runs a command that must succeed; returns stdout.
pub fn sh(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ip -j link` in the test host: names of all links.
pub fn host_links() -> Vec<serde_json::Value> {
    serde_json::from_str(&sh(&["ip", "-j", "link"])).unwrap()
}

pub fn host_link_names() -> Vec<String> {
    host_links()
        .iter()
        .filter_map(|l| l["ifname"].as_str().map(str::to_string))
        .collect()
}

/// A fake container: a `sleep` in its own network namespace.
pub struct Container {
    pub child: Child,
    pub background: Vec<Child>,
}

impl Container {
    pub fn new() -> Container {
        let me = std::fs::read_link("/proc/thread-self/ns/net").unwrap();
        let child = Command::new("unshare")
            .args(["-n", "sleep", "600"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let c = Container {
            child,
            background: vec![],
        };
        // Wait until unshare(1) has switched namespaces and exec'd sleep.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let ns = std::fs::read_link(c.netns()).unwrap();
            let comm =
                std::fs::read_to_string(format!("/proc/{}/comm", c.pid())).unwrap_or_default();
            if ns != me && comm.trim() == "sleep" {
                break;
            }
            assert!(Instant::now() < deadline, "container netns never appeared");
            std::thread::sleep(Duration::from_millis(5));
        }
        c
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn netns(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/ns/net", self.pid()))
    }

    fn nsenter_args(&self, args: &[&str]) -> Vec<String> {
        let mut v = vec![
            "nsenter".to_string(),
            "-t".into(),
            self.pid().to_string(),
            "-n".into(),
        ];
        v.extend(args.iter().map(|s| s.to_string()));
        v
    }

    /// Runs a command in the container's netns.
    pub fn exec(&self, args: &[&str]) -> Output {
        let v = self.nsenter_args(args);
        let refs: Vec<&str> = v.iter().map(String::as_str).collect();
        run(&refs)
    }

    /// Starts a long-running command in the container's netns; killed on drop.
    pub fn spawn(&mut self, args: &[&str]) {
        let v = self.nsenter_args(args);
        let child = Command::new(&v[0])
            .args(&v[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.background.push(child);
    }

    pub fn ping(&self, ip: &str) -> bool {
        self.exec(&["busybox", "ping", "-c1", "-W1", ip])
            .status
            .success()
    }

    /// `ip -j addr` inside.
    pub fn addrs(&self) -> Vec<serde_json::Value> {
        let out = self.exec(&["ip", "-j", "addr"]);
        serde_json::from_slice(&out.stdout).unwrap()
    }

    pub fn kill(&mut self) {
        for c in self
            .background
            .iter_mut()
            .chain(std::iter::once(&mut self.child))
        {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts busybox httpd on port 80 in `c`, serving `body`; waits until it answers on `ip:80`.
pub fn serve_http(c: &mut Container, ip: Ipv4Addr, body: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), body).unwrap();
    c.spawn(&[
        "busybox",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        dir.path().to_str().unwrap(),
    ]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while http_get(SocketAddr::from((ip, 80))).is_none() {
        assert!(
            Instant::now() < deadline,
            "httpd in container never answered on {ip}:80"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    dir
}

/// A tiny HTTP GET; returns the body, or None on any failure (1 s timeouts).
pub fn http_get(addr: SocketAddr) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    buf.split_once("\r\n\r\n").map(|(_, b)| b.to_string())
}
