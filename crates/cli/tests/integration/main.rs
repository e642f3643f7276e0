//! Integration tests of the `mydocker` binary: one test binary (see `autotests = false`
//! in Cargo.toml), one module per area. Run as root after `scripts/build-test-images`:
//!
//! ```text
//! cargo test -p mydocker-cli --test integration
//! ```
//!
//! Each test gets its own `--root` from [`harness::Md`], whose drop asserts that
//! mydocker left no mount, container directory, name or cgroup behind.
//!
//! Where new tests go: `run_basics` (what `run` does for a user: output, exit codes, flags),
//! `isolation` (namespaces and the filesystem), `limits` (cgroups and rlimits), `images`
//! (import and images), `bad_input` (every rejected input: one line, no trace left),
//! `leaks` (repeated and interrupted runs).

mod harness;

mod bad_input;
mod images;
mod images_store;
mod isolation;
mod leaks;
mod lifecycle;
mod limits;
mod networking;
mod run_basics;
mod volumes;
