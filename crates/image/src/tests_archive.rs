//! Store-level tests of load, save, commit, removal and the layer links, on archives the tests
//! build themselves (including the malicious ones of issue 4's "Bad input and safety" list).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use tar::{Builder, EntryType, Header};

use crate::digest::{chain_ids, hex_part, sha256_digest};
use crate::progress::{LayerProgress, Progress};
use crate::{CommitRequest, ImageError, ImageStore, NoProgress, RemoveEvent, SaveFormat};

struct Fixture {
    dir: tempfile::TempDir,
    store: ImageStore,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = ImageStore::open(&dir.path().join("image")).unwrap();
        Fixture { dir, store }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("image")
    }

    fn write(&self, name: &str, data: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        fs::write(&path, data).unwrap();
        path
    }

    fn load(&self, data: &[u8]) -> Result<Vec<crate::Loaded>, ImageError> {
        let path = self.write("archive.tar", data);
        self.store.load_path(&path, &NoProgress)
    }

    fn names(&self, sub: &str) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.root().join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Asserts that the store holds no layer, link, blob, image, tag or scratch entry.
    fn assert_empty(&self) {
        for sub in ["layers", "blobs/sha256", "images/sha256", "tmp", "l"] {
            assert!(
                self.names(sub).is_empty(),
                "{sub} is not empty: {:?}",
                self.names(sub)
            );
        }
        let tags = fs::read(self.root().join("repositories.json")).unwrap_or_default();
        assert!(tags.is_empty() || tags == b"{}", "tags left behind");
    }

    fn save(&self, names: &[&str], format: SaveFormat) -> Vec<u8> {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut out = Vec::new();
        self.store
            .save(&names, format, &mut out, &NoProgress)
            .unwrap();
        out
    }
}

fn header(kind: EntryType, mode: u32, size: u64) -> Header {
    let mut header = Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(1_000_000);
    header.set_size(size);
    header
}

/// A layer tar from (name, content) pairs; names ending in `/` are directories.
fn layer(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = Builder::new(Vec::new());
    for (name, data) in entries {
        if name.ends_with('/') {
            let mut h = header(EntryType::Directory, 0o755, 0);
            builder.append_data(&mut h, name, &[][..]).unwrap();
        } else {
            let mut h = header(EntryType::Regular, 0o644, data.len() as u64);
            builder.append_data(&mut h, name, *data).unwrap();
        }
    }
    builder.into_inner().unwrap()
}

/// Appends an entry with a raw name (bypassing the tar crate's path checks).
fn raw_entry(
    builder: &mut Builder<Vec<u8>>,
    name: &str,
    mut h: Header,
    link: Option<&str>,
    data: &[u8],
) {
    h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
    if let Some(link) = link {
        h.as_gnu_mut().unwrap().linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    h.set_cksum();
    builder.append(&h, data).unwrap();
}

fn config_for(layers: &[&[u8]], marker: &str) -> Vec<u8> {
    let diff_ids: Vec<String> = layers.iter().map(|l| sha256_digest(l)).collect();
    let history: Vec<Value> = layers
        .iter()
        .map(|_| json!({"created": "2024-01-01T00:00:00Z", "created_by": format!("step {marker}")}))
        .chain([json!({"created_by": "CMD [\"sh\"]", "empty_layer": true})])
        .collect();
    serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "config": {"Cmd": ["sh"], "Env": [format!("MARKER={marker}")]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }))
    .unwrap()
}

/// A docker-archive in the old layout (`<hex>.json`, `<n>/layer.tar`).
fn docker_archive(layers: &[&[u8]], tags: &[&str], marker: &str) -> Vec<u8> {
    let config = config_for(layers, marker);
    let config_name = format!("{}.json", hex_part(&sha256_digest(&config)));
    let mut files: Vec<(String, Vec<u8>)> = vec![(config_name.clone(), config)];
    let mut names = Vec::new();
    for (i, layer) in layers.iter().enumerate() {
        let name = format!("{i:064}/layer.tar");
        files.push((name.clone(), layer.to_vec()));
        names.push(name);
    }
    let manifest = json!([{"Config": config_name, "RepoTags": tags, "Layers": names}]);
    files.push((
        "manifest.json".into(),
        serde_json::to_vec(&manifest).unwrap(),
    ));
    tar_of(&files)
}

