//! Namespaces: what a container sees of the system.
//!
//! - pid: the container's first process is PID 1 and sees only its descendants.
//! - mnt: mounts made inside do not reach the host (with `/` made private first).
//! - uts: its own hostname.
//! - ipc: its own System V IPC objects and POSIX message queues.
//! - net: its own interfaces, routes and ports; a new one has only `lo`.
//! - cgroup: `/proc/self/cgroup` and a cgroupfs mounted inside show the container's own
//!   cgroup as the root.
//!
//! The spec lists each namespace either without a path (create a new one) or with a path
//! (join that one with setns). This module turns that list into a [`NamespacePlan`]: plain
//! data decided before any syscall. Man pages: namespaces(7), setns(2), clone(2).

use crate::error::{path_err, sys, Result, RuntimeError};
use nix::sched::{setns, CloneFlags};
use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType};
use std::fs::File;
use std::path::PathBuf;

/// Which namespaces to create and which to join, decided from the spec.
#[derive(Debug, Clone, PartialEq)]
pub struct NamespacePlan {
    /// Passed to clone: every new namespace except cgroup (see `new_cgroup`).
    pub clone_flags: CloneFlags,
    /// A new cgroup namespace must be made after the process is in its cgroup, so the
    /// namespace's root is the container's cgroup: by clone3 when the child is born in its
    /// cgroup (v2), by unshare in the child otherwise.
    pub new_cgroup: bool,
    /// Namespaces to join with setns, in the order the kernel needs (user first, mount last).
    pub join: Vec<(LinuxNamespaceType, PathBuf)>,
}

/// The order in which namespaces are joined: user first (it grants the rights for the
/// others), mount last (after it, host paths such as /proc/<pid>/ns are out of reach).
const JOIN_ORDER: [LinuxNamespaceType; 8] = [
    LinuxNamespaceType::User,
    LinuxNamespaceType::Ipc,
    LinuxNamespaceType::Uts,
    LinuxNamespaceType::Network,
    LinuxNamespaceType::Pid,
    LinuxNamespaceType::Cgroup,
    LinuxNamespaceType::Time,
    LinuxNamespaceType::Mount,
];

pub fn clone_flag(typ: LinuxNamespaceType) -> CloneFlags {
    match typ {
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        LinuxNamespaceType::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
    }
}

impl NamespacePlan {
    pub fn from_spec(namespaces: &[LinuxNamespace]) -> Result<Self> {
        let mut plan = NamespacePlan {
            clone_flags: CloneFlags::empty(),
            new_cgroup: false,
            join: Vec::new(),
        };
        for ns in namespaces {
            match ns.path() {
                Some(path) => {
                    if ns.typ() == LinuxNamespaceType::User {
                        return Err(RuntimeError::InvalidSpec(
                            "joining a user namespace is not supported".into(),
                        ));
                    }
                    plan.join.push((ns.typ(), path.clone()))
                }
                None if ns.typ() == LinuxNamespaceType::Cgroup => plan.new_cgroup = true,
                None if ns.typ() == LinuxNamespaceType::User => {
                    return Err(RuntimeError::InvalidSpec(
                        "user namespaces are not supported yet".into(),
                    ))
                }
                None => plan.clone_flags |= clone_flag(ns.typ()),
            }
        }
        plan.join
            .sort_by_key(|(typ, _)| JOIN_ORDER.iter().position(|t| t == typ));
        Ok(plan)
    }

    pub fn creates(&self, typ: LinuxNamespaceType) -> bool {
        match typ {
            LinuxNamespaceType::Cgroup => self.new_cgroup,
            t => self.clone_flags.contains(clone_flag(t)),
        }
    }

    /// Joins every namespace with a path. Runs in the container's init before anything
    /// else, so nothing is ever done on the host by mistake: any failure stops the start.
    pub fn join_all(&self) -> Result<()> {
        for (typ, path) in &self.join {
            let file = File::open(path).map_err(path_err("open namespace", path))?;
            setns(&file, clone_flag(*typ)).map_err(sys(format!(
                "join {} namespace {}",
                typ,
                path.display()
            )))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxNamespaceBuilder;

    fn ns(typ: LinuxNamespaceType, path: Option<&str>) -> LinuxNamespace {
        let mut b = LinuxNamespaceBuilder::default().typ(typ);
        if let Some(p) = path {
            b = b.path(p);
        }
        b.build().unwrap()
    }

    #[test]
    fn plan_splits_new_and_joined_namespaces() {
        let plan = NamespacePlan::from_spec(&[
            ns(LinuxNamespaceType::Mount, None),
            ns(LinuxNamespaceType::Pid, None),
            ns(LinuxNamespaceType::Cgroup, None),
            ns(LinuxNamespaceType::Network, Some("/proc/1/ns/net")),
            ns(LinuxNamespaceType::Ipc, Some("/proc/1/ns/ipc")),
        ])
        .unwrap();
        assert_eq!(
            plan.clone_flags,
            CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWPID
        );
        assert!(plan.new_cgroup);
        assert!(!plan.creates(LinuxNamespaceType::Network));
        // ipc is joined before net
        assert_eq!(plan.join[0].0, LinuxNamespaceType::Ipc);
        assert_eq!(plan.join[1].0, LinuxNamespaceType::Network);
    }

    #[test]
    fn user_namespace_is_refused_clearly() {
        let err = NamespacePlan::from_spec(&[ns(LinuxNamespaceType::User, None)]).unwrap_err();
        assert!(err.to_string().contains("user namespaces"));
    }
}
