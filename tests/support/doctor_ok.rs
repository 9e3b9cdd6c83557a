//! `rnetns doctor` on a host running real runtimes: exit 0, or exactly
//! the one finding these CI machines explain. containerd keeps its cni-*
//! entries in a plain /run/netns directory: fine where the mount holding
//! it is shared (systemd hosts; doctor stays quiet), and a true
//! `run-dir-not-mount-point` where it is private (these machines: / is
//! private). Shared through `#[path]` by the real-runtime tests.

use std::process::{Command, Stdio};

pub fn check(rnetns: &str) -> Result<(), String> {
    let doc = Command::new(rnetns)
        .arg("doctor")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&doc.stdout).into_owned();
    println!(
        "--- rnetns doctor\n{text}{}",
        String::from_utf8_lossy(&doc.stderr)
    );
    if doc.status.code() == Some(0) {
        return Ok(());
    }
    let holder = Command::new("findmnt")
        .args(["-no", "PROPAGATION", "-T", "/run/netns"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let problems: Vec<&str> = text.lines().filter(|l| l.starts_with("problem:")).collect();
    let explained = holder == "private"
        && problems == ["problem: run-dir-not-mount-point: /run/netns"]
        && doc.status.code() == Some(1);
    if explained {
        return Ok(());
    }
    Err(format!(
        "doctor exit {:?} (run dir's mount: {holder}): {text}",
        doc.status
    ))
}