fn tar_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut builder = Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = header(EntryType::Regular, 0o644, data.len() as u64);
        builder.append_data(&mut h, name, &data[..]).unwrap();
    }
    builder.into_inner().unwrap()
}

/// An OCI archive whose layers are stored with the given compressions ("gzip", "zstd", "").
fn oci_archive(layers: &[(&[u8], &str)], ref_name: &str) -> (Vec<u8>, String) {
    let raw: Vec<&[u8]> = layers.iter().map(|(l, _)| *l).collect();
    let config = config_for(&raw, "oci");
    let config_digest = sha256_digest(&config);
    let mut files = vec![
        (
            "oci-layout".to_owned(),
            br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
        ),
        (
            format!("blobs/sha256/{}", hex_part(&config_digest)),
            config.clone(),
        ),
    ];
    let mut descriptors = Vec::new();
    for (data, compression) in layers {
        let (blob, media_type) = match *compression {
            "gzip" => {
                let mut enc =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                enc.write_all(data).unwrap();
                (
                    enc.finish().unwrap(),
                    "application/vnd.oci.image.layer.v1.tar+gzip",
                )
            }
            "zstd" => (
                zstd::encode_all(&data[..], 3).unwrap(),
                "application/vnd.oci.image.layer.v1.tar+zstd",
            ),
            _ => (data.to_vec(), "application/vnd.oci.image.layer.v1.tar"),
        };
        let digest = sha256_digest(&blob);
        descriptors.push(json!({"mediaType": media_type, "digest": digest, "size": blob.len()}));
        files.push((format!("blobs/sha256/{}", hex_part(&digest)), blob));
    }
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": descriptors,
    }))
    .unwrap();
    let manifest_digest = sha256_digest(&manifest);
    files.push((
        format!("blobs/sha256/{}", hex_part(&manifest_digest)),
        manifest.clone(),
    ));
    let index = json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": manifest_digest, "size": manifest.len(),
        "annotations": {"org.opencontainers.image.ref.name": ref_name},
    }]});
    files.push(("index.json".into(), serde_json::to_vec(&index).unwrap()));
    (tar_of(&files), config_digest)
}

/// Members of a tar, name -> bytes.
fn members(data: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut archive = tar::Archive::new(data);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        out.insert(name, bytes);
    }
    out
}

fn base_layer() -> Vec<u8> {
    layer(&[
        ("bin/", b""),
        ("bin/sh", b"#!shell"),
        ("etc/", b""),
        ("etc/os-release", b"test"),
    ])
}

#[test]
fn docker_archive_round_trips_through_save() {
    let fx = Fixture::new();
    let base = base_layer();
    let top = layer(&[("etc/motd", b"hello")]);
    let archive = docker_archive(&[&base, &top], &["docker.io/library/demo:1"], "a");
    let loaded = fx.load(&archive).unwrap();
    let config = config_for(&[&base, &top], "a");
    let id = sha256_digest(&config);
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].id, id);
    assert_eq!(loaded[0].tags, ["demo:1"]);
    assert_eq!(loaded[0].messages(), ["Loaded image: demo:1"]);

    let image = fx.store.lookup("demo:1").unwrap();
    assert_eq!(
        fs::read(image.layers[1].join("etc/motd")).unwrap(),
        b"hello"
    );

    let saved = members(&fx.save(&["demo:1"], SaveFormat::DockerArchive));
    assert_eq!(saved[&format!("blobs/sha256/{}", hex_part(&id))], config);
    assert_eq!(
        saved[&format!("blobs/sha256/{}", hex_part(&sha256_digest(&base)))],
        base
    );
    let manifest: Value = serde_json::from_slice(&saved["manifest.json"]).unwrap();
    assert_eq!(manifest[0]["RepoTags"], json!(["docker.io/library/demo:1"]));

    // And back into a fresh store, by id this time (untagged).
    let other = Fixture::new();
    let again = other
        .load(&fx.save(&[&id], SaveFormat::DockerArchive))
        .unwrap();
    assert_eq!(again[0].id, id);
    assert!(again[0].tags.is_empty());
}

