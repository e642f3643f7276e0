//! Container lifecycle (issue 3): detached containers and their monitor, `ps`, `logs`,
//! `exec`, `stop`, `kill`, restart policies, `pause`, `rename`, `wait`, `rm`, `attach`,
//! bad names, races and killed processes. Each test compares with what Docker does for
//! the same input and removes its containers.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::harness::{cgroup_dirs_of, is_full_id, shell_quote, Md, Out, BIN};

/// A container that prints a counter every 0.2 s and exits 0 on SIGTERM at once
/// (`wait` is interrupted by a trapped signal).
pub const TICKER: &str =
    r#"trap "exit 0" TERM; i=0; while :; do i=$((i+1)); echo tick$i; sleep 0.2 & wait $!; done"#;

/// A container that exits 0 on SIGTERM at once and otherwise idles.
pub const IDLE: &str = r#"trap "exit 0" TERM; while :; do sleep 1 & wait $!; done"#;

/// `run -d ARGS`; returns the full id it printed.
#[track_caller]
pub fn run_d(md: &Md, args: &[&str]) -> String {
    let mut a = vec!["run", "-d"];
    a.extend_from_slice(args);
    let out = md.md(&a);
    out.assert_ok();
    let id = out.out().to_string();
    assert!(is_full_id(&id), "run -d printed {id:?}\n{out}");
    id
}

/// `inspect -f FORMAT NAME`, trimmed.
#[track_caller]
pub fn inspect_f(md: &Md, format: &str, name: &str) -> String {
    let out = md.md(&["inspect", "-f", format, name]);
    out.assert_ok();
    out.out().to_string()
}

/// Polls `cond` every 50 ms; panics with `what` after `secs`.
#[track_caller]
pub fn wait_until(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out after {secs}s waiting for: {what}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

fn status(md: &Md, name: &str) -> String {
    inspect_f(md, "{{.State.Status}}", name)
}

fn log_lines(md: &Md, name: &str) -> usize {
    md.md(&["logs", name]).stdout.lines().count()
}

/// Is `pid` gone (or a zombie nobody reaped yet)?
fn process_gone(pid: &str) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s
            .rsplit_once(')')
            .map(|(_, rest)| rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
    }
}

/// Processes whose command line mentions `needle` (monitors name their root).
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut v = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Ok(cmd) = fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(needle) && !process_gone(&name) {
                v.push(format!("{name}: {cmd}"));
            }
        }
    }
    v
}

