//! Resource limits (setrlimit(2)) for the container's process.
//!
//! A limit above the hard limit that we hold ourselves would fail with EPERM without
//! CAP_SYS_RESOURCE (Docker and Podman ask for 1048576 open files by default, and many
//! hosts cap it lower), so each requested value is clamped to our own hard limit.

use crate::error::{sys, Result};
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use oci_spec::runtime::{PosixRlimit, PosixRlimitType};

fn resource(typ: PosixRlimitType) -> Option<Resource> {
    use PosixRlimitType as T;
    Some(match typ {
        T::RlimitCpu => Resource::RLIMIT_CPU,
        T::RlimitFsize => Resource::RLIMIT_FSIZE,
        T::RlimitData => Resource::RLIMIT_DATA,
        T::RlimitStack => Resource::RLIMIT_STACK,
        T::RlimitCore => Resource::RLIMIT_CORE,
        T::RlimitRss => Resource::RLIMIT_RSS,
        T::RlimitNproc => Resource::RLIMIT_NPROC,
        T::RlimitNofile => Resource::RLIMIT_NOFILE,
        T::RlimitMemlock => Resource::RLIMIT_MEMLOCK,
        T::RlimitAs => Resource::RLIMIT_AS,
        T::RlimitLocks => Resource::RLIMIT_LOCKS,
        T::RlimitSigpending => Resource::RLIMIT_SIGPENDING,
        T::RlimitMsgqueue => Resource::RLIMIT_MSGQUEUE,
        T::RlimitNice => Resource::RLIMIT_NICE,
        T::RlimitRtprio => Resource::RLIMIT_RTPRIO,
        T::RlimitRttime => Resource::RLIMIT_RTTIME,
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

/// Clamps (soft, hard) to the hard limit we hold.
pub fn clamp(soft: u64, hard: u64, our_hard: u64) -> (u64, u64) {
    let hard = hard.min(our_hard);
    (soft.min(hard), hard)
}

pub fn apply(rlimits: &[PosixRlimit]) -> Result<()> {
    for rl in rlimits {
        let Some(res) = resource(rl.typ()) else {
            continue;
        };
        let (_, our_hard) = getrlimit(res).map_err(sys(format!("getrlimit {res:?}")))?;
        let (soft, hard) = clamp(rl.soft(), rl.hard(), our_hard);
        if hard < rl.hard() {
            tracing::debug!(
                "{res:?}: hard limit {} lowered to {hard}, the most this process may grant",
                rl.hard()
            );
        }
        setrlimit(res, soft, hard).map_err(sys(format!("setrlimit {res:?} {soft}:{hard}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn limits_never_exceed_our_hard_limit() {
        assert_eq!(super::clamp(1048576, 1048576, 20000), (20000, 20000));
        assert_eq!(super::clamp(1024, 4096, 20000), (1024, 4096));
        assert_eq!(super::clamp(30000, 40000, 20000), (20000, 20000));
    }
}