#[test]
fn oci_archive_with_gzip_and_zstd_layers_round_trips() {
    let fx = Fixture::new();
    let base = base_layer();
    let top = layer(&[("etc/zstd", b"z")]);
    let (archive, id) = oci_archive(
        &[(&base, "gzip"), (&top, "zstd")],
        "docker.io/library/oci:2",
    );
    let loaded = fx.load(&archive).unwrap();
    assert_eq!(loaded[0].id, id);
    assert_eq!(loaded[0].tags, ["oci:2"]);
    let inspect = fx.store.inspect("oci:2").unwrap();
    assert_eq!(inspect["RootFS"]["Layers"][1], json!(sha256_digest(&top)));
    assert_eq!(inspect["RepoDigests"].as_array().unwrap().len(), 1);

    // The saved OCI archive carries the very same manifest and compressed blobs.
    let original = members(&archive);
    let saved_bytes = fx.save(&["oci:2"], SaveFormat::OciArchive);
    let saved = members(&saved_bytes);
    for (name, data) in &original {
        if name.starts_with("blobs/") {
            assert_eq!(saved.get(name), Some(data), "{name} differs");
        }
    }
    let other = Fixture::new();
    assert_eq!(other.load(&saved_bytes).unwrap()[0].id, id);
    // docker-archive from compressed blobs: layers are written uncompressed.
    let docker = members(&fx.save(&["oci:2"], SaveFormat::DockerArchive));
    assert_eq!(
        docker[&format!("blobs/sha256/{}", hex_part(&sha256_digest(&top)))],
        top
    );
}

