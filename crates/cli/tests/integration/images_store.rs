//! The layered image store (issue 4): commit with whiteouts, save/load round trips with
//! podman and skopeo (../shared/peers.md), tag/rmi/history, export/import, archives that
//! try to escape, and layers shared between images stored once.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{busybox_tar, run, unique_name, Md, Out};

/// `cmd ARGS` on the host, to completion.
fn host(cmd: &str, args: &[&str]) -> Out {
    let mut c = Command::new(cmd);
    c.args(args);
    run(c, None)
}

fn sha256_hex(data: &[u8]) -> String {
    let mut c = Command::new("sha256sum");
    c.arg("-");
    let out = run(c, Some(data));
    out.assert_ok();
    out.stdout[..64].to_string()
}

/// The full image id (`sha256:...`) of `image`.
#[track_caller]
fn image_id(md: &Md, image: &str) -> String {
    let out = md.md(&["image", "inspect", "-f", "{{.Id}}", image]);
    out.assert_ok();
    out.out().to_string()
}

/// `image inspect` of one image as JSON.
#[track_caller]
fn image_json(md: &Md, image: &str) -> serde_json::Value {
    let out = md.md(&["image", "inspect", image]);
    out.assert_ok();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    v[0].clone()
}

/// A busybox image with one more layer: /etc/marker added, /bin/vi deleted, /usr/sbin
/// replaced by a directory with one file (an opaque directory), CMD set. Returns its name.
fn make_marked(md: &Md, name: &str, tag: &str) -> String {
    md.md(&[
        "run",
        "--name",
        name,
        "busybox",
        "sh",
        "-c",
        "echo v1 > /etc/marker; rm /bin/vi; rm -rf /usr/bin/wget /usr/sbin; mkdir /usr/sbin; echo n > /usr/sbin/only",
    ])
    .assert_ok();
    md.md(&[
        "commit",
        "-m",
        "marker",
        "-a",
        "Tester <t@example.com>",
        "-c",
        r#"CMD ["cat","/etc/marker"]"#,
        name,
        tag,
    ])
    .assert_ok();
    md.md(&["rm", name]).assert_ok();
    tag.to_string()
}

#[test]
fn commit_then_run_sees_the_change_and_the_deletion() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    let img = make_marked(&md, "c1", "marked:1");
    md.md(&["run", "--rm", &img])
        .assert_ok()
        .assert_stdout_is("v1");
    md.md(&["run", "--rm", &img, "ls", "/bin/vi"])
        .assert_fail()
        .assert_stderr_contains("No such file");
    md.md(&[
        "run",
        "--rm",
        &img,
        "sh",
        "-c",
        "test -e /usr/bin/wget || echo gone",
    ])
    .assert_ok()
    .assert_stdout_is("gone");
    md.md(&["run", "--rm", &img, "ls", "/usr/sbin"])
        .assert_ok()
        .assert_stdout_is("only");
    // The base still has them.
    md.md(&["run", "--rm", "busybox", "ls", "/bin/vi"])
        .assert_ok();

    let j = image_json(&md, &img);
    assert_eq!(j["RootFS"]["Layers"].as_array().unwrap().len(), 2, "{j:#}");
    assert_eq!(j["Comment"], "marker");
    assert_eq!(j["Author"], "Tester <t@example.com>");
    assert_eq!(
        j["Config"]["Cmd"],
        serde_json::json!(["cat", "/etc/marker"])
    );

    // history: the new layer on top with its comment, then the base.
    let h = md.md(&["history", &img]);
    h.assert_ok();
    let rows: Vec<&str> = h.stdout.lines().collect();
    assert!(
        rows[0].starts_with("IMAGE") && rows[0].contains("CREATED BY"),
        "{h}"
    );
    assert_eq!(rows.len(), 3, "{h}");
    assert!(
        rows[1].contains("marker") && rows[1].contains("echo v1"),
        "{h}"
    );
    assert!(rows[2].starts_with("<missing>"), "{h}");

    md.md(&["rmi", &img]).assert_ok();
}

