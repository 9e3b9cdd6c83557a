//! `rnetns doctor [--fix]`: find, explain and repair the classic broken
//! mount states behind `Peer netns reference is invalid`, `setting the
//! network namespace "X" failed: Invalid argument` and friends (README "Diagnose and repair").
//! Reads this and other mount namespaces' mountinfo, lstat()s the run dir
//! and its entries, and with `--fix` only ever (man page, DOCTOR): unlinks
//! placeholders proven stale (rnetns(8) DOCTOR: empty, mode 0000, unmounted in
//! every mount namespace, older than a grace period), bind-mounts
//! namespaces that root holds elsewhere back onto their names (README "Bounded reads"),
//! and rebuilds the run dir's own mount. It never removes a namespace that
//! is alive or named elsewhere, nor anything an add did not make; each
//! repair is reported as done or not.

mod bounded;
mod checks;
mod fix;
mod holders;
mod owners;
mod placeholder;
mod swap;

use super::{Ctx, Status};
use crate::error::Error;
use crate::output::json::{self, Value};
use nix::fcntl::Flock;
use std::fs::File;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Something is broken or will break: exit 1.
    Problem,
    /// Worth knowing, nothing to repair (e.g. a namespace with no process).
    Info,
}

/// What `--fix` may do about a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repair {
    None,
    /// Unlink an unmounted placeholder that no mount namespace holds.
    RemoveStale(Vec<u8>),
    /// Bind the namespace mounted at this path in another mount namespace
    /// (reached through /proc/PID/root) onto the entry.
    Adopt {
        name: Vec<u8>,
        pid: u32,
    },
    /// Rebuild the run dir's mount: own peer group, one mount per entry.
    Rebuild,
    /// Make the run-dir mount shared with its own peer group.
    Reshare,
}

/// One thing doctor noticed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub check: &'static str,
    pub severity: Severity,
    pub path: Vec<u8>,
    pub what: String,
    pub why: String,
    pub fix: String,
    pub repair: Repair,
}

pub fn doctor(ctx: &mut Ctx, args: &[Vec<u8>]) -> Status {
    let fix = match args.first().map(Vec::as_slice) {
        None => false,
        Some(b"--fix") => true,
        Some(other) => return Err(Error::DoctorArgument(other.to_vec())),
    };
    // The scan takes no lock (ARCHITECTURE.md "Locks"): with thousands of entries it
    // would hold off every `ip netns add` for seconds. Each repair takes
    // the locks for its own re-check and change only ([`exclusive`]).
    let mut findings = checks::run();
    let mut actions = Vec::new();
    if fix {
        actions = fix::apply(&findings);
        if !ctx.globals.json {
            for a in &actions {
                let tag = if a.fixed { "fixed" } else { "could not fix" };
                ctx.out.write(format!("{tag}: {}\n", a.text).as_bytes());
            }
        }
        findings = checks::run();
    }
    if fix && ctx.globals.json {
        render_fix_json(ctx, &actions, &findings);
    } else {
        render(ctx, &findings);
    }
    let problems = findings.iter().any(|f| f.severity == Severity::Problem);
    Ok(i32::from(problems))
}

fn finding_json(f: &Finding) -> json::Node {
    use json::Node::Str;
    json::Node::Object(vec![
        ("check", Str(f.check.as_bytes().to_vec())),
        (
            "severity",
            Str(severity_word(f.severity).as_bytes().to_vec()),
        ),
        ("path", Str(f.path.clone())),
        ("what", Str(f.what.clone().into_bytes())),
        ("why", Str(f.why.clone().into_bytes())),
        ("fix", Str(f.fix.clone().into_bytes())),
    ])
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Problem => "problem",
        Severity::Info => "info",
    }
}