#[test]
fn compressed_archive_and_stream_load() {
    let fx = Fixture::new();
    let archive = docker_archive(&[&base_layer()], &["gz:1"], "gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&archive).unwrap();
    assert_eq!(fx.load(&enc.finish().unwrap()).unwrap()[0].tags, ["gz:1"]);
    let other = Fixture::new();
    let loaded = other
        .store
        .load_reader(&mut &archive[..], &NoProgress)
        .unwrap();
    assert_eq!(loaded[0].tags, ["gz:1"]);
}

#[derive(Default)]
struct Recorder(RefCell<Vec<String>>);

impl Progress for Recorder {
    fn layer(&self, event: LayerProgress<'_>) {
        let line = match event {
            LayerProgress::Started { id, .. } => format!("start {id}"),
            LayerProgress::Skipped { id } => format!("skip {id}"),
            LayerProgress::Finished { id } => format!("done {id}"),
            LayerProgress::Advanced { .. } => return,
        };
        self.0.borrow_mut().push(line);
    }
}

#[test]
fn shared_layers_are_stored_once() {
    let fx = Fixture::new();
    let base = base_layer();
    let a = layer(&[("a", b"a")]);
    let b = layer(&[("b", b"b")]);
    fx.load(&docker_archive(&[&base, &a], &["a:1"], "a"))
        .unwrap();
    let recorder = Recorder::default();
    let path = fx.write("b.tar", &docker_archive(&[&base, &b], &["b:1"], "b"));
    fx.store.load_path(&path, &recorder).unwrap();
    let base_digest = sha256_digest(&base);
    let base_id = &hex_part(&base_digest)[..12];
    assert_eq!(recorder.0.borrow()[0], format!("skip {base_id}"));
    assert_eq!(fx.names("layers").len(), 3, "base + a + b");
    let (ia, ib) = (
        fx.store.lookup("a:1").unwrap(),
        fx.store.lookup("b:1").unwrap(),
    );
    assert_eq!(ia.layers[0], ib.layers[0]);

    // Removing one image keeps the shared layer; removing the other frees it.
    let events = fx.store.remove("a:1", false, &[]).unwrap();
    assert_eq!(events[0], RemoveEvent::Untagged("a:1".into()));
    assert!(matches!(&events[1], RemoveEvent::Deleted(id) if *id == ia.id));
    assert_eq!(events.len(), 3, "untag, image, its top layer: {events:?}");
    assert!(ib.layers[0].is_dir());
    fx.store.remove("b:1", false, &[]).unwrap();
    fx.assert_empty();
}

#[test]
fn rmi_tag_prune_follow_docker_rules() {
    let fx = Fixture::new();
    let id = fx
        .load(&docker_archive(&[&base_layer()], &["x:1"], "x"))
        .unwrap()[0]
        .id
        .clone();
    fx.store.tag("x:1", "y:2").unwrap();
    assert_eq!(fx.store.lookup("y:2").unwrap().id, id);
    // Several tags: by tag only untags; by id needs force.
    assert_eq!(
        fx.store.remove("y:2", false, &[]).unwrap(),
        [RemoveEvent::Untagged("y:2".into())]
    );
    fx.store.tag("x:1", "y:2").unwrap();
    let err = fx.store.remove(&id, false, &[]).unwrap_err();
    assert!(
        err.to_string()
            .contains("referenced in multiple repositories"),
        "{err}"
    );
    // In use by a container: refused, and with force only untagged.
    let in_use = [id.clone()];
    fx.store.remove("y:2", false, &in_use).unwrap();
    let err = fx.store.remove("x:1", false, &in_use).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("conflict: unable to remove repository reference \"x:1\""),
        "{err}"
    );
    assert_eq!(
        fx.store.remove("x:1", true, &in_use).unwrap(),
        [RemoveEvent::Untagged("x:1".into())]
    );
    assert!(fx.store.lookup(&id).is_ok());
    // Dangling, but in use: prune keeps it; once unused it goes.
    assert!(fx.store.prune(false, &in_use).unwrap().events.is_empty());
    let report = fx.store.prune(false, &[]).unwrap();
    assert_eq!(report.events[0], RemoveEvent::Deleted(id));
    assert!(report.reclaimed > 0);
    fx.assert_empty();
}

#[test]
fn history_and_inspect_are_docker_shaped() {
    let fx = Fixture::new();
    let base = base_layer();
    let top = layer(&[("etc/motd", b"hello")]);
    let id = fx
        .load(&docker_archive(&[&base, &top], &["h:1"], "h"))
        .unwrap()[0]
        .id
        .clone();
    let rows = fx.store.history("h:1").unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].id.as_deref(), Some(id.as_str()));
    assert!(rows[0].empty_layer && rows[0].size == 0);
    assert_eq!(rows[1].size, 5);
    assert_eq!(rows[2].created_by, "step h");
    let inspect = fx.store.inspect(&id[7..19]).unwrap();
    assert_eq!(inspect["Id"], json!(id));
    assert_eq!(inspect["RepoTags"], json!(["h:1"]));
    assert_eq!(inspect["Config"]["Env"], json!(["MARKER=h"]));
    assert_eq!(inspect["Os"], "linux");
    assert_eq!(inspect["Size"], json!(5 + 7 + 4));
    assert_eq!(inspect["RootFS"]["Type"], "layers");
}

fn assert_refused(archive: &[u8], expected: &str) {
    let fx = Fixture::new();
    let err = fx.load(archive).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(expected),
        "expected {expected:?} in {message:?}"
    );
    assert!(!message.contains('\n'), "{message}");
    fx.assert_empty();
}