#[test]
fn save_then_load_in_a_fresh_root_gives_the_same_image() {
    let src = Md::with_busybox();
    let _tidy = src.tidy();
    let img = make_marked(&src, "c1", "marked:1");
    let want = image_json(&src, &img);
    let archive = src.path("marked.tar");
    src.md(&["save", "-o", archive.to_str().unwrap(), &img])
        .assert_ok();
    let oci = src.path("marked-oci.tar");
    src.md(&[
        "save",
        "--format",
        "oci-archive",
        "-o",
        oci.to_str().unwrap(),
        &img,
    ])
    .assert_ok();

    for (how, file) in [("docker", &archive), ("oci", &oci)] {
        let dst = src.another_root();
        let out = dst.md(&["load", "-i", file.to_str().unwrap()]);
        out.assert_ok().assert_stdout_contains("Loaded image");
        let got = image_json(&dst, &img);
        assert_eq!(got["Id"], want["Id"], "{how}: image id");
        assert_eq!(got["RootFS"], want["RootFS"], "{how}: layers");
        assert_eq!(got["Config"], want["Config"], "{how}: config");
        dst.md(&["run", "--rm", &img])
            .assert_ok()
            .assert_stdout_is("v1");
    }

    // From stdin too, and loading twice changes nothing.
    let dst = src.another_root();
    let bytes = fs::read(&archive).unwrap();
    let mut cmd = dst.command(&["load"]);
    cmd.env_remove("MYDOCKER_ROOT");
    run(cmd, Some(&bytes)).assert_ok();
    let layers = dst.entries("image/layers");
    dst.md(&["load", "-i", archive.to_str().unwrap()])
        .assert_ok();
    assert_eq!(dst.entries("image/layers"), layers);
    assert_eq!(image_id(&dst, &img), want["Id"].as_str().unwrap());
}

/// podman with its own storage and the containers.conf that peers.md asks for.
struct Podman {
    dir: tempfile::TempDir,
}

impl Podman {
    fn new() -> Podman {
        let dir = tempfile::Builder::new()
            .prefix("h3podman-")
            .tempdir()
            .unwrap();
        fs::write(
            dir.path().join("containers.conf"),
            "[containers]\ndefault_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n\
             [engine]\nruntime = \"runc\"\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n",
        )
        .unwrap();
        Podman { dir }
    }

    fn run(&self, args: &[&str]) -> Out {
        let d = self.dir.path();
        let mut c = Command::new("podman");
        c.env("CONTAINERS_CONF", d.join("containers.conf"))
            .arg("--root")
            .arg(d.join("root"))
            .arg("--runroot")
            .arg(d.join("runroot"))
            .args(["--storage-driver", "vfs"])
            .args(args);
        run(c, None)
    }
}

#[test]
fn save_then_podman_load_gives_the_same_id_layers_and_config() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    let img = make_marked(&md, "c1", "marked:1");
    let want = image_json(&md, &img);
    let archive = md.path("marked.tar");
    md.md(&["save", "-o", archive.to_str().unwrap(), &img])
        .assert_ok();

    let podman = Podman::new();
    podman
        .run(&["load", "-i", archive.to_str().unwrap()])
        .assert_ok()
        .assert_stdout_contains("marked:1");
    let out = podman.run(&["image", "inspect", "docker.io/library/marked:1"]);
    out.assert_ok();
    let got: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let got = &got[0];
    assert_eq!(
        format!("sha256:{}", got["Id"].as_str().unwrap()),
        want["Id"].as_str().unwrap(),
        "image id\n{out}"
    );
    assert_eq!(got["RootFS"]["Layers"], want["RootFS"]["Layers"], "layers");
    assert_eq!(got["Config"]["Cmd"], want["Config"]["Cmd"], "config");
    // podman's own save of it loads back into mydocker as the same image.
    let back = md.path("from-podman.tar");
    podman
        .run(&[
            "save",
            "-o",
            back.to_str().unwrap(),
            "docker.io/library/marked:1",
        ])
        .assert_ok();
    let fresh = md.another_root();
    fresh
        .md(&["load", "-i", back.to_str().unwrap()])
        .assert_ok();
    let ids = fresh.md(&["images", "-q", "--no-trunc"]);
    ids.assert_ok()
        .assert_stdout_is(want["Id"].as_str().unwrap());
    md.md(&["rmi", &img]).assert_ok();
}

