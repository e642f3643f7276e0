//! The monitor: one small process per running container, like Podman's conmon.
//!
//! It is the parent of the container's init, so it is the one that learns its exit code.
//! It holds the container's stdio (pipes, or the pty master), writes the json-file log,
//! serves attach clients on a unix socket, records state changes, applies the restart
//! policy, and releases everything the container held when it ends. The command that
//! started it can exit (or be killed) and nothing is lost; if the monitor itself is
//! killed, the container dies with it (parent-death signal) and the next command that
//! looks at the container finds it dead and cleans up (see `Engine::refresh`).
//!
//! The life of a monitor:
//! 1. read the request (`Run` a new container, or `Start` an existing one) and prepare it;
//! 2. listen on the attach socket; runtime `create`; tell the CLI `Created`; wait for `Go`;
//! 3. runtime `start`; record `running`; tell the CLI `Started`;
//! 4. pump output to the log and to clients until init exits;
//! 5. tear down (cgroup, rootfs mount), record `exited`, maybe restart (back to 2);
//! 6. with `--rm`, remove the container; send clients the exit code; exit.

pub mod control;
pub mod logger;

use crate::attach::Frame;
use crate::create::Prepared;
use crate::error::{EngineError, Result};
use crate::layout::Layout;
use crate::record::{self, ProcessId, Status};
use crate::{overlay, terminal, Engine};
use control::{Control, ControlChannel};
use logger::{JsonLog, Stream};
use mydocker_image::timestamp::now_rfc3339;
use mydocker_runtime::{Container, CreateOptions, Signal, Stdio};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal as NixSignal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The hidden first argument that turns `mydocker` into a monitor.
pub const MONITOR_ARG: &str = "__monitor";

/// The attach socket of a container (short: unix socket paths are limited to 108 bytes).
pub fn socket_path(layout: &Layout, id: &str) -> PathBuf {
    layout
        .exec_root
        .join(format!("{}.sock", crate::ids::short_id(id)))
}

/// The CLI's handle on a monitor it started.
pub struct MonitorHandle {
    pub control: ControlChannel,
    pub child: std::process::Child,
}

/// Starts a monitor process (this binary, re-executed) and sends it `request`.
pub fn spawn(layout: &Layout, request: &Control) -> Result<MonitorHandle> {
    use std::os::unix::process::CommandExt;
    let io = |e: std::io::Error| EngineError::InvalidArgument(format!("start monitor: {e}"));
    let (control, monitor_end) = control::pair().map_err(io)?;
    let raw = monitor_end.as_raw_fd();
    let mut cmd = std::process::Command::new("/proc/self/exe");
    cmd.arg0("mydocker-monitor")
        .arg(MONITOR_ARG)
        .arg(&layout.root)
        .arg(&layout.exec_root)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null());
    // With --log-level debug or info the monitor's steps (most of a container's start) go
    // to the same stderr as ours; otherwise it has nothing to say to a terminal.
    let level = tracing::level_filters::LevelFilter::current();
    if level >= tracing::level_filters::LevelFilter::INFO {
        cmd.env("MYDOCKER_LOG_LEVEL", level.to_string().to_lowercase());
    } else {
        cmd.stderr(std::process::Stdio::null());
    }
    // SAFETY: between fork and exec we only call async-signal-safe functions (dup2, setsid).
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(raw, 3) < 0 || libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(io)?;
    drop(monitor_end);
    control.send(request).map_err(io)?;
    Ok(MonitorHandle { control, child })
}

impl MonitorHandle {
    fn expect(&self, what: &str) -> Result<Control> {
        match self.control.recv() {
            Ok(Some(Control::Failed { message, exit_code })) => {
                Err(EngineError::Failed { message, exit_code })
            }
            Ok(Some(m)) => Ok(m),
            Ok(None) => Err(EngineError::InvalidArgument(format!(
                "the container's monitor exited before {what}"
            ))),
            Err(e) => Err(EngineError::InvalidArgument(format!("monitor: {e}"))),
        }
    }