#[test]
fn ps_shows_dockers_columns_states_and_filters() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    let web = run_d(
        &md,
        &["--name", "web", "-e", "A=1", "busybox", "sh", "-c", TICKER],
    );
    let done = run_d(&md, &["--name", "done", "busybox", "true"]);
    md.md(&["wait", "done"]).assert_ok().assert_stdout_is("0");

    // Docker's columns, in Docker's order; only running containers by default.
    let ps = md.md(&["ps"]);
    ps.assert_ok();
    let header: Vec<&str> = ps
        .stdout
        .lines()
        .next()
        .unwrap()
        .split("  ")
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .collect();
    assert_eq!(
        header,
        [
            "CONTAINER ID",
            "IMAGE",
            "COMMAND",
            "CREATED",
            "STATUS",
            "PORTS",
            "NAMES"
        ],
        "{ps}"
    );
    let rows: Vec<&str> = ps.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "ps shows only running containers\n{ps}");
    assert!(rows[0].starts_with(&web[..12]), "{ps}");
    assert!(
        rows[0].contains("busybox") && rows[0].contains(" Up "),
        "{ps}"
    );
    assert!(rows[0].trim_end().ends_with("web"), "{ps}");
    assert!(
        rows[0].contains("\"sh -c trap"),
        "the COMMAND column is quoted\n{ps}"
    );

    // -a: both, newest first; the exited one says "Exited (0) ... ago".
    let all = md.md(&["ps", "-a"]);
    let rows: Vec<&str> = all.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{all}");
    assert!(
        rows[0].starts_with(&done[..12]) && rows[0].contains("Exited (0)"),
        "{all}"
    );

    // -q: short ids; --no-trunc: full ones.
    md.md(&["ps", "-a", "-q"])
        .assert_ok()
        .assert_stdout_is(&format!("{}\n{}", &done[..12], &web[..12]));
    md.md(&["ps", "-q", "--no-trunc"])
        .assert_ok()
        .assert_stdout_is(&web);
    md.md(&["ps", "-l", "-q"])
        .assert_ok()
        .assert_stdout_is(&done[..12]);
    md.md(&["ps", "-n", "1", "-q"])
        .assert_ok()
        .assert_stdout_is(&done[..12]);

    // --format json: one object per line with Docker's keys.
    let js = md.md(&["ps", "-a", "--format", "json"]);
    js.assert_ok();
    let objs: Vec<serde_json::Value> = js
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}\n{js}")))
        .collect();
    assert_eq!(objs.len(), 2, "{js}");
    let by_name = |n: &str| objs.iter().find(|o| o["Names"] == n).cloned().unwrap();
    assert_eq!(by_name("web")["State"], "running", "{js}");
    assert_eq!(by_name("web")["ID"], &web[..12], "{js}");
    assert_eq!(by_name("web")["Image"], "busybox", "{js}");
    assert_eq!(by_name("done")["State"], "exited", "{js}");
    assert!(by_name("done")["Status"]
        .as_str()
        .unwrap()
        .starts_with("Exited (0)"));

    // Go templates and filters.
    md.md(&["ps", "-a", "--format", "{{.Names}} {{.State}}"])
        .assert_ok()
        .assert_stdout_is("done exited\nweb running");
    md.md(&["ps", "-a", "-q", "--filter", "status=exited"])
        .assert_ok()
        .assert_stdout_is(&done[..12]);
    md.md(&["ps", "-a", "-q", "--filter", "status=running"])
        .assert_ok()
        .assert_stdout_is(&web[..12]);
    md.md(&["ps", "-a", "-q", "--filter", "name=web"])
        .assert_ok()
        .assert_stdout_is(&web[..12]);
    md.md(&["ps", "-a", "-q", "--filter", &format!("id={}", &done[..8])])
        .assert_ok()
        .assert_stdout_is(&done[..12]);
    md.md(&["ps", "-a", "-q", "--filter", "name=nosuch"])
        .assert_ok()
        .assert_stdout_is("");

    md.md(&["rm", "-f", "web", "done"]).assert_ok();
    md.md(&["ps", "-a", "-q"]).assert_ok().assert_stdout_is("");
}

#[test]
fn logs_keep_order_and_support_timestamps_tail_and_follow() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    run_d(
        &md,
        &[
            "--name",
            "talker",
            "busybox",
            "sh",
            "-c",
            "for i in 1 2 3 4 5 6; do echo out$i; done; echo err1 >&2",
        ],
    );
    md.md(&["wait", "talker"]).assert_ok().assert_stdout_is("0");

    // Streams stay apart, as `docker logs` writes stderr lines to its stderr.
    let logs = md.md(&["logs", "talker"]);
    logs.assert_ok()
        .assert_stdout_is("out1\nout2\nout3\nout4\nout5\nout6");
    assert_eq!(logs.stderr.trim(), "err1", "{logs}");

    // --tail counts log lines of both streams, as Docker's json-file does.
    let tail = md.md(&["logs", "--tail", "2", "talker"]);
    tail.assert_ok().assert_stdout_is("out6");
    assert_eq!(tail.stderr.trim(), "err1", "{tail}");
    md.md(&["logs", "--tail", "3", "talker"])
        .assert_ok()
        .assert_stdout_is("out5\nout6");
    md.md(&["logs", "-n", "0", "talker"])
        .assert_ok()
        .assert_stdout_is("");

    let ts = md.md(&["logs", "-t", "talker"]);
    ts.assert_ok();
    let mut prev = String::new();
    for (i, line) in ts.stdout.lines().enumerate() {
        let (stamp, text) = line.split_once(' ').expect("timestamp then text");
        // RFC 3339 with nanoseconds in UTC, as Docker: 2024-01-02T03:04:05.123456789Z
        assert!(
            stamp.len() >= 20 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
            "not a timestamp: {line:?}\n{ts}"
        );
        assert_eq!(text, format!("out{}", i + 1), "{ts}");
        assert!(stamp >= prev.as_str(), "timestamps go backwards\n{ts}");
        prev = stamp.to_string();
    }

    // -f follows new lines and ends by itself when the container exits.
    run_d(
        &md,
        &[
            "--name",
            "slow",
            "busybox",
            "sh",
            "-c",
            "for i in 1 2 3 4 5; do echo slow$i; sleep 0.3; done",
        ],
    );
    let start = Instant::now();
    let follow = md.spawn(&["logs", "-f", "slow"]).wait();
    let took = start.elapsed();
    follow
        .assert_ok()
        .assert_stdout_is("slow1\nslow2\nslow3\nslow4\nslow5");
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(20),
        "logs -f took {took:?}: it should follow until the container exits"
    );
    // Following an exited container ends at once.
    md.md(&["logs", "-f", "--tail", "1", "slow"])
        .assert_ok()
        .assert_stdout_is("slow5");

    md.md(&["rm", "talker", "slow"]).assert_ok();
}

