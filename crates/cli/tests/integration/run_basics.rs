//! What `mydocker run` does for a user: output, exit codes, the common flags, stdin and
//! the terminal, and the book's spelling of flags.

use crate::harness::{is_full_id, Md};

#[test]
fn echo_prints_and_exits_zero() {
    let md = Md::with_busybox();
    md.md(&["run", "--rm", "busybox", "echo", "hello from mydocker"])
        .assert_ok()
        .assert_stdout_is("hello from mydocker");
}

#[test]
fn exit_code_is_the_containers() {
    let md = Md::with_busybox();
    md.md(&["run", "--rm", "busybox", "true"]).assert_exit(0);
    md.md(&["run", "--rm", "busybox", "sh", "-c", "exit 3"])
        .assert_exit(3);
}

#[test]
fn killed_by_a_signal_exits_128_plus_signal() {
    let md = Md::with_busybox();
    // PID 1 of a pid namespace ignores signals it has no handler for when they come from
    // inside (so `kill -9 $$` in the container does nothing), and from the host all but
    // SIGKILL and SIGSTOP; so SIGKILL it from the host.
    kill_from_host(&md, "KILL").assert_exit(137);
}

/// Runs `sleep 30` as PID 1 and sends it `signal` from the host; returns run's result.
pub fn kill_from_host(md: &Md, signal: &str) -> crate::harness::Out {
    let cidfile = md.cidfile();
    let bg = md.spawn(&[
        "run",
        "--rm",
        "--pids-limit",
        "50",
        "--cidfile",
        cidfile.to_str().unwrap(),
        "busybox",
        "sleep",
        "30",
    ]);
    crate::harness::wait_for_file(&cidfile, 30);
    let id = md.read_cid(&cidfile);
    let procs = format!("/sys/fs/cgroup/pids/mydocker/{id}/cgroup.procs");
    let start = std::time::Instant::now();
    let pid = loop {
        let pids = std::fs::read_to_string(&procs).unwrap_or_default();
        // PID 1 is the one whose command is already `sleep` (not the runtime's init).
        if let Some(p) = pids.split_whitespace().find(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "sleep")
        }) {
            break p.to_string();
        }
        assert!(
            start.elapsed().as_secs() < 30,
            "no sleep process in {procs}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let st = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid])
        .status()
        .unwrap();
    assert!(st.success());
    bg.wait()
}

#[test]
fn command_not_found_exits_127() {
    let md = Md::with_busybox();
    md.md(&["run", "--rm", "busybox", "no-such-command"])
        .assert_exit(127)
        .assert_stderr_contains("executable file not found in $PATH")
        .assert_one_line_error();
}

#[test]
fn command_not_executable_exits_126() {
    let md = Md::with_busybox();
    md.md(&["run", "--rm", "busybox", "/etc/passwd"])
        .assert_exit(126)
        .assert_stderr_contains("permission denied")
        .assert_one_line_error();
}

#[test]
fn unknown_image_exits_125() {
    let md = Md::with_busybox();
    md.md(&["run", "--rm", "nosuchimage", "true"])
        .assert_exit(125)
        .assert_one_line_error();
}

#[test]
fn cidfile_gets_the_full_id_and_hostname_is_its_first_12_chars() {
    let md = Md::with_busybox();
    let cidfile = md.cidfile();
    let out = md.md(&[
        "run",
        "--rm",
        "--cidfile",
        cidfile.to_str().unwrap(),
        "busybox",
        "hostname",
    ]);
    out.assert_ok();
    let id = md.read_cid(&cidfile);
    assert!(is_full_id(&id));
    assert_eq!(out.out(), &id[..12], "{out}");
}

#[test]
fn hostname_flag_sets_the_hostname() {
    let md = Md::with_busybox();
    md.md(&["run", "--rm", "-h", "web1", "busybox", "hostname"])
        .assert_ok()
        .assert_stdout_is("web1");
    md.md(&[
        "run",
        "--rm",
        "--hostname",
        "web2",
        "busybox",
        "cat",
        "/etc/hostname",
    ])
    .assert_ok()
    .assert_stdout_is("web2");
}

#[test]
fn env_workdir_and_entrypoint() {
    let md = Md::with_busybox();
    md.md(&[
        "run",
        "--rm",
        "-e",
        "FOO=bar baz",
        "busybox",
        "sh",
        "-c",
        "echo $FOO",
    ])
    .assert_ok()
    .assert_stdout_is("bar baz");
    md.md(&["run", "--rm", "-w", "/etc", "busybox", "pwd"])
        .assert_ok()
        .assert_stdout_is("/etc");
    md.md(&[
        "run",
        "--rm",
        "--entrypoint",
        "/bin/echo",
        "busybox",
        "from",
        "entrypoint",
    ])
    .assert_ok()
    .assert_stdout_is("from entrypoint");
}

