//! Volumes: data that lives outside a container's writable layer and outlives it (the
//! book's `-v /host:/ctr`, kept), plus Docker's named and anonymous volumes and tmpfs.
//!
//! ```text
//! <root>/volumes/<name>/_data         the volume's content (what containers see)
//! <root>/volumes/<name>/volume.json   name, creation time, labels, anonymous or not
//! ```
//! A named volume is made on first use and, while still empty, seeded with what the image
//! has at the mount point (Docker does the same). Anonymous volumes (`-v /data`) belong to
//! their container: `rm -v` and `run --rm` remove them.

use crate::error::{io_err, EngineError, Result};
use crate::{fsutil, ids, Engine};
use mydocker_image::timestamp::now_rfc3339;
use oci_spec::runtime::{Mount, MountBuilder};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where a mount's content comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountSource {
    /// A host path (`-v /host:/ctr`, `--mount type=bind`).
    Bind { path: PathBuf },
    /// A volume; `anonymous` ones are named by a random id.
    Volume { name: String, anonymous: bool },
    /// A fresh tmpfs (`--tmpfs /run:size=64m`, `--mount type=tmpfs`).
    Tmpfs { options: Vec<String> },
}

/// One mount a user asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountRequest {
    pub source: MountSource,
    pub target: String,
    pub read_only: bool,
}

fn bad(msg: impl Into<String>) -> EngineError {
    EngineError::InvalidArgument(msg.into())
}

fn check_target(target: &str) -> Result<()> {
    if !target.starts_with('/') {
        return Err(bad(format!(
            "invalid mount config: mount path must be absolute: {target}"
        )));
    }
    if target == "/" {
        return Err(bad("invalid specification: destination can't be '/'"));
    }
    Ok(())
}

/// Parses `-v`: `/host:/ctr[:ro|rw]`, `name:/ctr[:ro]`, or `/ctr` (anonymous volume).
pub fn parse_volume(spec: &str) -> Result<MountRequest> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [target] => (None, *target, ""),
        [source, target] => (Some(*source), *target, ""),
        [source, target, mode] => (Some(*source), *target, *mode),
        _ => return Err(bad(format!("invalid volume specification: '{spec}'"))),
    };
    let read_only = match mode {
        "" | "rw" => false,
        "ro" => true,
        m if m
            .split(',')
            .all(|o| ["ro", "rw", "z", "Z", "rprivate", "private", "rslave"].contains(&o)) =>
        {
            m.split(',').any(|o| o == "ro")
        }
        _ => return Err(bad(format!("invalid mode: {mode}"))),
    };
    check_target(target)?;
    let source = match source {
        None => MountSource::Volume {
            name: ids::new_id(),
            anonymous: true,
        },
        Some(s) if s.starts_with('/') => MountSource::Bind { path: s.into() },
        Some(s) => {
            check_volume_name(s)?;
            MountSource::Volume {
                name: s.to_string(),
                anonymous: false,
            }
        }
    };
    Ok(MountRequest {
        source,
        target: target.to_string(),
        read_only,
    })
}

/// Parses `--mount type=bind|volume|tmpfs,src=...,dst=...,readonly,tmpfs-size=...`.
pub fn parse_mount(spec: &str) -> Result<MountRequest> {
    let mut kind = "volume";
    let mut source = None;
    let mut target = None;
    let mut read_only = false;
    let mut tmpfs = vec!["nosuid".to_string(), "nodev".to_string()];
    for field in spec.split(',') {
        let (k, v) = field.split_once('=').unwrap_or((field, ""));
        match k {
            "type" => kind = v,
            "source" | "src" => source = Some(v.to_string()),
            "destination" | "dst" | "target" => target = Some(v.to_string()),
            "readonly" | "ro" => read_only = v.is_empty() || v == "true" || v == "1",
            "tmpfs-size" => tmpfs.push(format!("size={}", v)),
            "tmpfs-mode" => tmpfs.push(format!("mode={v}")),
            "bind-propagation" | "volume-nocopy" | "consistency" => {}
            _ => return Err(bad(format!("invalid field '{k}' must be a key=value pair"))),
        }
    }
    let target = target.ok_or_else(|| bad("invalid argument for --mount: target is required"))?;
    check_target(&target)?;
    let source = match kind {
        "bind" => {
            let path = source.ok_or_else(|| {
                bad("invalid mount config for type \"bind\": field Source must not be empty")
            })?;
            if !Path::new(&path).exists() {
                return Err(bad(format!(
                    "invalid mount config for type \"bind\": bind source path does not exist: {path}"
                )));
            }
            MountSource::Bind { path: path.into() }
        }
        "volume" => match source {
            Some(name) if !name.is_empty() => {
                check_volume_name(&name)?;
                MountSource::Volume {
                    name,
                    anonymous: false,
                }
            }
            _ => MountSource::Volume {
                name: ids::new_id(),
                anonymous: true,
            },
        },
        "tmpfs" => {
            if source.is_some() {
                return Err(bad(
                    "invalid mount config for type \"tmpfs\": field Source must be empty",
                ));
            }
            MountSource::Tmpfs { options: tmpfs }
        }
        other => return Err(bad(format!("invalid mount type: {other}"))),
    };
    Ok(MountRequest {
        source,
        target,
        read_only,
    })
}

