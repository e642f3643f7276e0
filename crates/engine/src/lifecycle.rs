//! Container lifecycle commands: run, start, attach, stop, kill, restart, wait, rm,
//! pause, unpause, rename, prune — and `refresh`, which makes a record truthful again when
//! the monitor that owned the container died.
//!
//! A running container is owned by its monitor; these commands talk to it only through
//! signals to the container and the record (the monitor records every exit itself).

use crate::attach::{self, ClientOptions, Outcome};
use crate::error::{EngineError, Result};
use crate::layout::ContainerPaths;
use crate::monitor::{self, control::Control};
use crate::options::RunOptions;
use crate::record::{self, ContainerRecord, Status};
use crate::{fsutil, ids, overlay, Engine};
use mydocker_image::timestamp::now_rfc3339;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::os::unix::net::UnixStream;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// How `run` or `start -a` ended for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunResult {
    /// Running in the background (`-d`, or `start` without `-a`).
    Detached(String),
    /// The container exited with this code.
    Exited(i32),
    /// The user detached with ctrl-p ctrl-q; the container runs on.
    UserDetached(String),
}

/// Parses a signal as Docker accepts it: `KILL`, `SIGKILL`, `9`.
pub fn parse_signal(s: &str) -> Result<Signal> {
    let bad = || EngineError::InvalidArgument(format!("Invalid signal: {s}"));
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| bad());
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    Signal::from_str(&name).map_err(|_| bad())
}

const POLL: Duration = Duration::from_millis(10);

impl Engine {
    /// `mydocker run`: a new container, in the foreground or detached.
    pub fn run(&self, opts: RunOptions) -> Result<RunResult> {
        let detach = opts.detach;
        let client = ClientOptions {
            tty: opts.tty,
            stdin: opts.interactive,
            sig_proxy: true,
        };
        let mon = monitor::spawn(&self.layout, &Control::Run(Box::new(opts)))?;
        let id = mon.wait_created()?;
        if detach {
            mon.go()?;
            return Ok(RunResult::Detached(id));
        }
        self.attach_and_go(mon, &id, client)
    }

    /// Attaches to a container the monitor just created, then lets it start.
    fn attach_and_go(
        &self,
        mut mon: monitor::MonitorHandle,
        id: &str,
        client: ClientOptions,
    ) -> Result<RunResult> {
        let sock = self.connect(id)?;
        mon.go()?;
        match attach::run_client(sock, client)? {
            Outcome::Exited(code) => {
                // The monitor has finished (removed the container with --rm) before it
                // sent the exit code; reap it.
                let _ = mon.child.wait();
                Ok(RunResult::Exited(code))
            }
            Outcome::Detached => Ok(RunResult::UserDetached(id.to_string())),
        }
    }

    fn connect(&self, id: &str) -> Result<UnixStream> {
        let path = monitor::socket_path(&self.layout, id);
        UnixStream::connect(&path)
            .map_err(|e| EngineError::InvalidArgument(format!("attach to container {id}: {e}")))
    }

    /// `mydocker start [-a]`.
    pub fn start(&self, name_or_id: &str, attach: Option<ClientOptions>) -> Result<RunResult> {
        let rec = self.find_container(name_or_id)?;
        if rec.state.status.is_active() {
            return Ok(RunResult::Detached(rec.id));
        }
        let mon = monitor::spawn(&self.layout, &Control::Start { id: rec.id.clone() })?;
        let id = mon.wait_created()?;
        match attach {
            None => {
                mon.go()?;
                Ok(RunResult::Detached(id))
            }
            Some(client) => self.attach_and_go(mon, &id, client),
        }
    }

    /// `mydocker attach`.
    pub fn attach(&self, name_or_id: &str, client: ClientOptions) -> Result<RunResult> {
        let rec = self.find_container(name_or_id)?;
        match rec.state.status {
            Status::Running => {}
            Status::Paused => {
                return Err(EngineError::Conflict(
                    "You cannot attach to a paused container, unpause it first".into(),
                ))
            }
            _ => {
                return Err(EngineError::Conflict(
                    "You cannot attach to a stopped container, start it first".into(),
                ))
            }
        }
        let sock = self.connect(&rec.id)?;
        match attach::run_client(sock, client)? {
            Outcome::Exited(code) => Ok(RunResult::Exited(code)),
            Outcome::Detached => Ok(RunResult::UserDetached(rec.id)),
        }
    }