    /// Waits until the container is created; returns its id.
    pub fn wait_created(&self) -> Result<String> {
        match self.expect("creating the container")? {
            Control::Created { id } => Ok(id),
            other => Err(EngineError::InvalidArgument(format!(
                "monitor: unexpected {other:?}"
            ))),
        }
    }

    /// Lets the monitor start the container and waits until it runs.
    pub fn go(&self) -> Result<i32> {
        self.control
            .send(&Control::Go)
            .map_err(|e| EngineError::InvalidArgument(format!("monitor: {e}")))?;
        match self.expect("starting the container")? {
            Control::Started { pid } => Ok(pid),
            other => Err(EngineError::InvalidArgument(format!(
                "monitor: unexpected {other:?}"
            ))),
        }
    }
}

/// Entry point of the monitor process. Returns its exit status.
pub fn main(root: PathBuf, exec_root: PathBuf) -> i32 {
    // SAFETY: fd 3 was set up by `spawn` as our end of the control channel; we own it.
    let control = ControlChannel::from_fd(unsafe { OwnedFd::from_raw_fd(3) });
    let fail = |control: &ControlChannel, e: &EngineError| {
        let _ = control.send(&Control::Failed {
            message: e.to_string(),
            exit_code: e.exit_code(),
        });
    };
    let engine = match Engine::open(Layout::new(root, exec_root)) {
        Ok(e) => e,
        Err(e) => {
            fail(&control, &e);
            return 1;
        }
    };
    let me = ProcessId::of(std::process::id() as i32).unwrap_or_default();
    let request = control.recv().ok().flatten();
    let (prepared, is_new) = match request {
        Some(Control::Run(opts)) => (engine.prepare_new(&opts, me), true),
        Some(Control::Start { id }) => (engine.prepare_existing(&id, me), false),
        _ => return 1,
    };
    let prepared = match prepared {
        Ok(p) => p,
        Err(e) => {
            fail(&control, &e);
            return 1;
        }
    };
    let mut monitor = Monitor {
        engine: &engine,
        prepared,
        control: Some(control),
        clients: Vec::new(),
        is_new,
    };
    match monitor.run() {
        Ok(()) => 0,
        Err(e) => {
            if let Some(c) = &monitor.control {
                fail(c, &e);
            }
            1
        }
    }
}

struct Monitor<'a> {
    engine: &'a Engine,
    prepared: Prepared,
    /// The CLI that asked for the container, until it has heard `Started`.
    control: Option<ControlChannel>,
    clients: Vec<UnixStream>,
    is_new: bool,
}

/// The container's side of its stdio while it runs.
struct Stdio3 {
    stdin: Option<OwnedFd>,
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
    pty: Option<OwnedFd>,
}

