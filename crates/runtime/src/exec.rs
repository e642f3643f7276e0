//! Finding and executing the container's command, with Docker's messages and kinds of
//! failure (exit 127 for "not found", 126 for "cannot execute").

use crate::error::{ExecFailure, RuntimeError};
use nix::unistd::{access, AccessFlags};
use std::ffi::CString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Docker's PATH when the image and the user set none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn exec_err(kind: ExecFailure, message: String) -> RuntimeError {
    RuntimeError::Exec { kind, message }
}

/// Resolves `cmd` the way execvp would, in the container (after pivot_root), using the
/// container's PATH. A name with a `/` is used as it is.
pub fn find_executable(cmd: &str, path_var: Option<&str>) -> Result<PathBuf, RuntimeError> {
    if cmd.is_empty() {
        return Err(exec_err(
            ExecFailure::NotFound,
            "exec: \"\": executable file not found in $PATH".into(),
        ));
    }
    if cmd.contains('/') {
        let p = Path::new(cmd);
        return match std::fs::metadata(p) {
            Err(e) => Err(exec_err(
                ExecFailure::NotFound,
                format!("exec: \"{cmd}\": stat {cmd}: {}", io_reason(&e)),
            )),
            Ok(meta) if meta.is_dir() || !is_executable(p, &meta) => Err(exec_err(
                ExecFailure::PermissionDenied,
                format!("exec: \"{cmd}\": permission denied"),
            )),
            Ok(_) => Ok(p.to_path_buf()),
        };
    }
    let mut denied = false;
    for dir in path_var.unwrap_or(DEFAULT_PATH).split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = Path::new(dir).join(cmd);
        if let Ok(meta) = std::fs::metadata(&candidate) {
            if meta.is_file() && is_executable(&candidate, &meta) {
                return Ok(candidate);
            }
            denied = true;
        }
    }
    if denied {
        return Err(exec_err(
            ExecFailure::PermissionDenied,
            format!("exec: \"{cmd}\": permission denied"),
        ));
    }
    Err(exec_err(
        ExecFailure::NotFound,
        format!("exec: \"{cmd}\": executable file not found in $PATH"),
    ))
}

fn is_executable(path: &Path, meta: &std::fs::Metadata) -> bool {
    meta.permissions().mode() & 0o111 != 0 && access(path, AccessFlags::X_OK).is_ok()
}

fn io_reason(e: &std::io::Error) -> String {
    // "No such file or directory (os error 2)" -> "no such file or directory", as Go prints it.
    let s = e.to_string();
    let s = s.split(" (os error").next().unwrap_or(&s).to_string();
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => s,
    }
}

/// Replaces this process with the command. Returns only on failure.
pub fn execve(path: &Path, args: &[String], env: &[String]) -> RuntimeError {
    let cstr = |s: &str| CString::new(s.as_bytes()).unwrap_or_default();
    let prog = cstr(&path.to_string_lossy());
    let argv: Vec<CString> = args.iter().map(|a| cstr(a)).collect();
    let envp: Vec<CString> = env.iter().map(|e| cstr(e)).collect();
    let err = match nix::unistd::execve(&prog, &argv, &envp) {
        Err(e) => e,
        Ok(never) => match never {},
    };
    let shown = args.first().map(String::as_str).unwrap_or_default();
    let (kind, reason) = match err {
        nix::Error::ENOENT => (ExecFailure::NotFound, "no such file or directory"),
        nix::Error::EACCES | nix::Error::EPERM => {
            (ExecFailure::PermissionDenied, "permission denied")
        }
        nix::Error::ENOEXEC => (ExecFailure::PermissionDenied, "exec format error"),
        _ => (ExecFailure::Other, err.desc()),
    };
    exec_err(kind, format!("exec {shown}: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_follows_path_and_reports_like_docker() {
        let found = find_executable("sh", Some("/nonexistent:/bin")).unwrap();
        assert_eq!(found, Path::new("/bin/sh"));
        let err = find_executable("no-such-cmd-xyz", Some("/bin")).unwrap_err();
        assert!(matches!(
            err,
            RuntimeError::Exec {
                kind: ExecFailure::NotFound,
                ..
            }
        ));
        assert!(err
            .to_string()
            .contains("executable file not found in $PATH"));
        let err = find_executable("/proc/self/status", None).unwrap_err();
        assert!(matches!(
            err,
            RuntimeError::Exec {
                kind: ExecFailure::PermissionDenied,
                ..
            }
        ));
        let err = find_executable("/no/such", None).unwrap_err();
        assert!(err.to_string().contains("no such file or directory"));
    }
}