    /// Sends `signal` to the container's init, after checking it is still the same process.
    fn signal_init(&self, rec: &ContainerRecord, signal: Signal) -> Result<()> {
        if !rec.state.init.is_alive() {
            return Err(EngineError::Conflict(format!(
                "Container {} is not running",
                rec.id
            )));
        }
        kill(Pid::from_raw(rec.state.init.pid), signal).map_err(crate::error::sys_err(format!(
            "kill {}",
            rec.state.init.pid
        )))
    }

    /// Waits until the monitor has recorded the container's end (or `deadline` passes).
    fn wait_inactive(
        &self,
        id: &str,
        deadline: Option<Instant>,
    ) -> Result<Option<ContainerRecord>> {
        loop {
            let rec = match self.find_container(id) {
                Ok(r) => r,
                // Removed (--rm): it is certainly not running.
                Err(EngineError::NoSuchContainer(_)) => return Ok(None),
                Err(e) => return Err(e),
            };
            if !rec.state.status.is_active() {
                return Ok(Some(rec));
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(Some(rec));
            }
            std::thread::sleep(POLL);
        }
    }

    /// `mydocker stop`: the stop signal, then SIGKILL after `timeout` seconds.
    pub fn stop(&self, name_or_id: &str, timeout: Option<i64>, signal: Option<&str>) -> Result<()> {
        let rec = self.find_container(name_or_id)?;
        let dir = self.layout.container_dir(&rec.id);
        record::update(&dir, |r| {
            r.state.stopped_by_user = true;
            Ok(())
        })?;
        if !rec.state.status.is_active() {
            return Ok(());
        }
        if rec.state.status == Status::Paused {
            self.thaw(&rec)?;
        }
        let sig = match signal.or(rec.config.stop_signal.as_deref()) {
            Some(s) => parse_signal(s)?,
            None => Signal::SIGTERM,
        };
        let timeout = timeout.or(rec.config.stop_timeout).unwrap_or(10);
        if timeout != 0 && rec.state.status != Status::Restarting {
            let _ = self.signal_init(&rec, sig);
        }
        let deadline = (timeout >= 0).then(|| Instant::now() + Duration::from_secs(timeout as u64));
        let rec = self.wait_inactive(&rec.id, deadline)?;
        if let Some(rec) = rec.filter(|r| r.state.status.is_active()) {
            let _ = self.signal_init(&rec, Signal::SIGKILL);
            self.wait_inactive(&rec.id, None)?;
        }
        Ok(())
    }

    /// `mydocker kill`.
    pub fn kill(&self, name_or_id: &str, signal: &str) -> Result<()> {
        let sig = parse_signal(signal)?;
        let rec = self.find_container(name_or_id)?;
        if !rec.state.status.is_active() {
            return Err(EngineError::Conflict(format!(
                "Cannot kill container: {}: Container {} is not running",
                name_or_id, rec.id
            )));
        }
        let stop_signal = rec
            .config
            .stop_signal
            .as_deref()
            .and_then(|s| parse_signal(s).ok())
            .unwrap_or(Signal::SIGTERM);
        if sig == Signal::SIGKILL || sig == stop_signal {
            record::update(&self.layout.container_dir(&rec.id), |r| {
                r.state.stopped_by_user = true;
                Ok(())
            })?;
        }
        self.signal_init(&rec, sig)?;
        if sig == Signal::SIGKILL {
            self.wait_inactive(&rec.id, Some(Instant::now() + Duration::from_secs(10)))?;
        }
        Ok(())
    }

    /// `mydocker restart`.
    pub fn restart(
        &self,
        name_or_id: &str,
        timeout: Option<i64>,
        signal: Option<&str>,
    ) -> Result<()> {
        self.stop(name_or_id, timeout, signal)?;
        self.start(name_or_id, None).map(|_| ())
    }

