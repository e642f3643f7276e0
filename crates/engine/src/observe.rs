//! Looking at running containers from the host: `top` (their processes) and `stats`
//! (what their cgroups have used).

use crate::error::{EngineError, Result};
use crate::record::ContainerRecord;
use crate::Engine;
use mydocker_runtime::cgroups::Stats;

impl Engine {
    fn running(&self, name_or_id: &str) -> Result<ContainerRecord> {
        let rec = self.find_container(name_or_id)?;
        if !rec.state.status.is_active() {
            return Err(EngineError::Conflict(format!(
                "Container {} is not running",
                rec.id
            )));
        }
        Ok(rec)
    }

    /// The usage of a running container's cgroup.
    pub fn stats(&self, rec: &ContainerRecord) -> Result<Stats> {
        let cg = mydocker_runtime::cgroups::manager_for(&mydocker_runtime::default_cgroups_path(
            &rec.id,
        ))?;
        Ok(cg.stats()?)
    }

    /// `mydocker top`: the host's `ps` (with `ps_args`, default `-ef`), keeping the header
    /// and the rows of the container's processes, as Docker does.
    pub fn top(&self, name_or_id: &str, ps_args: &[String]) -> Result<(String, Vec<String>)> {
        let rec = self.running(name_or_id)?;
        let cg = mydocker_runtime::cgroups::manager_for(&mydocker_runtime::default_cgroups_path(
            &rec.id,
        ))?;
        let pids = cg.pids()?;
        let args: Vec<String> = if ps_args.is_empty() {
            vec!["-ef".into()]
        } else {
            ps_args.to_vec()
        };
        let out = std::process::Command::new("ps")
            .args(&args)
            .output()
            .map_err(|e| EngineError::InvalidArgument(format!("run ps: {e}")))?;
        if !out.status.success() {
            return Err(EngineError::InvalidArgument(format!(
                "ps {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        let header = lines.next().unwrap_or_default().to_string();
        let pid_col = header
            .split_whitespace()
            .position(|h| h == "PID")
            .ok_or_else(|| {
                EngineError::InvalidArgument("Couldn't find PID field in ps output".into())
            })?;
        let rows = lines
            .filter(|l| {
                l.split_whitespace()
                    .nth(pid_col)
                    .and_then(|p| p.parse::<i32>().ok())
                    .is_some_and(|p| pids.contains(&p))
            })
            .map(String::from)
            .collect();
        Ok((header, rows))
    }
}