#[test]
fn stop_escalates_to_sigkill_when_sigterm_is_ignored() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    run_d(
        &md,
        &[
            "--name",
            "stubborn",
            "busybox",
            "sh",
            "-c",
            r#"trap "" TERM; while :; do sleep 1; done"#,
        ],
    );
    let start = Instant::now();
    md.md(&["stop", "-t", "1", "stubborn"])
        .assert_ok()
        .assert_stdout_is("stubborn");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(10),
        "stop -t 1 took {took:?}"
    );
    assert_eq!(inspect_f(&md, "{{.State.ExitCode}}", "stubborn"), "137");
    assert_eq!(status(&md, "stubborn"), "exited");
    let ps = md.md(&["ps", "-a", "--format", "{{.Status}}"]);
    assert!(ps.out().starts_with("Exited (137)"), "{ps}");
    md.md(&["rm", "stubborn"]).assert_ok();
}

#[test]
fn stop_of_a_process_that_handles_sigterm_returns_its_exit_code() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    run_d(&md, &["--name", "polite", "busybox", "sh", "-c", IDLE]);
    run_d(
        &md,
        &[
            "--name",
            "custom",
            "busybox",
            "sh",
            "-c",
            r#"trap "exit 143" TERM; while :; do sleep 1 & wait $!; done"#,
        ],
    );
    // --stop-signal: stop sends that signal instead of SIGTERM.
    run_d(
        &md,
        &[
            "--name",
            "usr1stop",
            "--stop-signal",
            "USR1",
            "busybox",
            "sh",
            "-c",
            r#"trap "exit 42" USR1; while :; do sleep 1 & wait $!; done"#,
        ],
    );
    thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    md.md(&["stop", "-t", "5", "polite", "custom", "usr1stop"])
        .assert_ok()
        .assert_stdout_is("polite\ncustom\nusr1stop");
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "stop waited for the timeout"
    );
    assert_eq!(inspect_f(&md, "{{.State.ExitCode}}", "polite"), "0");
    assert_eq!(inspect_f(&md, "{{.State.ExitCode}}", "custom"), "143");
    assert_eq!(inspect_f(&md, "{{.State.ExitCode}}", "usr1stop"), "42");
    // Stopping a stopped container is not an error (Docker prints its name).
    md.md(&["stop", "polite"]).assert_ok();
    md.md(&["rm", "polite", "custom", "usr1stop"]).assert_ok();
}