impl Monitor<'_> {
    fn dir(&self) -> &Path {
        &self.prepared.paths.dir
    }

    fn run(&mut self) -> Result<()> {
        // SAFETY: prctl(PR_SET_CHILD_SUBREAPER) only changes a flag of this process.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        let mut mask = SigSet::empty();
        for s in [
            NixSignal::SIGCHLD,
            NixSignal::SIGTERM,
            NixSignal::SIGINT,
            NixSignal::SIGHUP,
            NixSignal::SIGPIPE,
        ] {
            mask.add(s);
        }
        mask.thread_block()
            .map_err(crate::error::sys_err("block signals"))?;
        let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
            .map_err(crate::error::sys_err("signalfd"))?;

        let sock_path = socket_path(&self.engine.layout, &self.prepared.record.id);
        let _ = std::fs::remove_file(&sock_path);
        let listener = UnixListener::bind(&sock_path).map_err(|e| {
            EngineError::InvalidArgument(format!("listen on {}: {e}", sock_path.display()))
        })?;
        listener
            .set_nonblocking(true)
            .map_err(|e| EngineError::InvalidArgument(format!("attach socket: {e}")))?;
        let log_path = self
            .dir()
            .join(format!("{}-json.log", self.prepared.record.id));
        let mut log = JsonLog::open(&log_path, self.prepared.record.config.log)
            .map_err(crate::error::io_err("open log", &log_path))?;

        let result = self.lifecycle(&sfd, &listener, &mut log);
        log.flush_partial();
        let _ = std::fs::remove_file(&sock_path);
        let code = match &result {
            Ok(code) => *code,
            Err(e) => e.exit_code(),
        };
        if self.prepared.record.config.remove || (self.is_new && result.is_err()) {
            let _ = self.engine.remove_container_files(&self.prepared.record);
            self.engine
                .remove_anonymous_volumes(&self.prepared.record.config.mounts);
        }
        self.broadcast(&Frame::Exit(code));
        result.map(|_| ())
    }

    /// Steps 2 to 5, repeated while the restart policy says so. Returns the last exit code.
    fn lifecycle(
        &mut self,
        sfd: &SignalFd,
        listener: &UnixListener,
        log: &mut JsonLog,
    ) -> Result<i32> {
        let mut first = true;
        loop {
            let (mut container, stdio) = match self.create() {
                Ok(c) => c,
                Err(e) => {
                    self.record_failure(&e);
                    let _ = overlay::unmount_rootfs(&self.prepared.paths);
                    return Err(e);
                }
            };
            // The network namespace exists and nothing runs in it yet: connect it now.
            match self
                .engine
                .connect_container(&self.prepared.record, container.pid().as_raw())
                .and_then(|ep| self.engine.record_endpoint(&self.prepared.record.id, ep))
            {
                Ok(rec) => self.prepared.record = rec,
                Err(e) => {
                    let _ = self.engine.disconnect_container(&self.prepared.record.id);
                    let _ = container.destroy();
                    self.record_failure(&e);
                    let _ = overlay::unmount_rootfs(&self.prepared.paths);
                    return Err(e);
                }
            }
            if first {
                if let Some(c) = &self.control {
                    let _ = c.send(&Control::Created {
                        id: self.prepared.record.id.clone(),
                    });
                    // Wait for `Go`; a CLI that went away counts as `Go`.
                    let _ = c.recv();
                }
                self.accept_clients(listener);
            }
            if let Err(e) = container.start() {
                let _ = self.engine.disconnect_container(&self.prepared.record.id);
                let e = EngineError::from(e);
                self.record_failure(&e);
                let _ = overlay::unmount_rootfs(&self.prepared.paths);
                return Err(e);
            }
            let init = ProcessId::of(container.pid().as_raw()).unwrap_or_default();
            let (rec, ()) = record::update(self.dir(), |r| {
                r.state.status = Status::Running;
                r.state.pid = init.pid;
                r.state.init = init;
                r.state.started_at = Some(now_rfc3339());
                r.state.error.clear();
                Ok(())
            })?;
            self.prepared.record = rec;
            if let Some(c) = self.control.take() {
                let _ = c.send(&Control::Started { pid: init.pid });
            }
            if first {
                release_startup_pages();
            }
            let code = self.pump(&mut container, stdio, sfd, listener, log)?;
            let oom = oom_killed(&container);
            // Firewall rules and addresses first, then processes and cgroup, then rootfs.
            let disconnected = self.engine.disconnect_container(&self.prepared.record.id);
            let destroyed = container.destroy();
            let unmounted = overlay::unmount_rootfs(&self.prepared.paths);
            let policy = self.prepared.record.config.restart;
            let (rec, restart) = record::update(self.dir(), |r| {
                r.state.pid = 0;
                r.endpoints.clear();
                r.state.exit_code = code;
                r.state.oom_killed = oom;
                r.state.finished_at = Some(now_rfc3339());
                let restart =
                    policy.should_restart(code, r.state.restart_count, r.state.stopped_by_user);
                r.state.status = if restart {
                    r.state.restart_count += 1;
                    Status::Restarting
                } else {
                    Status::Exited
                };
                Ok(restart)
            })?;
            self.prepared.record = rec;
            disconnected?;
            destroyed?;
            unmounted?;
            if !restart {
                return Ok(code);
            }
            // Docker's back-off: 100 ms, doubling, for each restart in a row.
            let n = self.prepared.record.state.restart_count.min(10);
            std::thread::sleep(Duration::from_millis(100u64 << (n - 1)));
            if record::update(self.dir(), |r| Ok(r.state.stopped_by_user))?.1 {
                record::update(self.dir(), |r| {
                    r.state.status = Status::Exited;
                    Ok(())
                })?;
                return Ok(code);
            }
            let engine = self.engine;
            let image_id = self.prepared.record.image_id.clone();
            overlay::mount_rootfs(&self.prepared.paths, &self.prepared.record.layers, || {
                engine.short_layers(&image_id)
            })?;
            first = false;
        }
    }

    fn record_failure(&mut self, e: &EngineError) {
        let msg = e.to_string();
        let code = e.exit_code();
        if let Ok((rec, ())) = record::update(self.dir(), |r| {
            r.state.error = msg.clone();
            r.state.exit_code = code;
            r.state.status = if r.state.started_at.is_some() {
                Status::Exited
            } else {
                Status::Created
            };
            Ok(())
        }) {
            self.prepared.record = rec;
        }
    }

    /// Runtime `create` with fresh stdio: pipes, or a pty made by the runtime.
    fn create(&mut self) -> Result<(Container, Stdio3)> {
        let tty = self.prepared.record.config.tty;
        let interactive = self.prepared.record.config.interactive;
        let pipe = || {
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(crate::error::sys_err("pipe"))
        };
        let mut ours = Stdio3 {
            stdin: None,
            stdout: None,
            stderr: None,
            pty: None,
        };
        let mut theirs: Vec<OwnedFd> = Vec::new();
        let mut stdio = Stdio::default();
        if !tty {
            let devnull;
            if interactive {
                let (r, w) = pipe()?;
                stdio.stdin = Some(r.as_raw_fd());
                ours.stdin = Some(w);
                theirs.push(r);
            } else {
                devnull = std::fs::File::open("/dev/null")
                    .map_err(crate::error::io_err("open", "/dev/null"))?;
                stdio.stdin = Some(devnull.as_raw_fd());
                theirs.push(devnull.into());
            }
            let (r, w) = pipe()?;
            stdio.stdout = Some(w.as_raw_fd());
            ours.stdout = Some(r);
            theirs.push(w);
            let (r, w) = pipe()?;
            stdio.stderr = Some(w.as_raw_fd());
            ours.stderr = Some(r);
            theirs.push(w);
        }
        let mut container = mydocker_runtime::create(
            &self.prepared.record.id,
            &self.prepared.spec,
            &self.prepared.paths.dir,
            CreateOptions {
                stdio,
                parent_death_signal: Some(Signal::SIGKILL),
            },
        )?;
        // The container has its own copies now; ours would keep the pipes from closing.
        drop(theirs);
        ours.pty = container.take_pty_master();
        for fd in [&ours.stdout, &ours.stderr, &ours.pty]
            .into_iter()
            .flatten()
        {
            set_nonblocking(fd.as_fd());
        }
        Ok((container, ours))
    }

    /// Step 4: copies output to the log and the clients, input to the container, until
    /// init exits; returns its exit code.
    fn pump(
        &mut self,
        container: &mut Container,
        mut stdio: Stdio3,
        sfd: &SignalFd,
        listener: &UnixListener,
        log: &mut JsonLog,
    ) -> Result<i32> {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            // Output sources: (fd, stream)
            let outputs: Vec<(BorrowedFd<'_>, Stream)> = [
                (stdio.pty.as_ref(), Stream::Stdout),
                (stdio.stdout.as_ref(), Stream::Stdout),
                (stdio.stderr.as_ref(), Stream::Stderr),
            ]
            .into_iter()
            .filter_map(|(fd, s)| fd.map(|fd| (fd.as_fd(), s)))
            .collect();
            let mut fds = vec![
                PollFd::new(sfd.as_fd(), PollFlags::POLLIN),
                PollFd::new(listener.as_fd(), PollFlags::POLLIN),
            ];
            for (fd, _) in &outputs {
                fds.push(PollFd::new(*fd, PollFlags::POLLIN));
            }
            for c in &self.clients {
                fds.push(PollFd::new(c.as_fd(), PollFlags::POLLIN));
            }
            match poll(&mut fds, PollTimeout::NONE) {
                Err(nix::Error::EINTR) => continue,
                Err(e) => return Err(crate::error::sys_err("poll")(e)),
                Ok(_) => {}
            }
            let ready: Vec<bool> = fds
                .iter()
                .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
                .collect();
            drop(fds);
            let n_out = outputs.len();
            let mut closed = Vec::new();
            for (i, (fd, stream)) in outputs.iter().enumerate() {
                if ready[2 + i] && !self.forward_output(*fd, *stream, log, &mut buf) {
                    closed.push(i);
                }
            }
            drop(outputs);
            // An output whose writers are all gone: stop polling it.
            for i in closed.into_iter().rev() {
                let slot = [&mut stdio.pty, &mut stdio.stdout, &mut stdio.stderr]
                    .into_iter()
                    .filter(|s| s.is_some())
                    .nth(i);
                if let Some(s) = slot {
                    *s = None;
                }
            }
            let mut gone = Vec::new();
            for (i, client) in self.clients.iter_mut().enumerate() {
                if !ready[2 + n_out + i] {
                    continue;
                }
                match Frame::read_from(client) {
                    Ok(Some(frame)) => handle_input(frame, container, &mut stdio),
                    _ => gone.push(i),
                }
            }
            for i in gone.into_iter().rev() {
                self.clients.remove(i);
            }
            if ready[1] {
                self.accept_clients(listener);
            }
            if ready[0] {
                while let Ok(Some(_)) = sfd.read_signal() {}
                reap_orphans(container.pid().as_raw());
                if let Some(code) = container.try_wait()? {
                    // Output written just before the exit is still in the pipes.
                    let drains = [
                        (stdio.pty.as_ref(), Stream::Stdout),
                        (stdio.stdout.as_ref(), Stream::Stdout),
                        (stdio.stderr.as_ref(), Stream::Stderr),
                    ];
                    for (fd, stream) in drains {
                        if let Some(fd) = fd {
                            while self.forward_output(fd.as_fd(), stream, log, &mut buf) {}
                        }
                    }
                    return Ok(code);
                }
            }
        }
    }

    /// Copies one chunk of output; false when there is nothing more to read now.
    fn forward_output(
        &mut self,
        fd: BorrowedFd<'_>,
        stream: Stream,
        log: &mut JsonLog,
        buf: &mut [u8],
    ) -> bool {
        match nix::unistd::read(fd, buf) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                log.write(stream, &buf[..n]);
                let frame = match stream {
                    Stream::Stdout => Frame::Stdout(buf[..n].to_vec()),
                    Stream::Stderr => Frame::Stderr(buf[..n].to_vec()),
                };
                self.broadcast(&frame);
                true
            }
        }
    }

    fn accept_clients(&mut self, listener: &UnixListener) {
        while let Ok((stream, _)) = listener.accept() {
            let _ = stream.set_nonblocking(false);
            // A client that stops reading must not stall the container.
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            self.clients.push(stream);
        }
    }

    fn broadcast(&mut self, frame: &Frame) {
        self.clients.retain_mut(|c| frame.write_to(c).is_ok());
        if matches!(frame, Frame::Exit(_)) {
            for c in &mut self.clients {
                let _ = c.flush();
            }
        }
    }
}