/// `-j doctor --fix`: `{"actions":[{"path","fixed","what"}...],"findings":[...]}`,
/// the findings being what is left after the repairs.
fn render_fix_json(ctx: &mut Ctx, actions: &[fix::Action], findings: &[Finding]) {
    use json::Node;
    let actions = actions
        .iter()
        .map(|a| {
            Node::Object(vec![
                ("path", Node::Str(a.path.clone())),
                ("fixed", Node::Bool(a.fixed)),
                ("what", Node::Str(a.text.clone().into_bytes())),
            ])
        })
        .collect();
    let doc = Node::Object(vec![
        ("actions", Node::Array(actions)),
        (
            "findings",
            Node::Array(findings.iter().map(finding_json).collect()),
        ),
    ]);
    ctx.out.write(&json::render(&doc, ctx.globals.pretty));
}

/// Runs `f` (one repair: its last-moment re-check and its change, given
/// rnetns's lock as proof that it is held) under
/// rnetns's own lock and the run dir's flock, both exclusive and both
/// taken with a bounded wait: no rnetns `add`, `delete` or `attach` is
/// half done meanwhile, and no `add` (6.1's or ours) gets past its
/// run-dir setup to create a placeholder. Held for one finding at a time,
/// so iproute2 waits at most that long.
pub(crate) fn exclusive<T>(f: impl FnOnce(Option<&Flock<File>>) -> T) -> T {
    let own = crate::store::lock::lock_run_dir(true).ok().flatten();
    let run_dir = crate::store::lock::flock_run_dir();
    let r = f(own.as_ref());
    drop(run_dir);
    drop(own);
    r
}

/// Binds the namespace `file` holds onto run-dir entry `name`, through
/// the fd (`/proc/self/fd/N`): the same inode whatever became of the path
/// it was opened by. The rebuild (fix.rs) and the collapse's child
/// (swap.rs) bind names back this one way.
fn bind_entry(file: &File, name: &[u8]) -> nix::Result<()> {
    use std::os::fd::AsRawFd;
    let src = format!("/proc/self/fd/{}", file.as_raw_fd());
    nix::mount::mount(
        Some(src.as_str()),
        &crate::store::entry_path(name),
        None::<&str>,
        nix::mount::MsFlags::MS_BIND,
        None::<&str>,
    )
}

fn render(ctx: &mut Ctx, findings: &[Finding]) {
    if ctx.globals.json {
        let objects: Vec<Vec<(&str, Value)>> = findings
            .iter()
            .map(|f| {
                vec![
                    ("check", Value::Str(f.check.as_bytes())),
                    (
                        "severity",
                        Value::Str(match f.severity {
                            Severity::Problem => b"problem",
                            Severity::Info => b"info",
                        }),
                    ),
                    ("path", Value::Str(&f.path)),
                    ("what", Value::Str(f.what.as_bytes())),
                    ("why", Value::Str(f.why.as_bytes())),
                    ("fix", Value::Str(f.fix.as_bytes())),
                ]
            })
            .collect();
        ctx.out.write(&json::array(&objects, ctx.globals.pretty));
        return;
    }
    let problems = findings
        .iter()
        .filter(|f| f.severity == Severity::Problem)
        .count();
    for f in findings {
        let tag = match f.severity {
            Severity::Problem => "problem",
            Severity::Info => "info",
        };
        let mut text = format!("{tag}: {}: ", f.check).into_bytes();
        text.extend_from_slice(crate::output::escape::escape(&f.path).as_bytes());
        text.extend_from_slice(format!("\n  what: {}\n", f.what).as_bytes());
        if !f.why.is_empty() {
            text.extend_from_slice(format!("  why:  {}\n", f.why).as_bytes());
        }
        if !f.fix.is_empty() {
            text.extend_from_slice(format!("  fix:  {}\n", f.fix).as_bytes());
        }
        ctx.out.write(&text);
    }
    if problems == 0 {
        ctx.out
            .write(format!("all clear: {}\n", checks::summary()).as_bytes());
    } else {
        ctx.out.write(format!("{problems} problem(s) found; `rnetns doctor --fix` repairs what is safe to repair\n").as_bytes());
    }
}