#[test]
fn restart_policies_on_failure_and_always() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    run_d(
        &md,
        &[
            "--name",
            "flaky",
            "--restart",
            "on-failure:3",
            "busybox",
            "sh",
            "-c",
            "exit 1",
        ],
    );
    // `always`: a container that exits by itself comes back.
    run_d(
        &md,
        &[
            "--name",
            "phoenix",
            "--restart",
            "always",
            "busybox",
            "sh",
            "-c",
            "sleep 0.3; exit 2",
        ],
    );
    wait_until(30, "flaky restarted 3 times and stayed exited", || {
        inspect_f(&md, "{{.RestartCount}} {{.State.Status}}", "flaky") == "3 exited"
    });
    assert_eq!(inspect_f(&md, "{{.State.ExitCode}}", "flaky"), "1");
    thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        inspect_f(&md, "{{.RestartCount}} {{.State.Status}}", "flaky"),
        "3 exited",
        "on-failure:3 gives up after 3 restarts"
    );

    wait_until(30, "phoenix restarted by `always`", || {
        inspect_f(&md, "{{.RestartCount}}", "phoenix")
            .parse::<u32>()
            .unwrap()
            >= 1
    });
    // A stop is a user's decision: `always` does not bring it back.
    md.md(&["stop", "-t", "1", "phoenix"]).assert_ok();
    let count = inspect_f(&md, "{{.RestartCount}}", "phoenix");
    thread::sleep(Duration::from_millis(1500));
    assert_eq!(status(&md, "phoenix"), "exited");
    assert_eq!(inspect_f(&md, "{{.RestartCount}}", "phoenix"), count);
    md.md(&["ps", "-q"]).assert_ok().assert_stdout_is("");

    // on-failure does not restart a success.
    run_d(
        &md,
        &[
            "--name",
            "fine",
            "--restart",
            "on-failure",
            "busybox",
            "true",
        ],
    );
    md.md(&["wait", "fine"]).assert_ok().assert_stdout_is("0");
    thread::sleep(Duration::from_millis(500));
    assert_eq!(
        inspect_f(&md, "{{.RestartCount}} {{.State.Status}}", "fine"),
        "0 exited"
    );

    md.md(&["rm", "-f", "flaky", "phoenix", "fine"]).assert_ok();
}

#[test]
fn kill_delivers_the_signal_asked_for() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    run_d(
        &md,
        &[
            "--name",
            "catcher",
            "busybox",
            "sh",
            "-c",
            r#"trap "echo got-usr1 > /tmp/marker; echo usr1-in-log" USR1; while :; do sleep 1 & wait $!; done"#,
        ],
    );
    thread::sleep(Duration::from_millis(300));
    md.md(&["kill", "-s", "USR1", "catcher"])
        .assert_ok()
        .assert_stdout_is("catcher");
    wait_until(10, "the USR1 trap ran", || {
        md.md(&["exec", "catcher", "cat", "/tmp/marker"]).out() == "got-usr1"
    });
    wait_until(10, "the trap's line in the log", || {
        md.md(&["logs", "catcher"]).stdout.contains("usr1-in-log")
    });
    assert_eq!(
        status(&md, "catcher"),
        "running",
        "USR1 is handled, not fatal"
    );
    // `kill` without -s sends SIGKILL.
    md.md(&["kill", "catcher"]).assert_ok();
    md.md(&["wait", "catcher"])
        .assert_ok()
        .assert_stdout_is("137");
    // Killing a stopped container is an error, as in Docker.
    md.md(&["kill", "catcher"])
        .assert_exit(1)
        .assert_stderr_contains("is not running");
    md.md(&["rm", "catcher"]).assert_ok();
}

#[test]
fn pause_freezes_and_unpause_resumes() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    let id = run_d(&md, &["--name", "counter", "busybox", "sh", "-c", TICKER]);
    wait_until(10, "the counter ticks", || log_lines(&md, "counter") >= 2);
    md.md(&["pause", "counter"])
        .assert_ok()
        .assert_stdout_is("counter");
    assert_eq!(status(&md, "counter"), "paused");
    let ps = md.md(&["ps", "--format", "{{.Status}}"]);
    assert!(ps.out().contains("(Paused)"), "{ps}");
    md.md(&["ps", "-q", "--filter", "status=paused"])
        .assert_ok()
        .assert_stdout_is(&id[..12]);
    let frozen = log_lines(&md, "counter");
    thread::sleep(Duration::from_millis(1200));
    assert_eq!(
        log_lines(&md, "counter"),
        frozen,
        "the counter grew while paused"
    );
    md.md(&["exec", "counter", "true"])
        .assert_exit(1)
        .assert_stderr_contains("is paused, unpause the container before exec");
    md.md(&["pause", "counter"]).assert_fail();

    md.md(&["unpause", "counter"])
        .assert_ok()
        .assert_stdout_is("counter");
    assert_eq!(status(&md, "counter"), "running");
    wait_until(10, "the counter ticks again", || {
        log_lines(&md, "counter") > frozen + 1
    });
    md.md(&["unpause", "counter"]).assert_fail();
    md.md(&["rm", "-f", "counter"]).assert_ok();
}

