//! The v2 pids controller. Its one file, `pids.max`, is the same as in v1, so the v1
//! controller is reused as is. Kernel doc: admin-guide/cgroup-v2, "PID".

pub(crate) use crate::v1::pids::Pids;