    /// `mydocker wait`: blocks until the container exits; returns its exit code.
    pub fn wait(&self, name_or_id: &str) -> Result<i32> {
        let rec = self.find_container(name_or_id)?;
        // A container may be restarting; Docker's wait returns at the next exit too.
        let rec = self.wait_inactive(&rec.id, None)?;
        Ok(rec.map(|r| r.state.exit_code).unwrap_or(0))
    }

    /// `mydocker rm [-f]`.
    pub fn remove(&self, name_or_id: &str, force: bool, volumes: bool) -> Result<String> {
        let rec = self.find_container(name_or_id)?;
        if rec.state.status.is_active() {
            if !force {
                return Err(EngineError::Conflict(format!(
                    "You cannot remove a {} container {}. Stop the container before attempting removal or force remove",
                    rec.state.status, rec.id
                )));
            }
            record::update(&self.layout.container_dir(&rec.id), |r| {
                r.state.stopped_by_user = true;
                Ok(())
            })?;
            if rec.state.status == Status::Paused {
                let _ = self.thaw(&rec);
            }
            let _ = self.signal_init(&rec, Signal::SIGKILL);
            self.wait_inactive(&rec.id, None)?;
        }
        // The monitor of a --rm container may have removed it meanwhile.
        match self.find_container(&rec.id) {
            Ok(rec) => self.remove_container_files(&rec)?,
            Err(EngineError::NoSuchContainer(_)) => {}
            Err(e) => return Err(e),
        }
        if volumes {
            self.remove_anonymous_volumes(&rec.config.mounts);
        }
        Ok(rec.id)
    }

    /// Deletes what a stopped container keeps: its directory and its name.
    pub(crate) fn remove_container_files(&self, rec: &ContainerRecord) -> Result<()> {
        let paths = ContainerPaths::new(&self.layout.container_dir(&rec.id));
        overlay::unmount_rootfs(&paths)?;
        fsutil::remove_dir_all(&paths.dir)?;
        let _ = std::fs::remove_file(monitor::socket_path(&self.layout, &rec.id));
        // Only release the name if it is still ours (a rename may have moved it).
        let name_file = self.layout.names().join(&rec.name);
        if std::fs::read_to_string(&name_file).is_ok_and(|owner| owner == rec.id) {
            self.release_name(&rec.name);
        }
        Ok(())
    }

    fn cgroup(
        &self,
        rec: &ContainerRecord,
    ) -> Result<Box<dyn mydocker_runtime::cgroups::CgroupManager>> {
        Ok(mydocker_runtime::cgroups::manager_for(
            &mydocker_runtime::default_cgroups_path(&rec.id),
        )?)
    }

    fn thaw(&self, rec: &ContainerRecord) -> Result<()> {
        self.cgroup(rec)?.thaw()?;
        record::update(&self.layout.container_dir(&rec.id), |r| {
            if r.state.status == Status::Paused {
                r.state.status = Status::Running;
            }
            Ok(())
        })?;
        Ok(())
    }

    /// `mydocker pause`: freezes every process of the container.
    pub fn pause(&self, name_or_id: &str) -> Result<()> {
        let rec = self.find_container(name_or_id)?;
        match rec.state.status {
            Status::Running => {}
            Status::Paused => {
                return Err(EngineError::Conflict(format!(
                    "Container {} is already paused",
                    rec.id
                )))
            }
            _ => {
                return Err(EngineError::Conflict(format!(
                    "Container {} is not running",
                    rec.id
                )))
            }
        }
        self.cgroup(&rec)?.freeze()?;
        record::update(&self.layout.container_dir(&rec.id), |r| {
            r.state.status = Status::Paused;
            Ok(())
        })?;
        Ok(())
    }

    /// `mydocker unpause`.
    pub fn unpause(&self, name_or_id: &str) -> Result<()> {
        let rec = self.find_container(name_or_id)?;
        if rec.state.status != Status::Paused {
            return Err(EngineError::Conflict(format!(
                "Container {} is not paused",
                rec.id
            )));
        }
        self.thaw(&rec)
    }

