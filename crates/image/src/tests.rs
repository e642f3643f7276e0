//! Store-level tests: import, lookup and list against a real store in a temp dir.

use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use tar::{Builder, EntryType, Header};

use crate::{ImageError, ImageStore};

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

    fn import(&self, source: &Path, reference: Option<&str>) -> String {
        self.store
            .import(source, reference, &[], None)
            .unwrap_or_else(|e| panic!("import failed: {e}"))
    }

    fn count(&self, sub: &str) -> usize {
        fs::read_dir(self.root().join(sub)).unwrap().count()
    }

    /// Asserts that the store holds no layer, blob, image, tag or scratch entry.
    fn assert_empty(&self) {
        for sub in ["layers", "blobs/sha256", "images/sha256", "tmp", "l"] {
            assert_eq!(self.count(sub), 0, "{sub} is not empty");
        }
        assert!(!self.root().join("repositories.json").exists());
    }
}

/// A tar with `etc/hostname`, an executable `bin/hello`, a symlink and a directory.
fn sample_tar(marker: &str) -> Vec<u8> {
    let mut builder = Builder::new(Vec::new());
    let mut dir = test_header();
    dir.set_entry_type(EntryType::Directory);
    dir.set_mode(0o755);
    dir.set_size(0);
    builder.append_data(&mut dir, "etc/", &[][..]).unwrap();
    file(&mut builder, "etc/hostname", marker.as_bytes(), 0o644);
    file(&mut builder, "bin/hello", b"#!/bin/sh\necho hello\n", 0o755);
    let mut link = test_header();
    link.set_entry_type(EntryType::Symlink);
    link.set_size(0);
    builder.append_link(&mut link, "bin/sh", "busybox").unwrap();
    builder.into_inner().unwrap()
}

fn file(builder: &mut Builder<Vec<u8>>, name: &str, data: &[u8], mode: u32) {
    let mut header = test_header();
    header.set_entry_type(EntryType::Regular);
    header.set_mode(mode);
    header.set_uid(1234);
    header.set_gid(4321);
    header.set_mtime(1_000_000);
    header.set_size(data.len() as u64);
    if name.starts_with('/') {
        // Header::set_path refuses absolute paths; write the raw name like GNU tar -P would.
        header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_cksum();
        builder.append(&header, data).unwrap();
    } else {
        builder.append_data(&mut header, name, data).unwrap();
    }
}

/// A GNU header with its numeric fields filled, as real archivers write them.
fn test_header() -> Header {
    let mut header = Header::new_gnu();
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(1_000_000);
    header
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn import_tar_then_lookup_every_way() {
    let fx = Fixture::new();
    let tar = sample_tar("one");
    let src = fx.write("rootfs.tar", &tar);
    let id = fx.import(&src, Some("busybox"));
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    let hex = &id[7..];

    let by_name = fx.store.lookup("busybox").unwrap();
    assert_eq!(by_name.id, id);
    assert_eq!(by_name.repo_tags, ["busybox:latest"]);
    for key in [
        "busybox:latest",
        "docker.io/library/busybox",
        id.as_str(),
        hex,
        &hex[..12],
        &hex[..1],
        &id[..10],
    ] {
        assert_eq!(fx.store.lookup(key).unwrap().id, id, "lookup {key}");
    }

    // The layer: one lower dir named by the chain id (= diff id for a base layer).
    let diff_id = crate::digest::sha256_digest(&tar);
    assert_eq!(by_name.config.rootfs().diff_ids(), &vec![diff_id.clone()]);
    let layer = fx.root().join("layers").join(&diff_id[7..]);
    assert_eq!(by_name.layers, vec![layer.join("diff")]);
    let diff = layer.join("diff");
    assert_eq!(fs::read(diff.join("etc/hostname")).unwrap(), b"one");
    let hello = fs::metadata(diff.join("bin/hello")).unwrap();
    assert_eq!(hello.mode() & 0o7777, 0o755);
    assert_eq!(
        (hello.uid(), hello.gid(), hello.mtime()),
        (1234, 4321, 1_000_000)
    );
    assert_eq!(
        fs::read_link(diff.join("bin/sh")).unwrap(),
        Path::new("busybox")
    );
    let record: serde_json::Value =
        serde_json::from_slice(&fs::read(layer.join("layer.json")).unwrap()).unwrap();
    assert_eq!(record["diff_id"], diff_id);
    assert_eq!(record["parent"], serde_json::Value::Null);
    assert_eq!(record["size"], 3 + 21);

    // The config blob hashes to the id; tags are in repositories.json.
    let blob = fs::read(fx.root().join("blobs/sha256").join(hex)).unwrap();
    assert_eq!(crate::digest::sha256_digest(&blob), id);
    let repos: serde_json::Value =
        serde_json::from_slice(&fs::read(fx.root().join("repositories.json")).unwrap()).unwrap();
    assert_eq!(repos["busybox:latest"], id);

    let config = &by_name.config;
    assert_eq!(config.os().to_string(), "linux");
    assert_eq!(config.architecture().to_string(), crate::config::go_arch());
    assert!(config
        .created()
        .as_deref()
        .and_then(crate::timestamp::parse_rfc3339)
        .is_some());
    let history = config.history().clone().unwrap();
    assert_eq!(history[0].created_by().as_deref(), Some("import"));

    let rows = fx.store.list().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].repository.as_str(), rows[0].tag.as_str()),
        ("busybox", "latest")
    );
    assert_eq!(rows[0].size, 24);
    assert_eq!(fx.count("tmp"), 0, "scratch dir removed after import");
}

