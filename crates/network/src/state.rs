//! State files under `<root>/network`, and the lock that serialises every change.
//!
//! Layout:
//! ```text
//! <root>/network/lock                 flock(2) target; held exclusively for every operation
//! <root>/network/networks/<id>.json   one NetworkInfo per network, endpoints (= IP allocations) included
//! ```
//! Files are written atomically: a temp file in the same directory, fsync, rename, fsync of the directory. A
//! crash leaves either the old or the new file, never a torn one. The lock is a `flock` on its own open file
//! description, so it also serialises threads of one process (each [`Store::lock`] opens the file again).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use crate::error::StateError;
use crate::types::NetworkInfo;

type Result<T> = std::result::Result<T, StateError>;

fn io<'a>(step: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> StateError + 'a {
    move |source| StateError::Io {
        step,
        path: path.to_path_buf(),
        source,
    }
}

/// The state directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// Proof that the lock is held; all reads and writes go through it. Dropping it unlocks.
pub struct Locked<'a> {
    store: &'a Store,
    _lock: Flock<File>,
}

impl Store {
    /// Opens (creating) `<root>/network`.
    pub fn open(root: &Path) -> Result<Self> {
        let dir = root.join("network");
        let nets = dir.join("networks");
        fs::create_dir_all(&nets).map_err(io("create dir", &nets))?;
        Ok(Store { dir })
    }

    /// The state directory, `<root>/network`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Takes the exclusive lock, waiting for other holders.
    pub fn lock(&self) -> Result<Locked<'_>> {
        let path = self.dir.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io("open", &path))?;
        let lock =
            Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, errno)| StateError::Io {
                step: "lock",
                path: path.clone(),
                source: errno.into(),
            })?;
        Ok(Locked {
            store: self,
            _lock: lock,
        })
    }

    fn network_path(&self, id: &str) -> PathBuf {
        self.dir.join("networks").join(format!("{id}.json"))
    }
}

impl Locked<'_> {
    /// Every network, sorted by name.
    pub fn load_all(&self) -> Result<Vec<NetworkInfo>> {
        let dir = self.store.dir.join("networks");
        let mut out = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io("read dir", &dir))? {
            let path = entry.map_err(io("read dir", &dir))?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let data = fs::read(&path).map_err(io("read", &path))?;
            let net: NetworkInfo =
                serde_json::from_slice(&data).map_err(|source| StateError::Parse {
                    path: path.clone(),
                    source,
                })?;
            out.push(net);
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Writes one network atomically.
    pub fn save(&self, net: &NetworkInfo) -> Result<()> {
        let path = self.store.network_path(&net.id);
        let data = serde_json::to_vec_pretty(net).map_err(|source| StateError::Parse {
            path: path.clone(),
            source,
        })?;
        write_atomic(&path, &data)
    }

    /// Removes one network's file; a missing file is fine.
    pub fn delete(&self, id: &str) -> Result<()> {
        let path = self.store.network_path(id);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io("remove", &path)(e)),
        }
    }
}

