//! Seccomp: a filter in the kernel on the system calls the container may make. Docker
//! gives every container a default profile; the engine puts one in the spec and the
//! runtime loads whatever the spec says, just before the container's user switch (while
//! it still has CAP_SYS_ADMIN, which loading a filter without no_new_privs needs).
//! The filter is inherited by everything the container runs. Man page: seccomp(2).

use crate::error::{Result, RuntimeError};
use libseccomp::{ScmpAction, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompOperator};

fn err(what: &str) -> impl FnOnce(libseccomp::error::SeccompError) -> RuntimeError + '_ {
    move |e| RuntimeError::Init(format!("seccomp: {what}: {e}"))
}

fn action(action: LinuxSeccompAction, errno: Option<u32>) -> Result<ScmpAction> {
    use LinuxSeccompAction as A;
    Ok(match action {
        A::ScmpActAllow => ScmpAction::Allow,
        A::ScmpActErrno => ScmpAction::Errno(errno.unwrap_or(libc::EPERM as u32) as i32),
        A::ScmpActKill | A::ScmpActKillThread => ScmpAction::KillThread,
        A::ScmpActKillProcess => ScmpAction::KillProcess,
        A::ScmpActTrap => ScmpAction::Trap,
        A::ScmpActLog => ScmpAction::Log,
        A::ScmpActTrace => ScmpAction::Trace(errno.unwrap_or(0) as u16),
        A::ScmpActNotify => {
            return Err(RuntimeError::InvalidSpec(
                "seccomp notify actions are not supported".into(),
            ))
        }
    })
}

fn compare(op: LinuxSeccompOperator, value_two: Option<u64>) -> ScmpCompareOp {
    use LinuxSeccompOperator as O;
    match op {
        O::ScmpCmpNe => ScmpCompareOp::NotEqual,
        O::ScmpCmpLt => ScmpCompareOp::Less,
        O::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
        O::ScmpCmpEq => ScmpCompareOp::Equal,
        O::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
        O::ScmpCmpGt => ScmpCompareOp::Greater,
        O::ScmpCmpMaskedEq => ScmpCompareOp::MaskedEqual(value_two.unwrap_or(0)),
    }
}

/// Builds and loads the filter. System calls this kernel or libseccomp does not know are
/// skipped, as runc does: a profile may name calls newer than the host.
pub fn load(spec: &LinuxSeccomp) -> Result<()> {
    let default = action(spec.default_action(), spec.default_errno_ret())?;
    let mut ctx = ScmpFilterContext::new(default).map_err(err("create filter"))?;
    for rule in spec.syscalls().as_deref().unwrap_or_default() {
        let act = action(rule.action(), rule.errno_ret())?;
        if act == default {
            continue; // the kernel refuses rules that repeat the default action
        }
        let cmps: Vec<ScmpArgCompare> = rule
            .args()
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|a| {
                ScmpArgCompare::new(a.index() as u32, compare(a.op(), a.value_two()), a.value())
            })
            .collect();
        for name in rule.names() {
            let Ok(call) = ScmpSyscall::from_name(name) else {
                continue;
            };
            if cmps.is_empty() {
                ctx.add_rule(act, call)
            } else {
                ctx.add_rule_conditional(act, call, &cmps)
            }
            .map_err(err(name))?;
        }
    }
    ctx.load().map_err(err("load filter"))
}