#[test]
fn import_tar_gz_detected_by_magic_not_name() {
    let fx = Fixture::new();
    let tar = sample_tar("gz");
    let src = fx.write("rootfs.tar", &gzip(&tar));
    let id = fx.import(&src, Some("gz:1"));
    let image = fx.store.lookup("gz:1").unwrap();
    assert_eq!(image.id, id);
    // The diff id is the hash of the uncompressed tar.
    assert_eq!(
        image.config.rootfs().diff_ids()[0],
        crate::digest::sha256_digest(&tar)
    );
    assert_eq!(
        fs::read(image.layers[0].join("etc/hostname")).unwrap(),
        b"gz"
    );
}

#[test]
fn import_directory() {
    let fx = Fixture::new();
    let src = fx.dir.path().join("tree");
    fs::create_dir_all(src.join("usr/bin")).unwrap();
    fs::write(src.join("usr/bin/app"), b"binary").unwrap();
    std::os::unix::fs::symlink("/nowhere", src.join("dangling")).unwrap();
    std::os::unix::fs::chown(src.join("usr/bin/app"), Some(77), Some(88)).unwrap();
    let id = fx.import(&src, Some("tree"));
    let image = fx.store.lookup(&id).unwrap();
    let diff = &image.layers[0];
    assert_eq!(fs::read(diff.join("usr/bin/app")).unwrap(), b"binary");
    let meta = fs::metadata(diff.join("usr/bin/app")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (77, 88));
    assert_eq!(
        fs::read_link(diff.join("dangling")).unwrap(),
        Path::new("/nowhere")
    );
    assert_eq!(fx.store.list().unwrap()[0].size, 6);
    assert_eq!(fx.count("tmp"), 0);
}