/// temp file + fsync + rename + fsync(dir).
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("state"),
        std::process::id()
    ));
    let result = (|| {
        let mut f = File::create(&tmp).map_err(io("create", &tmp))?;
        f.write_all(data).map_err(io("write", &tmp))?;
        f.sync_all().map_err(io("fsync", &tmp))?;
        fs::rename(&tmp, path).map_err(io("rename", path))?;
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io("fsync", dir))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipam;
    use crate::types::EndpointInfo;
    use std::collections::BTreeSet;

    fn net() -> NetworkInfo {
        let subnet: crate::subnet::Ipv4Net = "10.77.0.0/26".parse().unwrap();
        NetworkInfo {
            id: "ab".repeat(32),
            name: "t".into(),
            driver: "bridge".into(),
            bridge: "br-t".into(),
            subnet,
            gateway: subnet.first_host(),
            internal: false,
            mtu: 1500,
            labels: Default::default(),
            created: 1,
            endpoints: Default::default(),
        }
    }

    fn endpoint(id: &str, ip: std::net::Ipv4Addr) -> EndpointInfo {
        EndpointInfo {
            container_id: id.into(),
            container_name: id.into(),
            aliases: vec![],
            ip,
            mac: ipam::mac_for(ip),
            interface: "eth0".into(),
            host_veth: "v".into(),
            default_route: true,
            ports: vec![],
        }
    }

    #[test]
    fn persists_across_reopen() {
        let root = tempfile::tempdir().unwrap();
        {
            let store = Store::open(root.path()).unwrap();
            let l = store.lock().unwrap();
            let mut n = net();
            let ip = ipam::allocate(&n, None).unwrap();
            n.endpoints.insert("c1".into(), endpoint("c1", ip));
            l.save(&n).unwrap();
        }
        let store = Store::open(root.path()).unwrap();
        let l = store.lock().unwrap();
        let all = l.load_all().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].endpoints["c1"].ip.to_string(), "10.77.0.2");
        assert_eq!(
            ipam::allocate(&all[0], None).unwrap().to_string(),
            "10.77.0.3"
        );
        // No temp files left behind.
        let names: Vec<_> = fs::read_dir(store.dir().join("networks"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        l.delete(&all[0].id).unwrap();
        l.delete(&all[0].id).unwrap();
        assert!(l.load_all().unwrap().is_empty());
    }

    #[test]
    fn concurrent_allocations_never_collide() {
        let root = tempfile::tempdir().unwrap();
        let store = Store::open(root.path()).unwrap();
        store.lock().unwrap().save(&net()).unwrap();
        // 8 threads x 7 allocations = 56 of the 61 addresses of a /26 (gateway excluded).
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for i in 0..7 {
                        let l = store.lock().unwrap();
                        let mut n = l.load_all().unwrap().remove(0);
                        let ip = ipam::allocate(&n, None).unwrap();
                        let id = format!("t{t}-{i}");
                        n.endpoints.insert(id.clone(), endpoint(&id, ip));
                        // Widen the race window: without the lock two threads would read the same file here.
                        std::thread::yield_now();
                        l.save(&n).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let n = store.lock().unwrap().load_all().unwrap().remove(0);
        assert_eq!(n.endpoints.len(), 56);
        let ips: BTreeSet<_> = n.endpoints.values().map(|e| e.ip).collect();
        assert_eq!(ips.len(), 56, "duplicate addresses handed out");
    }

    #[test]
    fn concurrent_allocations_across_processes() {
        // The same with processes: fork children that each allocate under the lock.
        let root = tempfile::tempdir().unwrap();
        let store = Store::open(root.path()).unwrap();
        store.lock().unwrap().save(&net()).unwrap();
        let mut pids = vec![];
        for p in 0..4 {
            // SAFETY: the child only uses the store (files and flock) and then calls _exit; it never returns into
            // the test harness. Other test threads may hold locks, but the child takes none of theirs.
            match unsafe { nix::unistd::fork() }.unwrap() {
                nix::unistd::ForkResult::Child => {
                    let code = std::panic::catch_unwind(|| {
                        for i in 0..10 {
                            let l = store.lock().unwrap();
                            let mut n = l.load_all().unwrap().remove(0);
                            let ip = ipam::allocate(&n, None).unwrap();
                            let id = format!("p{p}-{i}");
                            n.endpoints.insert(id.clone(), endpoint(&id, ip));
                            l.save(&n).unwrap();
                        }
                    })
                    .map_or(1, |_| 0);
                    // SAFETY: _exit is async-signal-safe and skips the parent's atexit handlers.
                    unsafe { libc::_exit(code) };
                }
                nix::unistd::ForkResult::Parent { child } => pids.push(child),
            }
        }
        for pid in pids {
            let st = nix::sys::wait::waitpid(pid, None).unwrap();
            assert_eq!(st, nix::sys::wait::WaitStatus::Exited(pid, 0));
        }
        let n = store.lock().unwrap().load_all().unwrap().remove(0);
        let ips: BTreeSet<_> = n.endpoints.values().map(|e| e.ip).collect();
        assert_eq!((n.endpoints.len(), ips.len()), (40, 40));
    }
}
