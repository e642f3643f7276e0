//! mydocker's OCI runtime: it turns an OCI runtime spec (`config.json` plus a rootfs) into
//! a running, isolated process. The engine calls it for `mydocker run`; the same code will
//! serve a runc-compatible binary.
//!
//! A container starts in two steps, as the OCI runtime spec describes:
//! [`create`] makes the cgroup, clones the container's init into new namespaces, and lets
//! it prepare everything (rootfs, devices, pivot_root, user, capabilities) up to the point
//! of exec; [`Container::start`] lets it exec the user's command.
//!
//! The modules follow the book's concepts: [`namespaces`], [`rootfs`] (mounts, pivot_root),
//! [`devices`], [`tty`], [`capabilities`], [`rlimits`], [`exec`]; cgroups live in the
//! `mydocker-cgroups` crate.
//!
//! The runtime path is single-threaded and blocking: the process that clones has no other
//! thread, so the child may run ordinary code until it execs.

pub mod capabilities;
mod channel;
mod clone;
mod container;
pub mod devices;
mod error;
pub mod exec;
mod init;
pub mod join;
mod loopback;
pub mod mounts;
pub mod namespaces;
pub mod rlimits;
pub mod rootfs;
pub mod seccomp;
pub mod securejoin;
pub mod tty;

pub use container::{create, default_cgroups_path, rootfs_path, Container, CreateOptions, Stdio};
pub use error::{ExecFailure, Result, RuntimeError};
pub use mydocker_cgroups as cgroups;
pub use nix::sys::signal::Signal;
pub use oci_spec::runtime::Spec;