#[test]
fn rename_frees_the_old_name() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    let id = run_d(&md, &["--name", "before", "busybox", "sh", "-c", IDLE]);
    md.md(&["rename", "before", "after"]).assert_ok();
    md.md(&["inspect", "before"]).assert_exit(1);
    assert_eq!(inspect_f(&md, "{{.Name}}", "after"), "/after");
    assert_eq!(inspect_f(&md, "{{.Id}}", "after"), id);
    md.md(&["exec", "after", "true"]).assert_ok();
    // The old name is free again; the new one is taken.
    run_d(&md, &["--name", "before", "busybox", "true"]);
    md.md(&["rename", "before", "after"])
        .assert_fail()
        .assert_stderr_contains("already in use");
    md.md(&["rename", "nosuch", "other"]).assert_fail();
    md.md(&["rm", "-f", "before", "after"]).assert_ok();
}

#[test]
fn exec_env_workdir_user_and_exit_codes() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    run_d(
        &md,
        &["--name", "target", "-e", "A=1", "busybox", "sh", "-c", IDLE],
    );
    md.md(&[
        "exec",
        "-e",
        "B=2",
        "-w",
        "/tmp",
        "-u",
        "1000",
        "target",
        "sh",
        "-c",
        "echo $A $B; pwd; id -u",
    ])
    .assert_ok()
    .assert_stdout_is("1 2\n/tmp\n1000");
    // exec joins the container: its hostname, its pid namespace (PID 1 is the container's).
    md.md(&["exec", "target", "cat", "/proc/1/cmdline"])
        .assert_ok()
        .assert_stdout_contains("trap");
    md.md(&["exec", "-i", "target", "cat"]).assert_ok();
    md.md_stdin(&["exec", "-i", "target", "tr", "a-z", "A-Z"], "piped in\n")
        .assert_ok()
        .assert_stdout_is("PIPED IN");

    md.md(&["exec", "target", "sh", "-c", "exit 3"])
        .assert_exit(3);
    md.md(&["exec", "target", "/etc/passwd"])
        .assert_exit(126)
        .assert_one_line_error();
    md.md(&["exec", "target", "no-such-command"])
        .assert_exit(127)
        .assert_stderr_contains("executable file not found")
        .assert_one_line_error();

    md.md(&["stop", "target"]).assert_ok();
    md.md(&["exec", "target", "true"])
        .assert_exit(1)
        .assert_stderr_contains("is not running")
        .assert_one_line_error();
    md.md(&["rm", "target"]).assert_ok();
}

#[test]
fn wait_prints_the_exit_code() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    run_d(
        &md,
        &[
            "--name",
            "seven",
            "busybox",
            "sh",
            "-c",
            "sleep 0.5; exit 7",
        ],
    );
    run_d(&md, &["--name", "zero", "busybox", "true"]);
    let start = Instant::now();
    md.md(&["wait", "seven", "zero"])
        .assert_ok()
        .assert_stdout_is("7\n0");
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "wait did not wait"
    );
    md.md(&["wait", "nosuch"])
        .assert_exit(1)
        .assert_stderr_contains("No such container: nosuch");
    md.md(&["rm", "seven", "zero"]).assert_ok();
}

#[test]
fn rm_of_a_running_container_needs_force() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    let id = run_d(&md, &["--name", "busy", "busybox", "sh", "-c", IDLE]);
    md.md(&["rm", "busy"])
        .assert_exit(1)
        .assert_stderr_contains("You cannot remove a running container")
        .assert_one_line_error();
    assert_eq!(status(&md, "busy"), "running");
    md.md(&["rm", "-f", "busy"])
        .assert_ok()
        .assert_stdout_is("busy");
    md.md(&["inspect", "busy"]).assert_exit(1);
    assert!(!md.container_dir(&id).exists());
    assert!(cgroup_dirs_of(&id).is_empty());
}

