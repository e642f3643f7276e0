//! Capabilities: root's powers, split into pieces, of which a container keeps only a few
//! (Docker's default set, or the spec's). Man page: capabilities(7).
//!
//! The bounding set is cut first (that needs CAP_SETPCAP, which we still have); the
//! effective, permitted, inheritable and ambient sets are set after the switch to the
//! container's user.

use crate::error::{Result, RuntimeError};
use caps::{CapSet, Capability, CapsHashSet};
use oci_spec::runtime::{Capabilities, LinuxCapabilities};
use std::str::FromStr;

fn to_caps(set: &Option<Capabilities>) -> Result<CapsHashSet> {
    let mut out = CapsHashSet::new();
    for cap in set.iter().flatten() {
        let name = serde_json::to_value(cap)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        match Capability::from_str(&name) {
            Ok(c) => {
                out.insert(c);
            }
            // A capability this kernel or crate does not know cannot be granted; skipping
            // it is what runc does too.
            Err(_) => tracing::debug!("unknown capability {name}, skipped"),
        }
    }
    Ok(out)
}

fn caps_err(what: &str) -> impl FnOnce(caps::errors::CapsError) -> RuntimeError + '_ {
    move |e| RuntimeError::Init(format!("set {what} capabilities: {e}"))
}

/// Drops every capability not in the bounding set of the spec.
pub fn drop_bounding(caps: &LinuxCapabilities) -> Result<()> {
    let keep = to_caps(caps.bounding())?;
    for c in caps::all() {
        if !keep.contains(&c) && caps::has_cap(None, CapSet::Bounding, c).unwrap_or(false) {
            caps::drop(None, CapSet::Bounding, c).map_err(caps_err("bounding"))?;
        }
    }
    Ok(())
}

/// Sets the effective, permitted, inheritable and ambient sets.
pub fn apply(caps: &LinuxCapabilities) -> Result<()> {
    let effective = to_caps(caps.effective())?;
    let permitted = to_caps(caps.permitted())?;
    let inheritable = to_caps(caps.inheritable())?;
    let ambient = to_caps(caps.ambient())?;
    caps::set(None, CapSet::Inheritable, &inheritable).map_err(caps_err("inheritable"))?;
    // Permitted must hold what effective holds; set both in an order the kernel accepts.
    caps::set(
        None,
        CapSet::Effective,
        &effective.intersection(&permitted).cloned().collect(),
    )
    .map_err(caps_err("effective"))?;
    caps::set(None, CapSet::Permitted, &permitted).map_err(caps_err("permitted"))?;
    caps::set(None, CapSet::Effective, &effective).map_err(caps_err("effective"))?;
    if !ambient.is_empty() {
        caps::set(None, CapSet::Ambient, &ambient).map_err(caps_err("ambient"))?;
    }
    Ok(())
}