#[test]
fn changes_and_message_end_up_in_config() {
    let fx = Fixture::new();
    let src = fx.write("rootfs.tar", &sample_tar("c"));
    let changes: Vec<String> = [
        r#"CMD ["/bin/hello", "world"]"#,
        "ENTRYPOINT /bin/sh",
        "ENV A=1 B=2",
        "ENV A 3",
        "WORKDIR /srv",
        "USER 1000:1000",
        "EXPOSE 8080",
        "LABEL org.example=yes",
        "STOPSIGNAL SIGQUIT",
        "VOLUME /data",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let id = fx
        .store
        .import(&src, Some("changed"), &changes, Some("first import"))
        .unwrap();
    let image = fx.store.lookup(&id).unwrap();
    let config = image.config.config().clone().unwrap();
    assert_eq!(config.cmd().clone().unwrap(), ["/bin/hello", "world"]);
    assert_eq!(
        config.entrypoint().clone().unwrap(),
        ["/bin/sh", "-c", "/bin/sh"]
    );
    assert_eq!(config.env().clone().unwrap(), ["B=2", "A=3"]);
    assert_eq!(config.working_dir().as_deref(), Some("/srv"));
    assert_eq!(config.user().as_deref(), Some("1000:1000"));
    assert_eq!(config.exposed_ports().clone().unwrap(), ["8080/tcp"]);
    assert_eq!(config.labels().clone().unwrap()["org.example"], "yes");
    assert_eq!(config.stop_signal().as_deref(), Some("SIGQUIT"));
    assert_eq!(config.volumes().clone().unwrap(), ["/data"]);
    let history = image.config.history().clone().unwrap();
    assert_eq!(history[0].comment().as_deref(), Some("first import"));
}

#[test]
fn bad_change_or_reference_fails_before_touching_the_store() {
    let fx = Fixture::new();
    let src = fx.write("rootfs.tar", &sample_tar("x"));
    let err = fx
        .store
        .import(&src, None, &["FOO bar".into()], None)
        .unwrap_err();
    assert!(matches!(err, ImageError::InvalidChange(_)));
    assert_eq!(err.to_string(), "unknown --change instruction: FOO");
    let err = fx
        .store
        .import(&src, Some("Bad:Name"), &[], None)
        .unwrap_err();
    assert!(matches!(err, ImageError::InvalidReference(_)), "{err}");
    fx.assert_empty();
}

#[test]
fn not_found_and_invalid_lookups() {
    let fx = Fixture::new();
    let err = fx.store.lookup("busybox").unwrap_err();
    assert_eq!(err.to_string(), "No such image: busybox:latest");
    let err = fx
        .store
        .lookup("docker.io/library/busybox:1.36")
        .unwrap_err();
    assert_eq!(err.to_string(), "No such image: busybox:1.36");
    let full = format!("sha256:{}", "a".repeat(64));
    assert_eq!(
        fx.store.lookup(&full).unwrap_err().to_string(),
        format!("No such image: {full}")
    );
    assert!(matches!(
        fx.store.lookup(&"b".repeat(64)).unwrap_err(),
        ImageError::NotFound(_)
    ));
    assert!(matches!(
        fx.store.lookup("UPPER").unwrap_err(),
        ImageError::InvalidReference(_)
    ));
}

#[test]
fn ambiguous_prefix_is_an_error() {
    let fx = Fixture::new();
    let src = fx.write("rootfs.tar", &sample_tar("same"));
    // 17 images with distinct ids (different creation times) must share a first hex digit.
    let ids: Vec<String> = (0..17).map(|_| fx.import(&src, None)).collect();
    let first = |id: &str| id[7..8].to_owned();
    let shared = ids
        .iter()
        .map(|id| first(id))
        .find(|c| ids.iter().filter(|id| first(id) == *c).count() > 1)
        .unwrap();
    let err = fx.store.lookup(&shared).unwrap_err();
    assert!(matches!(err, ImageError::AmbiguousId { .. }), "{err}");
    assert!(err.to_string().contains("ambiguous"), "{err}");
    // Same content: one shared layer; every image untagged.
    assert_eq!(fx.count("layers"), 1);
    let rows = fx.store.list().unwrap();
    assert_eq!(rows.len(), 17);
    assert!(rows
        .iter()
        .all(|r| r.repository == "<none>" && r.tag == "<none>"));
}

#[test]
fn retag_moves_tag_and_list_is_newest_first() {
    let fx = Fixture::new();
    let old = fx.import(&fx.write("a.tar", &sample_tar("a")), Some("app:v1"));
    let new = fx.import(&fx.write("b.tar", &sample_tar("b")), Some("app:v1"));
    assert_ne!(old, new);
    let rows = fx.store.list().unwrap();
    let summary: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| (r.repository.as_str(), r.tag.as_str(), r.id.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("app", "v1", new.as_str()),
            ("<none>", "<none>", old.as_str())
        ]
    );
    assert_eq!(fx.store.lookup("app:v1").unwrap().id, new);
    assert!(fx.store.lookup(&old).unwrap().repo_tags.is_empty());
    assert_eq!(fx.count("layers"), 2);
}

