//! Running a real runtime's command from a test, one way for every
//! real-runtime harness (`runtime_host.rs`, `daemons.rs`): a 120 s limit,
//! no stdin, and its stdout or an error that shows what it printed.

use libtest_mimic::Failed;
use std::ffi::OsStr;
use std::process::{Command, Output, Stdio};

/// Runs `argv` with a 120 s limit, no stdin, and `env` set.
pub fn cmd_env(argv: &[&str], env: &[(&str, &OsStr)]) -> Output {
    Command::new("timeout")
        .arg("120")
        .args(argv)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("spawn")
}

/// `o`'s stdout when `what` succeeded, else an error with its status and
/// what it printed.
pub fn stdout_of(what: &str, o: Output) -> Result<String, Failed> {
    if !o.status.success() {
        return Err(format!(
            "{what} failed ({:?}): {}{}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}