/// An OCI layout made by umoci from the busybox rootfs (as peers.md shows).
fn umoci_layout(dir: &Path) -> PathBuf {
    let rootfs = dir.join("rootfs");
    fs::create_dir_all(&rootfs).unwrap();
    host(
        "tar",
        &[
            "-C",
            rootfs.to_str().unwrap(),
            "-xf",
            busybox_tar().to_str().unwrap(),
        ],
    )
    .assert_ok();
    let layout = dir.join("oci");
    let l = layout.to_str().unwrap();
    let image = format!("{l}:latest");
    host("umoci", &["init", "--layout", l]).assert_ok();
    host("umoci", &["new", "--image", &image]).assert_ok();
    host(
        "umoci",
        &["insert", "--image", &image, rootfs.to_str().unwrap(), "/"],
    )
    .assert_ok();
    host(
        "umoci",
        &[
            "config",
            "--image",
            &image,
            "--config.cmd=/bin/sh",
            "--config.env=PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        ],
    )
    .assert_ok();
    host("umoci", &["gc", "--layout", l]).assert_ok();
    layout
}

#[test]
fn skopeo_copies_load_with_the_same_id() {
    let md = Md::new();
    let _tidy = md.tidy();
    let layout = umoci_layout(&md.path("umoci"));
    let l = layout.to_str().unwrap();
    let raw = host("skopeo", &["inspect", "--raw", &format!("oci:{l}:latest")]);
    raw.assert_ok();
    let manifest: serde_json::Value = serde_json::from_str(&raw.stdout).unwrap();
    let want = manifest["config"]["digest"].as_str().unwrap().to_string();

    let darchive = md.path("bb-docker.tar");
    let oarchive = md.path("bb-oci.tar");
    host(
        "skopeo",
        &[
            "copy",
            "-q",
            &format!("oci:{l}:latest"),
            &format!(
                "docker-archive:{}:docker.io/library/bb:latest",
                darchive.display()
            ),
        ],
    )
    .assert_ok();
    host(
        "skopeo",
        &[
            "copy",
            "-q",
            &format!("oci:{l}:latest"),
            &format!(
                "oci-archive:{}:docker.io/library/bb:latest",
                oarchive.display()
            ),
        ],
    )
    .assert_ok();
    for src in [&darchive, &oarchive, &layout] {
        let fresh = md.another_root();
        fresh.md(&["load", "-i", src.to_str().unwrap()]).assert_ok();
        let ids = fresh.md(&["images", "-q", "--no-trunc"]);
        ids.assert_ok().assert_stdout_is(&want);
        if src != &layout {
            fresh
                .md(&["run", "--rm", "--network", "none", "bb", "echo", "ran"])
                .assert_ok()
                .assert_stdout_is("ran");
        }
    }

    // Our save, through skopeo into an OCI layout, loads back as the same image.
    let src = {
        let s = md.another_root();
        s.import_busybox();
        s
    };
    let ours = src.path("ours.tar");
    src.md(&["save", "-o", ours.to_str().unwrap(), "busybox"])
        .assert_ok();
    let back = src.path("via-skopeo");
    host(
        "skopeo",
        &[
            "copy",
            "-q",
            &format!("docker-archive:{}", ours.display()),
            &format!("oci:{}:latest", back.display()),
        ],
    )
    .assert_ok();
    // skopeo rewrites a docker config as an OCI config (a new digest): the id to expect is
    // the layout's config digest, and the layers (diff ids) are ours.
    let raw = host(
        "skopeo",
        &[
            "inspect",
            "--raw",
            &format!("oci:{}:latest", back.display()),
        ],
    );
    raw.assert_ok();
    let manifest: serde_json::Value = serde_json::from_str(&raw.stdout).unwrap();
    let fresh = md.another_root();
    fresh
        .md(&["load", "-i", back.to_str().unwrap()])
        .assert_ok();
    let o = fresh.md(&["images", "-q", "--no-trunc"]);
    o.assert_ok()
        .assert_stdout_is(manifest["config"]["digest"].as_str().unwrap());
    assert_eq!(
        image_json(&fresh, o.out())["RootFS"]["Layers"],
        image_json(&src, "busybox")["RootFS"]["Layers"]
    );
}

#[test]
fn tag_rmi_and_images() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    let id = image_id(&md, "busybox");
    md.md(&["tag", "busybox", "mybox:v1"]).assert_ok();
    let imgs = md.md(&["images"]);
    imgs.assert_ok();
    assert!(
        imgs.stdout
            .lines()
            .next()
            .unwrap()
            .starts_with("REPOSITORY"),
        "{imgs}"
    );
    assert!(
        imgs.stdout
            .lines()
            .any(|l| l.starts_with("mybox ") && l.contains("v1") && l.contains(&id[7..19])),
        "{imgs}"
    );
    md.md(&["images", "-q"])
        .assert_ok()
        .assert_stdout_is(&id[7..19]);
    md.md(&["rmi", "mybox:v1"])
        .assert_ok()
        .assert_stdout_is("Untagged: mybox:v1");
    md.md(&["image", "inspect", "mybox:v1"]).assert_fail();
    assert_eq!(image_id(&md, "busybox"), id, "untagging kept the image");

    // An image a container uses is refused without -f.
    md.md(&["run", "--name", "user", "busybox", "true"])
        .assert_ok();
    md.md(&["rmi", "busybox"])
        .assert_exit(1)
        .assert_stderr_contains("a container is using its referenced image")
        .assert_one_line_error();
    assert_eq!(image_id(&md, "busybox"), id);
    md.md(&["rm", "user"]).assert_ok();
    md.md(&["rmi", "nosuch:image"])
        .assert_exit(1)
        .assert_one_line_error();
    let out = md.md(&["rmi", "busybox"]);
    out.assert_ok().assert_stdout_contains("Deleted: ");
    md.md(&["images", "-q"]).assert_ok().assert_stdout_is("");
    assert!(
        md.entries("image/layers").is_empty(),
        "{:?}",
        md.entries("image/layers")
    );
}