fn handle_input(frame: Frame, container: &Container, stdio: &mut Stdio3) {
    match frame {
        Frame::Stdin(data) => {
            if let Some(fd) = stdio.pty.as_ref().or(stdio.stdin.as_ref()) {
                terminal::write_all(fd.as_fd(), &data);
            }
        }
        Frame::CloseStdin => stdio.stdin = None,
        Frame::Resize { rows, cols } => {
            if let Some(pty) = &stdio.pty {
                terminal::set_window_size(pty.as_fd(), rows, cols);
            }
        }
        Frame::Signal(sig) => {
            if let Ok(s) = NixSignal::try_from(sig) {
                let _ = container.kill(s);
            }
        }
        _ => {}
    }
}

/// As a subreaper we inherit orphans that the container's init would not reap (processes
/// in its tree that lost their parent); reap them so they do not linger as zombies. The container's init is left to `try_wait`.
fn reap_orphans(init: i32) {
    use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
    loop {
        // Peek first: never reap init here, its status is the container's exit code.
        match waitid(
            Id::All,
            WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT,
        ) {
            Ok(WaitStatus::StillAlive) | Err(_) => return,
            Ok(status) => match status.pid() {
                Some(pid) if pid.as_raw() != init => {
                    let _ = nix::sys::wait::waitpid(pid, Some(WaitPidFlag::WNOHANG));
                }
                _ => return,
            },
        }
    }
}

