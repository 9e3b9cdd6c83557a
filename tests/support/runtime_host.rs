//! The scaffolding every real-runtime test shares (runtimes_cri,
//! runtimes_lxc_nspawn, runtimes_rootless, runtimes_docker_root's real
//! dockerd): the skip rule of `skip.rs` for what a host lacks (root, a
//! package), commands run with a time limit, `rnetns` itself, the checks
//! a listing must pass against `/proc`, `rnetns doctor`, and the host
//! state that must be the same before and after. Shared through `#[path]`
//! next to `sandbox.rs` and `skip.rs` (the test file declares those two
//! as `mod sandbox; mod skip;`).
//!
//! The host check covers what rnetns itself could leave: nsfs mounts,
//! `/run/netns` entries, and rnetns's own lock (`/run/rnetns.lock`,
//! ARCHITECTURE.md "Locks"). The lock is never removed here: a test that
//! sees it appear fails and says so, since nothing these tests run is
//! meant to create it.
#![allow(dead_code)]

#[path = "doctor_ok.rs"]
mod doctor_ok;
#[path = "hold.rs"]
pub mod hold;
#[path = "names.rs"]
mod names;
#[path = "proc_netns.rs"]
mod proc_netns;

pub use proc_netns::{has, listed, netns_ino, pids_match};

use libtest_mimic::{Failed, Trial};
pub use names::names_in;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output, Stdio};

pub const RNETNS: &str = env!("CARGO_BIN_EXE_rnetns");
const OWN_LOCK: &str = "/run/rnetns.lock";

/// What this host lacks for a real-runtime test: root, or one of `bins`
/// (on PATH, or podman's helpers in /usr/libexec/podman), or one of
/// `files`.
pub fn missing(bins: &[&str], files: &[&str]) -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("needs root".into());
    }
    for bin in bins {
        let found = Command::new("sh")
            .args([
                "-c",
                &format!("command -v {bin} || test -x /usr/libexec/podman/{bin}"),
            ])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Some(format!("{bin} is not installed (.ci/run installs it)"));
        }
    }
    for f in files {
        if !Path::new(f).exists() {
            return Some(format!("{f} is missing (.ci/run installs it)"));
        }
    }
    None
}

/// A real-runtime test: run when nothing is `missing`, else ignored with
/// `SKIP: why` (a failure under `CI=true`): `skip.rs`'s rule.
pub fn trial(name: &str, missing: Option<String>, body: fn() -> Result<(), Failed>) -> Trial {
    super::skip::requires(name, missing, body)
}

/// Runs `argv` with a 120 s limit and no stdin.
pub fn cmd(argv: &[&str]) -> Output {
    super::run::cmd_env(argv, &[])
}

/// `cmd`'s stdout, or an error with its status and output.
pub fn ok(argv: &[&str]) -> Result<String, Failed> {
    super::run::stdout_of(&format!("{argv:?}"), cmd(argv))
}

/// `cmd`, for cleanup: its result does not matter.
pub fn quiet(argv: &[&str]) {
    let _ = cmd(argv);
}

/// `rnetns ARGS`' stdout, which must succeed.
pub fn rnetns(args: &[&str]) -> Result<String, Failed> {
    let argv: Vec<&str> = std::iter::once(RNETNS)
        .chain(args.iter().copied())
        .collect();
    ok(&argv)
}

/// `rnetns list --all-runtimes` (printed) and its `-j` form, parsed.
pub fn list_all(label: &str) -> Result<Vec<Value>, Failed> {
    let plain = rnetns(&["list", "--all-runtimes"])?;
    let json = rnetns(&["-j", "list", "--all-runtimes"])?;
    println!("--- rnetns list --all-runtimes ({label})\n{plain}--- rnetns -j list --all-runtimes\n{json}");
    let spaces: Value = serde_json::from_str(&json)?;
    match spaces {
        Value::Array(v) => Ok(v),
        _ => Err("not an array".into()),
    }
}

/// `rnetns exec REFERENCE` enters the namespace of `pid`.
pub fn enters(reference: &str, pid: u64) -> Result<(), Failed> {
    let link = std::fs::read_link(format!("/proc/{pid}/ns/net"))?;
    let got = rnetns(&["exec", reference, "readlink", "/proc/self/ns/net"])?;
    if got.trim() != link.display().to_string() {
        return Err(format!("exec {reference}: {}, want {}", got.trim(), link.display()).into());
    }
    Ok(())
}

/// `rnetns doctor` finds nothing wrong (or only what `doctor_ok.rs`
/// explains); then the runtimes stay up while `hold.rs` says so.
pub fn doctor() -> Result<(), Failed> {
    doctor_ok::check(RNETNS)?;
    hold::hold();
    Ok(())
}

/// What rnetns or a runtime could leave on the host: nsfs mounts,
/// `/run/netns` entries, rnetns's own lock.
#[derive(Debug, PartialEq)]
pub struct Host {
    pub nsfs: BTreeSet<String>,
    pub run_netns: Option<BTreeSet<String>>,
    pub own_lock: bool,
}

pub fn host() -> Host {
    let nsfs = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(" - nsfs "))
        .map(|l| l.split(' ').skip(3).take(2).collect::<Vec<_>>().join(" "))
        // dockerd mounts its `default` sandbox lazily, on its own.
        .filter(|m| !m.ends_with(" /run/docker/netns/default"))
        .collect();
    Host {
        nsfs,
        run_netns: Path::new("/run/netns")
            .exists()
            .then(|| names_in("/run/netns")),
        own_lock: Path::new(OWN_LOCK).exists(),
    }
}

/// The host is as `before` (after the test's own cleanup). Nothing is
/// removed here: what is left is reported.
pub fn unchanged(before: &Host) -> Result<(), Failed> {
    let after = host();
    if after.own_lock && !before.own_lock {
        return Err(format!(
            "{OWN_LOCK} appeared during the test (rnetns made it; not removed here)"
        )
        .into());
    }
    if after != *before {
        return Err(format!("left behind: host before {before:?}, after {after:?}").into());
    }
    Ok(())
}