#[test]
fn export_then_import_gives_the_containers_filesystem() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    md.md(&[
        "run",
        "--name",
        "c1",
        "busybox",
        "sh",
        "-c",
        "echo v1 > /etc/marker; rm /bin/vi",
    ])
    .assert_ok();
    let tar = md.path("c1.tar");
    md.md(&["export", "c1", "-o", tar.to_str().unwrap()])
        .assert_ok();
    let list = host("tar", &["-tf", tar.to_str().unwrap()]);
    assert!(
        list.stdout
            .lines()
            .any(|l| l.trim_start_matches("./") == "etc/marker"),
        "{list}"
    );
    assert!(!list
        .stdout
        .lines()
        .any(|l| l.trim_start_matches("./") == "bin/vi"));
    md.md(&["import", tar.to_str().unwrap(), "flat:1"])
        .assert_ok();
    md.md(&["run", "--rm", "flat:1", "cat", "/etc/marker"])
        .assert_ok()
        .assert_stdout_is("v1");
    md.md(&["run", "--rm", "flat:1", "ls", "/bin/vi"])
        .assert_fail();
    assert_eq!(
        image_json(&md, "flat:1")["RootFS"]["Layers"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    md.md(&["rm", "c1"]).assert_ok();
}

// ---- hostile archives ------------------------------------------------------------------

/// One ustar entry: `kind` b'0' file, b'2' symlink, b'1' hardlink, b'5' directory.
fn tar_entry(name: &str, kind: u8, link: &str, data: &[u8]) -> Vec<u8> {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    let mode = if kind == b'5' {
        "0000755\0"
    } else {
        "0000644\0"
    };
    h[100..108].copy_from_slice(mode.as_bytes());
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
    h[136..148].copy_from_slice(b"14000000000\0");
    h[148..156].copy_from_slice(b"        ");
    h[156] = kind;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut v = h.to_vec();
    v.extend_from_slice(data);
    v.resize(v.len().div_ceil(512) * 512, 0);
    v
}

fn tar_of(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut v: Vec<u8> = entries.concat();
    v.extend_from_slice(&[0u8; 1024]);
    v
}

/// A docker-archive whose only layer is `layer` (digests all correct).
fn docker_archive(layer: &[u8], tag: &str) -> Vec<u8> {
    let diff = sha256_hex(layer);
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Cmd":["sh"]}},"rootfs":{{"type":"layers","diff_ids":["sha256:{diff}"]}},"history":[{{"created_by":"test"}}]}}"#
    );
    let cfg = sha256_hex(config.as_bytes());
    let manifest = format!(
        r#"[{{"Config":"{cfg}.json","RepoTags":["{tag}"],"Layers":["{diff}/layer.tar"]}}]"#
    );
    tar_of(&[
        tar_entry(&format!("{diff}/"), b'5', "", b""),
        tar_entry(&format!("{diff}/layer.tar"), b'0', "", layer),
        tar_entry(&format!("{cfg}.json"), b'0', "", config.as_bytes()),
        tar_entry("manifest.json", b'0', "", manifest.as_bytes()),
    ])
}