#[test]
fn malicious_layers_are_refused_and_leave_nothing() {
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("victim");
    fs::create_dir(&target).unwrap();

    let mut dotdot = Builder::new(Vec::new());
    raw_entry(
        &mut dotdot,
        "../evil",
        header(EntryType::Regular, 0o644, 4),
        None,
        b"evil",
    );
    let mut absolute = Builder::new(Vec::new());
    raw_entry(
        &mut absolute,
        "/etc/evil",
        header(EntryType::Regular, 0o644, 4),
        None,
        b"evil",
    );
    let mut through = Builder::new(Vec::new());
    let link = target.to_str().unwrap();
    raw_entry(
        &mut through,
        "a",
        header(EntryType::Symlink, 0o777, 0),
        Some(link),
        b"",
    );
    raw_entry(
        &mut through,
        "a/passwd",
        header(EntryType::Regular, 0o644, 4),
        None,
        b"evil",
    );
    let mut inner_link = Builder::new(Vec::new());
    raw_entry(
        &mut inner_link,
        "d/",
        header(EntryType::Directory, 0o755, 0),
        None,
        b"",
    );
    raw_entry(
        &mut inner_link,
        "a",
        header(EntryType::Symlink, 0o777, 0),
        Some("d"),
        b"",
    );
    raw_entry(
        &mut inner_link,
        "a/x",
        header(EntryType::Regular, 0o644, 1),
        None,
        b"x",
    );
    let mut hard_abs = Builder::new(Vec::new());
    raw_entry(
        &mut hard_abs,
        "h",
        header(EntryType::Link, 0o644, 0),
        Some("/etc/passwd"),
        b"",
    );
    let mut hard_up = Builder::new(Vec::new());
    raw_entry(
        &mut hard_up,
        "h",
        header(EntryType::Link, 0o644, 0),
        Some("../../../etc/passwd"),
        b"",
    );
    let mut hard_via = Builder::new(Vec::new());
    raw_entry(
        &mut hard_via,
        "a",
        header(EntryType::Symlink, 0o777, 0),
        Some("/etc"),
        b"",
    );
    raw_entry(
        &mut hard_via,
        "h",
        header(EntryType::Link, 0o644, 0),
        Some("a/passwd"),
        b"",
    );

    let cases: Vec<(Vec<u8>, &str)> = vec![
        (dotdot.into_inner().unwrap(), "path contains '..'"),
        (absolute.into_inner().unwrap(), "absolute path"),
        (through.into_inner().unwrap(), "parent a is a symlink"),
        (inner_link.into_inner().unwrap(), "parent a is a symlink"),
        (hard_abs.into_inner().unwrap(), "hard link target"),
        (hard_up.into_inner().unwrap(), "hard link target"),
        (hard_via.into_inner().unwrap(), "hard link target"),
    ];
    for (bad, expected) in cases {
        let archive = docker_archive(&[&base_layer(), &bad], &["evil:1"], "evil");
        assert_refused(&archive, expected);
    }
    assert!(
        fs::read_dir(&target).unwrap().next().is_none(),
        "wrote outside"
    );
}

#[test]
fn device_nodes_follow_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let mut builder = Builder::new(Vec::new());
    let mut h = header(EntryType::Char, 0o666, 0);
    h.set_device_major(1).unwrap();
    h.set_device_minor(3).unwrap();
    builder.append_data(&mut h, "dev/null", &[][..]).unwrap();
    let tar = builder.into_inner().unwrap();
    let refuse = crate::unpack::UnpackOptions {
        absolute_paths: crate::unpack::AbsolutePaths::Refuse,
        devices: false,
        whiteouts: true,
    };
    let err =
        crate::archive::stage_layer(&tar[..], &dir.path().join("a"), None, &refuse, &mut |_| {})
            .unwrap_err();
    assert!(
        err.to_string()
            .contains("device nodes are only unpacked when running as root"),
        "{err}"
    );
    let allow = crate::unpack::UnpackOptions {
        devices: true,
        ..refuse
    };
    crate::archive::stage_layer(&tar[..], &dir.path().join("b"), None, &allow, &mut |_| {})
        .unwrap();
    let meta = fs::symlink_metadata(dir.path().join("b/dev/null")).unwrap();
    assert!(meta.file_type().is_char_device());
    assert_eq!(meta.rdev(), nix::sys::stat::makedev(1, 3));
}

