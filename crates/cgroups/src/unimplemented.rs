//! OCI limits that mydocker does not apply yet. The [`crate::CgroupManager`] contract says a
//! requested limit is never silently dropped, so each one here is refused by name before
//! anything is written. Device rules are the one exception: they are enforced by the
//! runtime creating only the allowed device nodes, and the devices cgroup is left open.

use crate::{CgroupError, Result};
use oci_spec::runtime::LinuxResources;

/// Fails with [`CgroupError::Unsupported`] naming the first limit in `resources` that no
/// manager implements.
pub(crate) fn reject(resources: &LinuxResources) -> Result<()> {
    match first_unimplemented(resources) {
        Some(limit) => Err(CgroupError::Unsupported {
            limit: limit.to_string(),
            reason: "mydocker does not implement it yet".to_string(),
        }),
        None => Ok(()),
    }
}

#[allow(deprecated)] // kernel memory limits: deprecated in OCI, and refused here
fn first_unimplemented(r: &LinuxResources) -> Option<&'static str> {
    if let Some(io) = r.block_io() {
        if io.weight().is_some_and(|w| w != 0)
            || io.leaf_weight().is_some_and(|w| w != 0)
            || io.weight_device().as_ref().is_some_and(|d| !d.is_empty())
            || io
                .throttle_read_bps_device()
                .as_ref()
                .is_some_and(|d| !d.is_empty())
            || io
                .throttle_write_bps_device()
                .as_ref()
                .is_some_and(|d| !d.is_empty())
            || io
                .throttle_read_iops_device()
                .as_ref()
                .is_some_and(|d| !d.is_empty())
            || io
                .throttle_write_iops_device()
                .as_ref()
                .is_some_and(|d| !d.is_empty())
        {
            return Some("block io limits");
        }
    }
    if r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty()) {
        return Some("hugepage limits");
    }
    if r.network().is_some() {
        return Some("network class and priorities");
    }
    if r.rdma().as_ref().is_some_and(|m| !m.is_empty()) {
        return Some("rdma limits");
    }
    if r.unified().as_ref().is_some_and(|m| !m.is_empty()) {
        return Some("unified cgroup settings");
    }
    if let Some(m) = r.memory() {
        if m.kernel().is_some() || m.kernel_tcp().is_some() {
            return Some("kernel memory limit");
        }
    }
    if let Some(c) = r.cpu() {
        if c.realtime_runtime().is_some() || c.realtime_period().is_some() {
            return Some("realtime cpu scheduling");
        }
        if c.idle().is_some_and(|i| i != 0) {
            return Some("cpu idle");
        }
        if c.burst().is_some() {
            return Some("cpu burst");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{LinuxCpuBuilder, LinuxResourcesBuilder};

    #[test]
    fn refuses_what_we_do_not_write() {
        let r = LinuxResourcesBuilder::default()
            .cpu(LinuxCpuBuilder::default().burst(10u64).build().unwrap())
            .build()
            .unwrap();
        assert_eq!(
            reject(&r).unwrap_err().to_string(),
            "cannot apply cpu burst: mydocker does not implement it yet"
        );
        reject(&LinuxResources::default()).unwrap();
    }
}