/// Files named `name` anywhere under `dir` (not following symlinks).
fn find_named(dir: &Path, name: &str) -> Vec<PathBuf> {
    let out = host("find", &[dir.to_str().unwrap(), "-xdev", "-name", name]);
    out.stdout.lines().map(PathBuf::from).collect()
}

#[test]
fn hostile_archives_are_refused_by_load_and_import() {
    let md = Md::new();
    let _tidy = md.tidy();
    let tmp = std::env::temp_dir();
    // A directory outside the root that the archives aim at.
    let outside = tempfile::Builder::new()
        .prefix("h3outside-")
        .tempdir()
        .unwrap();
    let o = outside.path().to_str().unwrap().to_string();
    let evil = unique_name("evil-");
    let data = b"pwned\n";
    let file = |n: &str| tar_entry(n, b'0', "", data);
    let depth = "../".repeat(12);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "dot-dot path",
            tar_of(&[file("bin/"), file(&format!("../{evil}"))]),
        ),
        (
            "deep dot-dot path",
            tar_of(&[file(&format!(
                "{depth}{}/{evil}",
                o.trim_start_matches('/')
            ))]),
        ),
        (
            "symlink then a write through it",
            tar_of(&[
                tar_entry("link", b'2', &o, b""),
                file(&format!("link/{evil}")),
            ]),
        ),
        (
            "relative symlink then a write through it",
            tar_of(&[
                tar_entry(
                    "rel",
                    b'2',
                    &format!("{depth}{}", o.trim_start_matches('/')),
                    b"",
                ),
                file(&format!("rel/{evil}")),
            ]),
        ),
        (
            "hardlink to a host file",
            tar_of(&[tar_entry(&evil, b'1', "/etc/passwd", b"")]),
        ),
    ];
    let images_before = md.md(&["images", "-q"]).stdout;
    for (what, layer) in &cases {
        let tar = md.path(&format!("{}.tar", unique_name("layer-")));
        fs::write(&tar, layer).unwrap();
        let imp = md.md(&["import", tar.to_str().unwrap(), "evil:import"]);
        imp.assert_fail().assert_one_line_error();
        let archive = md.path(&format!("{}.tar", unique_name("archive-")));
        fs::write(&archive, docker_archive(layer, "evil:load")).unwrap();
        let load = md.md(&["load", "-i", archive.to_str().unwrap()]);
        load.assert_fail().assert_one_line_error();
        // Nothing outside, nothing half-made inside.
        let found: Vec<PathBuf> = [outside.path(), tmp.as_path(), md.root()]
            .iter()
            .flat_map(|d| find_named(d, &evil))
            .collect();
        assert!(
            found.is_empty(),
            "{what}: files written: {found:?}\n{imp}\n{load}"
        );
        assert!(
            fs::read_dir(outside.path()).unwrap().next().is_none(),
            "{what}: wrote outside"
        );
        assert_eq!(
            md.md(&["images", "-q"]).stdout,
            images_before,
            "{what}: an image was made"
        );
        assert!(
            md.entries("image/layers").is_empty(),
            "{what}: a layer was kept"
        );
        eprintln!(
            "{what}: import: {} load: {}",
            imp.stderr.trim(),
            load.stderr.trim()
        );
    }

    // An absolute path: never outside the root (Docker anchors it inside the layer).
    let layer = tar_of(&[file(&format!("{o}/{evil}"))]);
    let tar = md.path("absolute.tar");
    fs::write(&tar, &layer).unwrap();
    let imp = md.md(&["import", tar.to_str().unwrap(), "abs:import"]);
    let archive = md.path("absolute-archive.tar");
    fs::write(&archive, docker_archive(&layer, "abs:load")).unwrap();
    let load = md.md(&["load", "-i", archive.to_str().unwrap()]);
    assert!(
        fs::read_dir(outside.path()).unwrap().next().is_none(),
        "absolute path: wrote outside\n{imp}\n{load}"
    );
    for (out, image) in [(&imp, "abs:import"), (&load, "abs:load")] {
        if out.code == 0 {
            md.md(&["rmi", image]).assert_ok();
        } else {
            out.assert_one_line_error();
        }
    }
    assert!(md.entries("image/layers").is_empty());

    // A layer whose digest does not match the config's diff id.
    let good = tar_of(&[file("hello")]);
    let mut archive = docker_archive(&good, "bad:digest");
    let pos = archive.windows(5).position(|w| w == b"pwned").unwrap();
    archive[pos] = b'P';
    let path = md.path("bad-digest.tar");
    fs::write(&path, &archive).unwrap();
    md.md(&["load", "-i", path.to_str().unwrap()])
        .assert_fail()
        .assert_one_line_error();
    // A truncated archive of a real image.
    let src = {
        let s = md.another_root();
        s.import_busybox();
        s
    };
    let full = src.path("full.tar");
    src.md(&["save", "-o", full.to_str().unwrap(), "busybox"])
        .assert_ok();
    let bytes = fs::read(&full).unwrap();
    let cut = md.path("truncated.tar");
    fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    md.md(&["load", "-i", cut.to_str().unwrap()])
        .assert_fail()
        .assert_one_line_error();
    // A manifest naming a blob that is not there.
    let missing = tar_of(&[tar_entry(
        "manifest.json",
        b'0',
        "",
        br#"[{"Config":"nothere.json","RepoTags":["gone:1"],"Layers":["nothere/layer.tar"]}]"#,
    )]);
    let path = md.path("missing.tar");
    fs::write(&path, missing).unwrap();
    md.md(&["load", "-i", path.to_str().unwrap()])
        .assert_fail()
        .assert_one_line_error();
    assert_eq!(md.md(&["images", "-q"]).stdout, images_before);
    assert!(md.entries("image/layers").is_empty());
    // The store still works.
    md.import_busybox();
    md.md(&["run", "--rm", "--network", "none", "busybox", "true"])
        .assert_ok();
}