#[test]
fn bad_archives_are_refused_and_leave_nothing() {
    let base = base_layer();
    let top = layer(&[("etc/motd", b"hello")]);
    let good = docker_archive(&[&base, &top], &["bad:1"], "bad");

    // A layer whose diff id does not match the config.
    let mut files: Vec<(String, Vec<u8>)> = members(&good).into_iter().collect();
    for (name, data) in &mut files {
        if name.ends_with("01/layer.tar") {
            *data = layer(&[("etc/motd", b"HELLO")]);
        }
    }
    assert_refused(&tar_of(&files), "but the image config says");

    // A config whose name promises another digest.
    let mut files: Vec<(String, Vec<u8>)> = members(&good).into_iter().collect();
    for (name, data) in &mut files {
        if name.ends_with(".json") && name != "manifest.json" {
            data.push(b' ');
        }
    }
    assert_refused(&tar_of(&files), "has digest");

    // A manifest naming a blob the archive lacks.
    let files: Vec<(String, Vec<u8>)> = members(&good)
        .into_iter()
        .filter(|(name, _)| !name.ends_with("01/layer.tar"))
        .collect();
    assert_refused(&tar_of(&files), "which it does not contain");

    // Truncated: cut in the middle of the second layer.
    let cut = good.len() - top.len() / 2 - 2048;
    assert_refused(&good[..cut], "truncated");
    // Not an archive at all, and an OCI blob with the wrong digest.
    assert_refused(
        &tar_of(&[("hello".into(), b"x".to_vec())]),
        "not an image archive",
    );
    let (oci, _) = oci_archive(&[(&base, "gzip")], "x:1");
    let mut files: Vec<(String, Vec<u8>)> = members(&oci).into_iter().collect();
    for (name, data) in &mut files {
        if name.starts_with("blobs/") && data.starts_with(&[0x1f, 0x8b]) {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            enc.write_all(&layer(&[("other", b"x")])).unwrap();
            let other = enc.finish().unwrap();
            data.clear();
            data.extend(other);
        }
    }
    assert_refused(&tar_of(&files), "blobs/sha256/");
}

#[test]
fn failed_load_after_good_layers_leaves_no_partial_image() {
    let fx = Fixture::new();
    let good = docker_archive(&[&base_layer()], &["ok:1"], "ok");
    fx.load(&good).unwrap();
    let before: Vec<Vec<String>> = ["layers", "blobs/sha256", "images/sha256", "l"]
        .iter()
        .map(|s| fx.names(s))
        .collect();
    let mut evil = Builder::new(Vec::new());
    raw_entry(
        &mut evil,
        "../x",
        header(EntryType::Regular, 0o644, 1),
        None,
        b"x",
    );
    let fresh = layer(&[("fresh", b"new layer, staged then dropped")]);
    let bad = docker_archive(&[&fresh, &evil.into_inner().unwrap()], &["ok:1"], "bad");
    assert!(fx.load(&bad).is_err());
    let after: Vec<Vec<String>> = ["layers", "blobs/sha256", "images/sha256", "l"]
        .iter()
        .map(|s| fx.names(s))
        .collect();
    assert_eq!(before, after);
    assert!(fx.names("tmp").is_empty());
    assert!(fx.store.lookup("ok:1").is_ok());
}

