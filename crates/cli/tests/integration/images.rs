//! `mydocker import` and `mydocker images`.

use std::process::Command;

use crate::harness::{busybox_tar, images_dir, Md};

fn is_image_id(s: &str) -> bool {
    s.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_short_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[test]
fn import_prints_the_image_id_and_images_lists_it() {
    let md = Md::new();
    let tar = busybox_tar();
    let out = md.md(&["import", tar.to_str().unwrap(), "busybox"]);
    out.assert_ok();
    let id = out.out().to_string();
    assert!(is_image_id(&id), "import printed {id:?}\n{out}");

    let out = md.md(&["images"]);
    out.assert_ok();
    let mut lines = out.stdout.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split("  ")
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .collect();
    assert_eq!(
        header,
        ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"],
        "{out}"
    );
    let row: Vec<&str> = lines
        .find(|l| l.starts_with("busybox "))
        .unwrap_or_else(|| panic!("no busybox row\n{out}"))
        .split_whitespace()
        .collect();
    assert_eq!(row[1], "latest", "{out}");
    assert!(is_short_id(row[2]), "IMAGE ID {:?}\n{out}", row[2]);
    assert_eq!(row[2], &id[7..19], "{out}");

    md.md(&["images", "-q"])
        .assert_ok()
        .assert_stdout_is(&id[7..19]);
    md.md(&["images", "--no-trunc"])
        .assert_ok()
        .assert_stdout_contains(&id);
}

#[test]
fn import_takes_tar_gz_and_directories_and_tags() {
    let md = Md::new();
    let gz = images_dir().join("busybox.tar.gz");
    assert!(gz.is_file(), "run scripts/build-test-images first");
    md.md(&["import", gz.to_str().unwrap(), "fromgz:v1"])
        .assert_ok();

    let dir = md.path("unpacked");
    std::fs::create_dir(&dir).unwrap();
    let st = Command::new("tar")
        .arg("-C")
        .arg(&dir)
        .arg("-xf")
        .arg(busybox_tar())
        .status()
        .unwrap();
    assert!(st.success());
    md.md(&["import", dir.to_str().unwrap(), "fromdir"])
        .assert_ok();
    std::fs::remove_dir_all(&dir).unwrap();

    let out = md.md(&["images"]);
    out.assert_ok();
    assert!(
        out.stdout
            .lines()
            .any(|l| l.split_whitespace().take(2).eq(["fromgz", "v1"])),
        "{out}"
    );
    assert!(
        out.stdout
            .lines()
            .any(|l| l.split_whitespace().take(2).eq(["fromdir", "latest"])),
        "{out}"
    );
    md.md(&["run", "--rm", "fromgz:v1", "echo", "gz"])
        .assert_ok()
        .assert_stdout_is("gz");
    md.md(&["run", "--rm", "fromdir", "echo", "dir"])
        .assert_ok()
        .assert_stdout_is("dir");
}

#[test]
fn import_change_sets_the_default_command() {
    let md = Md::new();
    let tar = busybox_tar();
    md.md(&[
        "import",
        "-c",
        r#"CMD ["echo", "from-cmd"]"#,
        "-m",
        "a message",
        tar.to_str().unwrap(),
        "withcmd",
    ])
    .assert_ok();
    md.md(&["run", "--rm", "withcmd"])
        .assert_ok()
        .assert_stdout_is("from-cmd");
    // A command given to run replaces CMD.
    md.md(&["run", "--rm", "withcmd", "echo", "given"])
        .assert_ok()
        .assert_stdout_is("given");
    md.md(&[
        "import",
        "--change",
        r#"ENTRYPOINT ["echo", "ep"]"#,
        "--change",
        r#"CMD ["default"]"#,
        tar.to_str().unwrap(),
        "withep",
    ])
    .assert_ok();
    md.md(&["run", "--rm", "withep"])
        .assert_ok()
        .assert_stdout_is("ep default");
    md.md(&["run", "--rm", "withep", "other"])
        .assert_ok()
        .assert_stdout_is("ep other");
}