#[test]
fn layers_shared_by_two_images_are_stored_once() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    assert_eq!(md.entries("image/layers").len(), 1);
    make_marked(&md, "c1", "one:1");
    md.md(&[
        "run",
        "--name",
        "c2",
        "busybox",
        "sh",
        "-c",
        "echo two > /two",
    ])
    .assert_ok();
    md.md(&["commit", "c2", "two:1"]).assert_ok();
    md.md(&["rm", "c2"]).assert_ok();
    let base = &image_json(&md, "busybox")["RootFS"]["Layers"][0];
    assert_eq!(&image_json(&md, "one:1")["RootFS"]["Layers"][0], base);
    assert_eq!(&image_json(&md, "two:1")["RootFS"]["Layers"][0], base);
    assert_eq!(
        md.entries("image/layers").len(),
        3,
        "base + one layer per commit: {:?}",
        md.entries("image/layers")
    );

    // Loaded together into a fresh root: still three layers, base once.
    let archive = md.path("both.tar");
    md.md(&["save", "-o", archive.to_str().unwrap(), "one:1", "two:1"])
        .assert_ok();
    let fresh = md.another_root();
    fresh
        .md(&["load", "-i", archive.to_str().unwrap()])
        .assert_ok();
    assert_eq!(
        fresh.entries("image/layers").len(),
        3,
        "{:?}",
        fresh.entries("image/layers")
    );
    // Removing one image keeps the shared base for the other.
    fresh.md(&["rmi", "one:1"]).assert_ok();
    assert_eq!(fresh.entries("image/layers").len(), 2);
    fresh
        .md(&["run", "--rm", "--network", "none", "two:1", "cat", "/two"])
        .assert_ok()
        .assert_stdout_is("two");
}

#[test]

fn absolute_paths_in_archives_are_refused() {
    let md = Md::new();
    let layer = tar_of(&[tar_entry("/tmp/absolute-evil", b'0', "", b"x")]);
    let tar = md.path("absolute.tar");
    fs::write(&tar, &layer).unwrap();
    md.md(&["import", tar.to_str().unwrap(), "abs:import"])
        .assert_fail()
        .assert_one_line_error();
    let archive = md.path("absolute-archive.tar");
    fs::write(&archive, docker_archive(&layer, "abs:load")).unwrap();
    md.md(&["load", "-i", archive.to_str().unwrap()])
        .assert_fail()
        .assert_one_line_error();
}