/// Parses `--tmpfs /run[:size=64m,mode=1777]`.
pub fn parse_tmpfs(spec: &str) -> Result<MountRequest> {
    let (target, opts) = spec.split_once(':').unwrap_or((spec, ""));
    check_target(target)?;
    let mut options = vec![
        "nosuid".to_string(),
        "nodev".to_string(),
        "noexec".to_string(),
    ];
    options.extend(opts.split(',').filter(|o| !o.is_empty()).map(String::from));
    Ok(MountRequest {
        source: MountSource::Tmpfs { options },
        target: target.to_string(),
        read_only: false,
    })
}

/// Docker's rule for volume names.
fn check_volume_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(bad(format!(
            "\"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
        )))
    }
}

/// A volume's metadata (`volume.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Volume {
    pub name: String,
    pub created: String,
    #[serde(default)]
    pub anonymous: bool,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl Engine {
    fn volumes_dir(&self) -> PathBuf {
        self.layout.root.join("volumes")
    }

    /// The directory containers see for volume `name`.
    pub fn volume_data(&self, name: &str) -> PathBuf {
        self.volumes_dir().join(name).join("_data")
    }

    /// `volume create`: makes the volume if it does not exist yet.
    pub fn create_volume(&self, name: Option<&str>, anonymous: bool) -> Result<Volume> {
        let name = match name {
            Some(n) => {
                check_volume_name(n)?;
                n.to_string()
            }
            None => ids::new_id(),
        };
        if let Ok(v) = self.inspect_volume(&name) {
            return Ok(v);
        }
        let dir = self.volumes_dir().join(&name);
        let data = dir.join("_data");
        std::fs::create_dir_all(&data).map_err(io_err("create volume", &data))?;
        let vol = Volume {
            name: name.clone(),
            created: now_rfc3339(),
            anonymous,
            labels: BTreeMap::new(),
        };
        let json = serde_json::to_vec_pretty(&vol).map_err(|e| bad(e.to_string()))?;
        fsutil::write_atomic(&dir.join("volume.json"), &json)?;
        Ok(vol)
    }

    pub fn inspect_volume(&self, name: &str) -> Result<Volume> {
        let path = self.volumes_dir().join(name).join("volume.json");
        let data = std::fs::read(&path)
            .map_err(|_| EngineError::Conflict(format!("get {name}: no such volume")))?;
        serde_json::from_slice(&data).map_err(|e| bad(format!("corrupt volume {name}: {e}")))
    }

    pub fn volumes(&self) -> Result<Vec<Volume>> {
        let dir = self.volumes_dir();
        let mut out = Vec::new();
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                if let Ok(v) = self.inspect_volume(&e.file_name().to_string_lossy()) {
                    out.push(v);
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Ids of the containers (running or not) that use volume `name`.
    pub fn volume_users(&self, name: &str) -> Result<Vec<String>> {
        Ok(self
            .containers()?
            .into_iter()
            .filter(|c| {
                c.config
                    .mounts
                    .iter()
                    .any(|m| matches!(&m.source, MountSource::Volume { name: n, .. } if n == name))
            })
            .map(|c| c.id)
            .collect())
    }

    /// `volume rm`: refuses a volume that a container uses.
    pub fn remove_volume(&self, name: &str, force: bool) -> Result<()> {
        self.inspect_volume(name)?;
        let users = self.volume_users(name)?;
        if !users.is_empty() && !force {
            return Err(EngineError::Conflict(format!(
                "remove {name}: volume is in use - [{}]",
                users.join(", ")
            )));
        }
        fsutil::remove_dir_all(&self.volumes_dir().join(name))
    }

    /// `volume prune`: removes unused anonymous volumes (all unused ones with `all`).
    pub fn prune_volumes(&self, all: bool) -> Result<Vec<String>> {
        let mut removed = Vec::new();
        for v in self.volumes()? {
            if (all || v.anonymous) && self.volume_users(&v.name)?.is_empty() {
                self.remove_volume(&v.name, false)?;
                removed.push(v.name);
            }
        }
        Ok(removed)
    }

    /// Makes the volumes a container needs (seeding new ones from the image at
    /// `rootfs`) and returns the spec mounts for all its mount requests.
    pub(crate) fn prepare_mounts(
        &self,
        requests: &[MountRequest],
        rootfs: &Path,
    ) -> Result<Vec<Mount>> {
        let mut mounts = Vec::new();
        for req in requests {
            let mut options = vec!["rbind".to_string(), "rprivate".to_string()];
            if req.read_only {
                options.push("ro".into());
            }
            let (typ, source) = match &req.source {
                MountSource::Bind { path } => {
                    // `-v` creates a missing host directory, as Docker does.
                    if !path.exists() {
                        std::fs::create_dir_all(path)
                            .map_err(io_err("create bind source", path))?;
                    }
                    ("bind", path.clone())
                }
                MountSource::Volume { name, anonymous } => {
                    let fresh = self.inspect_volume(name).is_err();
                    self.create_volume(Some(name), *anonymous)?;
                    let data = self.volume_data(name);
                    if fresh {
                        seed_volume(rootfs, &req.target, &data)?;
                    }
                    ("bind", data)
                }
                MountSource::Tmpfs { options: o } => {
                    options = o.clone();
                    if req.read_only {
                        options.push("ro".into());
                    }
                    ("tmpfs", PathBuf::from("tmpfs"))
                }
            };
            mounts.push(
                MountBuilder::default()
                    .destination(&req.target)
                    .typ(typ)
                    .source(source)
                    .options(options)
                    .build()
                    .map_err(|e| bad(e.to_string()))?,
            );
        }
        Ok(mounts)
    }

    /// Removes a container's anonymous volumes (`rm -v`, `run --rm`).
    pub(crate) fn remove_anonymous_volumes(&self, requests: &[MountRequest]) {
        for req in requests {
            if let MountSource::Volume {
                name,
                anonymous: true,
            } = &req.source
            {
                let _ = self.remove_volume(name, true);
            }
        }
    }
}

/// Copies what the image has at `target` into a new, empty volume (modes and owners kept).
fn seed_volume(rootfs: &Path, target: &str, data: &Path) -> Result<()> {
    let src = mydocker_runtime::securejoin::secure_join(rootfs, Path::new(target))
        .map_err(io_err("resolve", target))?;
    if !src.is_dir() {
        return Ok(());
    }
    crate::copy::copy_tree_contents(&src, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_flags_parse_like_docker() {
        let v = parse_volume("/srv/data:/data").unwrap();
        assert_eq!(
            v.source,
            MountSource::Bind {
                path: "/srv/data".into()
            }
        );
        assert!(!v.read_only);
        let v = parse_volume("cache:/cache:ro").unwrap();
        assert!(
            matches!(v.source, MountSource::Volume { ref name, anonymous: false } if name == "cache")
        );
        assert!(v.read_only);
        assert!(matches!(
            parse_volume("/data").unwrap().source,
            MountSource::Volume {
                anonymous: true,
                ..
            }
        ));
        assert!(parse_volume("a:b:c:d").is_err());
        assert!(parse_volume("/x:relative").is_err());
        assert!(parse_volume("bad name:/x").is_err());
        let m = parse_mount("type=volume,src=cache,dst=/cache,readonly").unwrap();
        assert!(m.read_only);
        let t = parse_mount("type=tmpfs,dst=/run,tmpfs-size=64m").unwrap();
        assert!(
            matches!(t.source, MountSource::Tmpfs { ref options } if options.contains(&"size=64m".to_string()))
        );
        assert!(parse_mount("type=bind,src=/no/such/dir,dst=/x")
            .unwrap_err()
            .to_string()
            .contains("does not exist"));
        assert!(parse_tmpfs("/run:size=1m").is_ok());
    }
}