    /// `mydocker rename`.
    pub fn rename(&self, name_or_id: &str, new_name: &str) -> Result<()> {
        let new_name = new_name.trim_start_matches('/');
        if !ids::valid_name(new_name) {
            return Err(EngineError::InvalidArgument(format!(
                "Invalid container name ({new_name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )));
        }
        let rec = self.find_container(name_or_id)?;
        if rec.name == new_name {
            return Err(EngineError::InvalidArgument(
                "Renaming a container with the same name as its current name".into(),
            ));
        }
        self.reserve_name(new_name, &rec.id)?;
        let old = rec.name.clone();
        let res = record::update(&self.layout.container_dir(&rec.id), |r| {
            r.name = new_name.to_string();
            Ok(())
        });
        match res {
            Ok(_) => {
                self.release_name(&old);
                Ok(())
            }
            Err(e) => {
                self.release_name(new_name);
                Err(e)
            }
        }
    }

    /// `mydocker container prune`: removes every stopped container; returns their ids.
    pub fn prune_containers(&self) -> Result<Vec<String>> {
        let mut removed = Vec::new();
        for rec in self.containers()? {
            if !rec.state.status.is_active() {
                self.remove_container_files(&rec)?;
                removed.push(rec.id);
            }
        }
        Ok(removed)
    }

    /// Makes a record truthful. A container whose monitor is gone was killed with it
    /// (parent-death signal): release what it held and record it as exited. A container
    /// whose creation was cut short (its monitor died before it ever started) is removed,
    /// so it never blocks its name. Returns `None` when the container no longer exists.
    pub(crate) fn refresh(&self, rec: ContainerRecord) -> Result<Option<ContainerRecord>> {
        let monitor_gone = rec.state.monitor.pid != 0 && !rec.state.monitor.is_alive();
        let half_made = rec.state.status == Status::Created && rec.state.started_at.is_none();
        if !monitor_gone || !(rec.state.status.is_active() || half_made) {
            return Ok(Some(rec));
        }
        let dir = self.layout.container_dir(&rec.id);
        if !dir.exists() {
            return Ok(None); // removed meanwhile (a --rm container's monitor finished)
        }
        let Ok(_lock) = record::lock(&dir) else {
            return Ok(None);
        };
        let path = ContainerPaths::new(&dir).record();
        let Ok(mut rec) = ContainerRecord::load(&path) else {
            return Ok(None);
        };
        if rec.state.monitor.is_alive() {
            return Ok(Some(rec)); // someone else repaired and restarted it meanwhile
        }
        if rec.state.init.is_alive() {
            let _ = kill(Pid::from_raw(rec.state.init.pid), Signal::SIGKILL);
        }
        let _ = self.disconnect_container(&rec.id);
        let _ = self.cgroup(&rec).and_then(|c| Ok(c.destroy()?));
        overlay::unmount_rootfs(&ContainerPaths::new(&dir))?;
        let _ = std::fs::remove_file(monitor::socket_path(&self.layout, &rec.id));
        if (rec.state.status == Status::Created && rec.state.started_at.is_none())
            || rec.config.remove
        {
            drop(_lock);
            self.remove_container_files(&rec)?;
            return Ok(None);
        }
        rec.state.status = Status::Exited;
        rec.state.pid = 0;
        rec.endpoints.clear();
        rec.state.exit_code = 137;
        rec.state.finished_at = Some(now_rfc3339());
        rec.state.error = "the container's monitor died".into();
        rec.save(&path)?;
        Ok(Some(rec))
    }
}

impl Engine {
    /// `mydocker system reset`: removes every container (running ones are killed), network
    /// (the default bridge included: its device and firewall table), volume and image of
    /// this root, then the root's directories. Like `podman system reset`.
    pub fn reset(&self) -> Result<()> {
        for rec in self.containers()? {
            self.remove(&rec.id, true, true)?;
        }
        self.networks()?.reset()?;
        for dir in [
            self.layout.root.join("volumes"),
            self.layout.root.join("network"),
            self.layout.image_root(),
            self.layout.containers(),
            self.layout.names(),
            self.layout.exec_root.clone(),
        ] {
            fsutil::remove_dir_all(&dir)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_parse_like_docker() {
        assert_eq!(parse_signal("KILL").unwrap(), Signal::SIGKILL);
        assert_eq!(parse_signal("sigusr1").unwrap(), Signal::SIGUSR1);
        assert_eq!(parse_signal("15").unwrap(), Signal::SIGTERM);
        assert!(parse_signal("NOPE").is_err());
    }
}