/// The monitor lives as long as its container, but most code it ran (flag parsing, image
/// lookup, the runtime) is done with. The kernel maps the pages of our binary and libraries
/// in 64 KiB runs as they fault, so they stay counted as resident. Dropping the mappings of
/// read-only, never-modified file pages gives that memory back; a page still needed faults
/// back in from the page cache. Mappings holding private (modified) pages are left alone:
/// dropping those would lose the modifications.
fn release_startup_pages() {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    let mut current: Option<(usize, usize)> = None;
    let mut candidates = Vec::new();
    for line in smaps.lines() {
        let mut parts = line.split_whitespace();
        let first = parts.next().unwrap_or_default();
        if let Some((start, end)) = first.split_once('-') {
            if let (Ok(s), Ok(e)) = (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            ) {
                let perms = parts.next().unwrap_or_default();
                let path = parts.nth(3).unwrap_or_default();
                current = (!perms.contains('w') && path.starts_with('/')).then_some((s, e));
                continue;
            }
        }
        if let (Some(range), Some(kb)) = (current, line.strip_prefix("Anonymous:")) {
            if kb.trim().trim_end_matches("kB").trim() == "0" {
                candidates.push(range);
            }
            current = None;
        }
    }
    for (start, end) in candidates {
        // SAFETY: the range is a read-only file mapping with no private pages, so
        // MADV_DONTNEED only drops page-table entries; the contents fault back unchanged.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
    }
}

fn set_nonblocking(fd: BorrowedFd<'_>) {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    if let Ok(flags) = fcntl(fd, FcntlArg::F_GETFL) {
        let _ = fcntl(
            fd,
            FcntlArg::F_SETFL(OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK),
        );
    }
}

/// Did the kernel's OOM killer act in the container's cgroup?
fn oom_killed(container: &Container) -> bool {
    let dir = container.cgroup().path();
    for (file, key) in [
        ("memory.events", "oom_kill"),
        ("memory.oom_control", "oom_kill"),
    ] {
        if let Ok(text) = std::fs::read_to_string(dir.join(file)) {
            return text.lines().any(|l| {
                l.strip_prefix(key)
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .is_some_and(|n| n > 0)
            });
        }
    }
    false
}