#[test]
fn unknown_and_ambiguous_names_and_prefixes_are_errors() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    for cmd in [
        vec!["stop", "nosuch"],
        vec!["rm", "nosuch"],
        vec!["exec", "nosuch", "true"],
        vec!["kill", "nosuch"],
        vec!["pause", "nosuch"],
        vec!["start", "nosuch"],
    ] {
        md.md(&cmd)
            .assert_exit(1)
            .assert_stderr_contains("No such container: nosuch")
            .assert_one_line_error();
    }
    md.md(&["inspect", "nosuch"])
        .assert_exit(1)
        .assert_stderr_contains("No such object: nosuch");

    // Make containers until two ids share their first digit (at most 17).
    let mut ids: Vec<String> = Vec::new();
    let shared = loop {
        let id = run_d(&md, &["busybox", "true"]);
        if let Some(other) = ids.iter().find(|o| o.as_bytes()[0] == id.as_bytes()[0]) {
            let _ = other;
            break id[..1].to_string();
        }
        ids.push(id);
        assert!(ids.len() <= 16, "pigeonhole");
    };
    for cmd in ["stop", "rm", "wait", "kill"] {
        md.md(&[cmd, &shared])
            .assert_exit(1)
            .assert_stderr_contains("multiple IDs found with provided prefix")
            .assert_one_line_error();
    }
    // A unique prefix works, as the 12-character short form does.
    let id = &ids[0];
    let all = md.md(&["ps", "-a", "-q", "--no-trunc"]);
    let mut n = 1;
    while all
        .stdout
        .lines()
        .filter(|l| l.starts_with(&id[..n]))
        .count()
        > 1
    {
        n += 1;
    }
    assert_eq!(inspect_f(&md, "{{.Id}}", &id[..n]), *id);
    assert_eq!(inspect_f(&md, "{{.Id}}", &id[..12]), *id);
    md.md(&["container", "prune", "-f"]).assert_ok();
    md.md(&["ps", "-a", "-q"]).assert_ok().assert_stdout_is("");
}

#[test]

fn logs_top_port_attach_rename_of_an_unknown_container_fail_like_dockers() {
    let md = Md::with_busybox();
    for cmd in [
        vec!["logs", "nosuch"],
        vec!["top", "nosuch"],
        vec!["port", "nosuch"],
        vec!["attach", "nosuch"],
        vec!["rename", "nosuch", "other"],
    ] {
        md.md(&cmd)
            .assert_exit(1)
            .assert_stderr_contains("Error response from daemon: No such container: nosuch")
            .assert_one_line_error();
    }
}

#[test]
fn a_duplicate_name_is_refused() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    let id = run_d(&md, &["--name", "twin", "busybox", "sh", "-c", IDLE]);
    md.md(&["run", "-d", "--name", "twin", "busybox", "true"])
        .assert_exit(125)
        .assert_stderr_contains(r#"The container name "/twin" is already in use by container"#)
        .assert_stderr_contains(&id)
        .assert_one_line_error();
    assert_eq!(md.md(&["ps", "-a", "-q"]).out().lines().count(), 1);
    md.md(&["rm", "-f", "twin"]).assert_ok();
}

#[test]
fn thirty_concurrent_runs_with_one_name_make_one_container() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    let bgs: Vec<_> = (0..30)
        .map(|_| md.spawn(&["run", "-d", "--name", "same", "busybox", "sh", "-c", IDLE]))
        .collect();
    let outs: Vec<Out> = bgs.into_iter().map(|b| b.wait()).collect();
    let winners: Vec<&Out> = outs.iter().filter(|o| o.code == 0).collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one run must win:\n{}",
        outs.iter()
            .map(|o| o.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
    for o in outs.iter().filter(|o| o.code != 0) {
        o.assert_exit(125)
            .assert_stderr_contains("is already in use")
            .assert_one_line_error();
    }
    let id = winners[0].out();
    md.md(&["ps", "-a", "-q", "--no-trunc"])
        .assert_ok()
        .assert_stdout_is(id);
    assert_eq!(status(&md, "same"), "running");
    assert_eq!(md.entries("containers"), vec![id.to_string()]);
    md.md(&["rm", "-f", "same"]).assert_ok();
}