#[test]
fn user_flag_takes_names_and_ids() {
    let md = Md::with_busybox();
    md.md(&["run", "--rm", "-u", "app", "busybox", "id", "-u"])
        .assert_ok()
        .assert_stdout_is("1000");
    md.md(&[
        "run",
        "--rm",
        "-u",
        "nobody",
        "busybox",
        "sh",
        "-c",
        "id -u; id -g",
    ])
    .assert_ok()
    .assert_stdout_is("65534\n65534");
    md.md(&[
        "run",
        "--rm",
        "-u",
        "1000:65534",
        "busybox",
        "sh",
        "-c",
        "id -u; id -g",
    ])
    .assert_ok()
    .assert_stdout_is("1000\n65534");
    // Root's files are root's: the user really is not root.
    md.md(&["run", "--rm", "-u", "app", "busybox", "touch", "/etc/x"])
        .assert_fail();
}

#[test]
fn stdin_is_piped_with_i_and_empty_without() {
    let md = Md::with_busybox();
    md.md_stdin(&["run", "-i", "--rm", "busybox", "cat"], "hi\n")
        .assert_ok()
        .assert_stdout_is("hi");
    // Without -i the container's stdin is empty: cat ends at once and prints nothing.
    md.md_stdin(&["run", "--rm", "busybox", "cat"], "hi\n")
        .assert_ok()
        .assert_stdout_is("");
}

#[test]
fn it_gives_a_terminal() {
    let md = Md::with_busybox();
    for flags in [&["-it"][..], &["-ti"][..], &["-i", "-t"][..]] {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(flags);
        args.extend(["busybox", "sh"]);
        md.md_tty(&args, "tty; exit 3\n")
            .assert_exit(3)
            .assert_stdout_contains("/dev/pts/0");
    }
}

#[test]
fn book_flags_work_verbatim_under_a_terminal() {
    let md = Md::with_busybox();
    md.md_tty(
        &[
            "run",
            "-ti",
            "-mem",
            "100m",
            "-cpuset",
            "0",
            "-cpushare",
            "512",
            "busybox",
            "sh",
            "-c",
            "cat /sys/fs/cgroup/cpu/cpu.shares",
        ],
        "",
    )
    .assert_ok()
    .assert_stdout_contains("512");
    // No --rm: the book's example leaves the container, so remove it.
    let ids = md.entries("containers");
    assert_eq!(ids.len(), 1, "{ids:?}");
    md.md(&["rm", &ids[0]]).assert_ok();
}

#[test]
fn book_flags_work_without_a_terminal() {
    let md = Md::with_busybox();
    let out = md.md(&[
        "run",
        "-name",
        "book",
        "-mem",
        "100m",
        "-cpuset",
        "0",
        "-cpushare",
        "512",
        "-net",
        "none",
        "busybox",
        "sh",
        "-c",
        "cat /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpuset/cpuset.cpus \
         /sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]);
    out.assert_ok().assert_stdout_is("512\n0\n104857600");
    // -name named it: the name is taken until the container is removed.
    md.md(&["run", "--name", "book", "busybox", "true"])
        .assert_exit(125)
        .assert_one_line_error();
    md.md(&["rm", "book"]).assert_ok();
}

#[test]
fn words_after_the_image_are_the_commands() {
    let md = Md::with_busybox();
    // Book flag spellings after the image are not rewritten.
    md.md(&["run", "--rm", "busybox", "echo", "-name", "-mem", "1"])
        .assert_ok()
        .assert_stdout_is("-name -mem 1");
}

#[test]
fn debug_log_level_describes_the_steps() {
    let md = Md::with_busybox();
    let out = md.md(&["--log-level", "debug", "run", "--rm", "busybox", "true"]);
    out.assert_ok();
    let err = out.stderr.to_lowercase();
    assert!(
        err.contains("pivot_root") && err.contains("cgroup"),
        "debug output should mention pivot_root and cgroup\n{out}"
    );
}

#[test]
fn container_without_rm_stays_until_removed() {
    let md = Md::with_busybox();
    let cidfile = md.cidfile();
    md.md(&[
        "run",
        "--cidfile",
        cidfile.to_str().unwrap(),
        "busybox",
        "sh",
        "-c",
        "echo kept > /kept",
    ])
    .assert_ok();
    let id = md.read_cid(&cidfile);
    assert!(
        md.container_dir(&id).join("upper/kept").is_file(),
        "the stopped container keeps its writable layer"
    );
    assert!(
        md.mounts_under_root().is_empty(),
        "a stopped container's rootfs stays mounted: {:?}",
        md.mounts_under_root()
    );
    md.md(&["rm", &id[..12]]).assert_ok();
    assert!(!md.container_dir(&id).exists());
}