#[test]
fn malicious_parent_entry_is_refused_and_leaves_nothing() {
    let fx = Fixture::new();
    let mut builder = Builder::new(Vec::new());
    file(&mut builder, "ok.txt", b"fine", 0o644);
    let mut header = test_header();
    header.as_gnu_mut().unwrap().name[..8].copy_from_slice(b"../evil\0");
    header.set_entry_type(EntryType::Regular);
    header.set_mode(0o644);
    header.set_size(4);
    header.set_cksum();
    builder.append(&header, &b"evil"[..]).unwrap();
    let src = fx.write("evil.tar", &builder.into_inner().unwrap());
    let err = fx.store.import(&src, Some("evil"), &[], None).unwrap_err();
    match &err {
        ImageError::Import { source_path, .. } => assert_eq!(source_path, &src),
        other => panic!("unexpected error {other}"),
    }
    assert!(err.to_string().contains("path contains '..'"), "{err}");
    assert!(!err.to_string().contains('\n'));
    assert!(!fx.root().join("tmp/evil").exists());
    assert!(!fx.root().join("evil").exists());
    fx.assert_empty();
}

#[test]
fn truncated_gzip_is_refused_and_leaves_nothing() {
    let fx = Fixture::new();
    let mut big = Builder::new(Vec::new());
    let payload: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
    file(&mut big, "blob", &payload, 0o644);
    let gz = gzip(&big.into_inner().unwrap());
    let src = fx.write("cut.tar.gz", &gz[..gz.len() / 2]);
    let err = fx.store.import(&src, Some("cut"), &[], None).unwrap_err();
    assert!(matches!(err, ImageError::Import { .. }), "{err}");
    fx.assert_empty();

    let garbage = fx.write(
        "garbage",
        b"this is not a tar archive, not even close........",
    );
    let err = fx.store.import(&garbage, None, &[], None).unwrap_err();
    assert!(matches!(err, ImageError::Import { .. }), "{err}");
    let missing = fx.dir.path().join("missing.tar");
    let err = fx.store.import(&missing, None, &[], None).unwrap_err();
    assert!(err.to_string().contains("missing.tar"), "{err}");
    fx.assert_empty();
}

#[test]
fn concurrent_imports_are_both_recorded() {
    let fx = Fixture::new();
    let sources: Vec<PathBuf> = (0..4)
        .map(|i| fx.write(&format!("{i}.tar"), &sample_tar(&format!("t{i}"))))
        .collect();
    let root = fx.root();
    std::thread::scope(|scope| {
        for (i, src) in sources.iter().enumerate() {
            let root = root.clone();
            scope.spawn(move || {
                // Separate handles, like separate `mydocker import` processes.
                let store = ImageStore::open(&root).unwrap();
                store
                    .import(src, Some(&format!("concurrent:{i}")), &[], None)
                    .unwrap();
            });
        }
    });
    let repos: std::collections::BTreeMap<String, String> =
        serde_json::from_slice(&fs::read(root.join("repositories.json")).unwrap()).unwrap();
    assert_eq!(repos.len(), 4, "{repos:?}");
    for i in 0..4 {
        let image = fx.store.lookup(&format!("concurrent:{i}")).unwrap();
        assert_eq!(
            fs::read(image.layers[0].join("etc/hostname")).unwrap(),
            format!("t{i}").as_bytes()
        );
    }
    assert_eq!(fx.count("tmp"), 0);
}

#[test]
fn open_sweeps_stale_scratch_dirs() {
    let fx = Fixture::new();
    let stale = fx.root().join("tmp/import-killed/layer/diff");
    fs::create_dir_all(&stale).unwrap();
    fs::write(stale.join("partial"), b"x").unwrap();
    ImageStore::open(&fx.root()).unwrap();
    assert_eq!(fx.count("tmp"), 0);
    assert_eq!(fx.count("layers"), 0);
}