#[test]
fn commit_turns_overlay_whiteouts_into_oci_and_back() {
    let fx = Fixture::new();
    let base = layer(&[
        ("bin/", b""),
        ("bin/vi", b"vi"),
        ("opt/", b""),
        ("opt/old", b"o"),
    ]);
    let base_id = fx
        .load(&docker_archive(&[&base], &["base:1"], "base"))
        .unwrap()[0]
        .id
        .clone();

    let upper = fx.dir.path().join("upper");
    fs::create_dir_all(upper.join("bin")).unwrap();
    fs::create_dir_all(upper.join("opt")).unwrap();
    fs::create_dir_all(upper.join("etc")).unwrap();
    fs::write(upper.join("etc/marker"), b"v1\n").unwrap();
    fs::write(upper.join("opt/new"), b"n").unwrap();
    let bin = fs::File::open(upper.join("bin")).unwrap();
    crate::whiteout::make_overlay_whiteout(&bin, std::ffi::OsStr::new("vi")).unwrap();
    crate::whiteout::set_opaque(&fs::File::open(upper.join("opt")).unwrap()).unwrap();

    let changes = ["CMD [\"cat\",\"/etc/marker\"]".to_owned()];
    let id = fx
        .store
        .commit(&CommitRequest {
            upper: &upper,
            base: Some("base:1"),
            reference: Some("marked:1"),
            changes: &changes,
            message: Some("marker"),
            author: Some("me"),
            created_by: Some("/bin/sh -c rm /bin/vi"),
        })
        .unwrap();
    let image = fx.store.lookup("marked:1").unwrap();
    assert_eq!(image.id, id);
    assert_eq!(image.layers.len(), 2);
    assert_eq!(
        image
            .config
            .config()
            .clone()
            .unwrap()
            .cmd()
            .clone()
            .unwrap(),
        ["cat", "/etc/marker"]
    );
    let rows = fx.store.history("marked:1").unwrap();
    assert_eq!(
        (rows[0].comment.as_str(), rows[0].created_by.as_str()),
        ("marker", "/bin/sh -c rm /bin/vi")
    );

    // The layer in the archive carries OCI whiteouts.
    let saved = members(&fx.save(&["marked:1"], SaveFormat::DockerArchive));
    let manifest: Value = serde_json::from_slice(&saved["manifest.json"]).unwrap();
    let top = &saved[manifest[0]["Layers"][1].as_str().unwrap()];
    let names: Vec<String> = members(top).into_keys().collect();
    for expected in ["bin/.wh.vi", "opt/.wh..wh..opq", "opt/new", "etc/marker"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    // Unpacked back in overlay form.
    let diff = &image.layers[1];
    assert!(crate::whiteout::is_overlay_whiteout(
        &fs::symlink_metadata(diff.join("bin/vi")).unwrap()
    ));
    assert!(crate::whiteout::is_opaque(&diff.join("opt")).unwrap());
    assert!(!diff.join("bin/.wh.vi").exists());

    // Round trip through another store keeps the id and the whiteouts.
    let other = Fixture::new();
    let bytes = fx.save(&["marked:1"], SaveFormat::OciArchive);
    assert_eq!(other.load(&bytes).unwrap()[0].id, id);
    let copy = other.store.lookup(&id).unwrap();
    assert!(crate::whiteout::is_opaque(&copy.layers[1].join("opt")).unwrap());
    assert_ne!(id, base_id);
}

#[test]
fn lower_dirs_are_short_links_to_the_layers() {
    let fx = Fixture::new();
    let a = layer(&[("a", b"a")]);
    let b = layer(&[("b", b"b")]);
    fx.load(&docker_archive(&[&a, &b], &["deep:1"], "deep"))
        .unwrap();
    let image = fx.store.lookup("deep:1").unwrap();
    let lower = fx.store.lower_dirs(&image).unwrap();
    assert_eq!(lower.base, fx.root());
    assert_eq!(lower.dirs.len(), 2);
    let chains = chain_ids(&[sha256_digest(&a), sha256_digest(&b)]);
    assert_eq!(lower.dirs[0], format!("l/{}", &hex_part(&chains[1])[..16]));
    assert_eq!(
        lower.option_value(),
        format!("{}:{}", lower.dirs[0], lower.dirs[1])
    );
    // Highest first: the link resolves to the top layer's diff dir.
    let resolved = fs::canonicalize(lower.base.join(&lower.dirs[0])).unwrap();
    assert_eq!(resolved, fs::canonicalize(&image.layers[1]).unwrap());
    assert!(Path::new(&resolved).join("b").exists());
}