#[test]
fn a_monitor_killed_with_sigkill_takes_its_container_down_truthfully() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    let id = run_d(&md, &["--name", "orphan", "busybox", "sh", "-c", IDLE]);
    let pid = inspect_f(&md, "{{.State.Pid}}", "orphan");
    let ppid = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let ppid = ppid
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    let cmdline = fs::read(format!("/proc/{ppid}/cmdline")).unwrap();
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(
        cmdline.starts_with("mydocker-monitor"),
        "parent of the init is {cmdline:?}, not the monitor"
    );
    assert!(!cgroup_dirs_of(&id).is_empty());

    let st = Command::new("kill")
        .args(["-KILL", &ppid])
        .status()
        .unwrap();
    assert!(st.success());
    wait_until(10, "the container's init died with its monitor", || {
        process_gone(&pid)
    });

    // The very next ps is truthful.
    md.md(&["ps", "-q"]).assert_ok().assert_stdout_is("");
    let ps = md.md(&["ps", "-a", "--format", "{{.Status}}"]);
    assert!(ps.out().starts_with("Exited (137)"), "{ps}");
    assert_eq!(status(&md, "orphan"), "exited");
    // Nothing of the running container is left: cgroup, mounts of its rootfs.
    wait_until(10, "the cgroup is released", || {
        cgroup_dirs_of(&id).is_empty()
    });
    let rootfs = md.container_dir(&id).join("rootfs");
    let mounted: Vec<String> = md
        .mounts_under_root()
        .into_iter()
        .filter(|m| m.contains(&id))
        .collect();
    assert!(
        mounted.is_empty(),
        "mounts left for {}: {mounted:#?}",
        rootfs.display()
    );

    // The container can start again, and be removed.
    md.md(&["start", "orphan"]).assert_ok();
    assert_eq!(status(&md, "orphan"), "running");
    md.md(&["rm", "-f", "orphan"]).assert_ok();
}

#[test]
fn a_cli_killed_during_run_d_leaves_a_working_container_or_nothing() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    let mut outcomes = Vec::new();
    for delay_ms in [0u64, 2, 5, 10, 20, 35, 50, 80, 120, 200] {
        let bg = md.spawn(&[
            "run", "-d", "--name", "fragile", "busybox", "sh", "-c", IDLE,
        ]);
        thread::sleep(Duration::from_millis(delay_ms));
        drop(bg); // SIGKILL, then reap
        thread::sleep(Duration::from_millis(300));
        let ps = md.md(&["ps", "-a", "--format", "{{.Names}} {{.State}}"]);
        ps.assert_ok();
        match ps.out() {
            "" => {
                outcomes.push((delay_ms, "nothing"));
                // The name is not blocked.
                run_d(&md, &["--name", "fragile", "busybox", "sh", "-c", IDLE]);
            }
            "fragile running" => {
                outcomes.push((delay_ms, "running"));
                md.md(&["exec", "fragile", "true"]).assert_ok();
            }
            other => panic!("after SIGKILL at {delay_ms} ms: a half-made container: {other:?}"),
        }
        md.md(&["rm", "-f", "fragile"]).assert_ok();
        md.md(&["ps", "-a", "-q"]).assert_ok().assert_stdout_is("");
        assert!(
            md.entries("names").is_empty(),
            "name left: {:?}",
            md.entries("names")
        );
    }
    eprintln!("CLI killed during run -d: {outcomes:?}");
}

/// Runs `mydocker ARGS` under `script` (a pty), typing each `(delay, text)` after its delay,
/// keeping the terminal open until the command ends.
fn tty_session(md: &Md, args: &[&str], steps: &[(u64, &str)]) -> Out {
    let mut line = shell_quote(BIN);
    line.push_str(" --root ");
    line.push_str(&shell_quote(md.root().to_str().unwrap()));
    for a in args {
        line.push(' ');
        line.push_str(&shell_quote(a));
    }
    let mut child = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut so = child.stdout.take().unwrap();
    let reader = thread::spawn(move || {
        let mut b = Vec::new();
        let _ = so.read_to_end(&mut b);
        String::from_utf8_lossy(&b).into_owned()
    });
    let mut stdin = child.stdin.take().unwrap();
    for (delay, text) in steps {
        thread::sleep(Duration::from_millis(*delay));
        let _ = stdin.write_all(text.as_bytes());
        let _ = stdin.flush();
    }
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{line}: still running 20 s after its input");
        }
        thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    let mut stderr = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
    Out {
        cmd: line,
        code: status.code().unwrap_or(-1),
        stdout: reader.join().unwrap(),
        stderr,
    }
}

#[test]
fn ctrl_p_ctrl_q_detaches_and_attach_comes_back() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    let out = tty_session(
        &md,
        &["run", "-it", "--name", "console", "busybox", "sh"],
        &[(800, "echo first-$((6*7))\n"), (500, "\x10\x11")],
    );
    out.assert_ok().assert_stdout_contains("first-42");
    assert_eq!(
        status(&md, "console"),
        "running",
        "ctrl-p ctrl-q must leave it running\n{out}"
    );

    let out = tty_session(
        &md,
        &["attach", "console"],
        &[(800, "echo back-$((6*7))\n"), (500, "\x10\x11")],
    );
    out.assert_ok().assert_stdout_contains("back-42");
    assert_eq!(status(&md, "console"), "running", "{out}");

    // Attached again, the shell's exit ends attach with its code.
    let out = tty_session(&md, &["attach", "console"], &[(800, "exit 5\n")]);
    out.assert_exit(5);
    md.md(&["wait", "console"])
        .assert_ok()
        .assert_stdout_is("5");
    md.md(&["rm", "console"]).assert_ok();
}

#[test]
fn a_hundred_cycles_of_run_exec_stop_rm_leave_nothing() {
    let md = Md::with_busybox();
    let _tidy = md.tidy();
    let root = md.root().to_str().unwrap().to_string();
    let mut ids = Vec::new();
    let start = Instant::now();
    for i in 0..100 {
        let name = format!("cycle{i}");
        let cidfile = md.cidfile();
        md.md(&[
            "run",
            "-d",
            "--cidfile",
            cidfile.to_str().unwrap(),
            "--name",
            &name,
            "busybox",
            "sh",
            "-c",
            IDLE,
        ])
        .assert_ok();
        let id = md.read_cid(&cidfile);
        md.md(&["exec", &name, "sh", "-c", "echo $((1+1))"])
            .assert_ok()
            .assert_stdout_is("2");
        md.md(&["stop", "-t", "1", &name]).assert_ok();
        md.md(&["rm", &name]).assert_ok();
        ids.push(id);
    }
    eprintln!(
        "100 cycles of run -d/exec/stop/rm took {:?}",
        start.elapsed()
    );

    md.md(&["ps", "-a", "-q"]).assert_ok().assert_stdout_is("");
    // No process: no monitor of this root, no container init.
    let procs = processes_mentioning(&root);
    assert!(procs.is_empty(), "processes left: {procs:#?}");
    // No mount, cgroup, container record or runtime state.
    assert!(
        md.mounts_under_root().is_empty(),
        "{:#?}",
        md.mounts_under_root()
    );
    for id in &ids {
        assert!(
            cgroup_dirs_of(id).is_empty(),
            "cgroup of {id} left: {:?}",
            cgroup_dirs_of(id)
        );
    }
    assert!(
        md.entries("containers").is_empty(),
        "{:?}",
        md.entries("containers")
    );
    assert!(md.entries("names").is_empty(), "{:?}", md.entries("names"));
    let run_state: Vec<String> = md
        .entries("run")
        .into_iter()
        .filter(|e| ids.iter().any(|id| e.starts_with(&id[..12])))
        .collect();
    assert!(
        run_state.is_empty(),
        "runtime state left in {root}/run: {run_state:?}"
    );
    assert!(Path::new(&root).join("containers").is_dir());
}
