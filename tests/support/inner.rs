//! Hardening tests whose body is Rust but must run inside a throwaway
//! sandbox (tests/support/sandbox.rs): the outer test re-executes the test
//! binary inside `unshare` with `HARDENING_INNER=<test name>`, and the same
//! test function, seeing that variable, does the real work in there. This
//! gives the storm, crash and resource tests precise timing (spawn, sleep,
//! SIGKILL, wait4) without a shell in between, and never touches the host.
#![allow(dead_code)]

use super::sandbox;
#[path = "rng.rs"]
mod rng;
#[allow(unused_imports)] // not every includer draws random numbers
pub use rng::Rng;
use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The whole of a sandboxed test `name`: `body` in the inner run; in the
/// outer one, the inner run in a fresh sandbox, its output printed.
pub fn sandboxed(name: &str, body: impl FnOnce()) {
    if is_inner(name) {
        body();
    } else if let Some(out) = run_in_sandbox(name) {
        // What the test printed, without the inner harness's summary: a
        // harness = false target does not capture this output, and
        // tests/host_guard.rs counts the suite's `test result:` lines.
        out.lines()
            .filter(|l| !l.starts_with("test result:"))
            .for_each(|l| println!("{l}"));
    }
}

/// Whether this process is the inner (sandboxed) run of test `name`.
pub fn is_inner(name: &str) -> bool {
    std::env::var("HARDENING_INNER").is_ok_and(|v| v == name)
}

/// Long mode (documented in README "Hardening"): `HARDENING_LONG=1`.
pub fn long_mode() -> bool {
    std::env::var_os("HARDENING_LONG").is_some_and(|v| v == "1")
}

/// Outer half: runs test `name` of this binary inside a fresh sandbox
/// (`sandbox::run_checked`) and returns its stdout; panics with the inner
/// output when it fails. `None` where `run_checked` skips; a test listed
/// through `skip::privileged` is reported as ignored before that.
pub fn run_in_sandbox(name: &str) -> Option<String> {
    let exe = std::env::current_exe().unwrap();
    let body = format!(
        "export HARDENING_INNER={name} RNETNS={rnetns} PATH=/usr/sbin:/usr/bin:/sbin:/bin\n\
         exec {exe} --exact {name} --nocapture --test-threads=1",
        rnetns = sandbox::shell_quote(env!("CARGO_BIN_EXE_rnetns")),
        exe = sandbox::shell_quote(&exe.to_string_lossy()),
    );
    let stdout = sandbox::run_checked(&format!("hardening-{name}"), &body)?;
    // libtest prints "running 0 tests" when the filter matched nothing.
    assert!(
        stdout.contains("1 passed"),
        "inner test {name} did not run:\n{stdout}"
    );
    Some(stdout)
}

/// Records a figure for the report: printed, and appended to
/// target/tmp/hardening-report.txt.
pub fn report(line: &str) {
    println!("HARDENING {line}");
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hardening-report.txt");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(f, "{line}");
    }
}

/// rnetns (the debug binary cargo built for this test run).
pub fn rnetns() -> PathBuf {
    PathBuf::from(std::env::var_os("RNETNS").expect("RNETNS set by the outer test"))
}

/// A finished command: exit status (128+N for a signal), stdout, stderr.
#[derive(Debug, Clone)]
pub struct Run {
    pub rc: i32,
    pub out: Vec<u8>,
    pub err: Vec<u8>,
}

impl Run {
    pub fn err_text(&self) -> String {
        String::from_utf8_lossy(&self.err).into_owned()
    }
    pub fn out_text(&self) -> String {
        String::from_utf8_lossy(&self.out).into_owned()
    }
}

fn status_of(o: &Output) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    o.status
        .code()
        .unwrap_or_else(|| 128 + o.status.signal().unwrap_or(0))
}

/// Runs `prog args` with stdin from /dev/null.
pub fn run<S: AsRef<OsStr>>(prog: impl AsRef<OsStr>, args: &[S]) -> Run {
    let o = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("spawn");
    Run {
        rc: status_of(&o),
        out: o.stdout,
        err: o.stderr,
    }
}

/// `bash -c SCRIPT`, asserting success.
pub fn sh(script: &str) -> String {
    let r = run("bash", &["-c", script]);
    assert_eq!(r.rc, 0, "setup failed: {script}\n{}", r.err_text());
    r.out_text()
}

/// The nsfs mounts whose mount point is under /run/netns/, as seen by this
/// process: (mount point, count of stacked nsfs mounts there).
pub fn nsfs_mounts_under_run_dir() -> Vec<(Vec<u8>, usize)> {
    let mounts = rnetns::mountinfo::read("self").unwrap_or_default();
    let mut seen: Vec<(Vec<u8>, usize)> = Vec::new();
    for m in mounts.iter().filter(|m| m.is_nsfs()) {
        if !m.mount_point.starts_with(b"/run/netns/") {
            continue;
        }
        match seen.iter_mut().find(|(p, _)| *p == m.mount_point) {
            Some((_, n)) => *n += 1,
            None => seen.push((m.mount_point.clone(), 1)),
        }
    }
    seen
}

/// Every nsfs mount in every mount namespace of the sandbox (one count per
/// distinct mount namespace).
pub fn nsfs_mounts_everywhere(ours: fn(&[u8]) -> bool) -> usize {
    let mut seen_ns = std::collections::HashSet::new();
    let mut total = 0;
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = e.file_name();
        if !pid.as_bytes().iter().all(u8::is_ascii_digit) {
            continue;
        }
        let Ok(mnt) = std::fs::metadata(Path::new("/proc").join(&pid).join("ns/mnt")) else {
            continue;
        };
        if !seen_ns.insert(mnt.ino()) {
            continue;
        }
        let Ok(ms) = rnetns::mountinfo::read(&pid.to_string_lossy()) else {
            continue;
        };
        total += ms
            .iter()
            .filter(|m| m.is_nsfs())
            .filter(|m| {
                m.mount_point
                    .rsplit(|&b| b == b'/')
                    .next()
                    .is_some_and(ours)
            })
            .count();
    }
    total
}

/// Network namespaces still alive that this netns has an id for (after a
/// storm every named one got an id through `set auto`), waiting up to
/// `wait` for the kernel's asynchronous teardown to finish.
pub fn peer_netns_alive(wait: Duration) -> usize {
    let deadline = std::time::Instant::now() + wait;
    loop {
        let r = run(sandbox::real_ip(), &["netns", "list-id"]);
        let n = r.out_text().lines().count();
        if n == 0 || std::time::Instant::now() >= deadline {
            return n;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Distinct network namespaces that processes of the sandbox are in.
pub fn netns_of_processes() -> usize {
    let mut seen = std::collections::HashSet::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(m) = std::fs::metadata(e.path().join("ns/net")) {
            seen.insert(m.ino());
        }
    }
    seen.len()
}

/// The run dir's entries that are not a live nsfs mount (stale
/// placeholders, strays), by name; and nsfs mounts whose entry is gone.
/// Only names for which `ours` holds are judged: mounts of unrelated
/// tools (a container runtime's `netns-UUID` entries, propagated into the
/// sandbox by another process sharing the peer group) are not ours to judge.
pub fn run_dir_anomalies(ours: fn(&[u8]) -> bool) -> Vec<String> {
    let mut bad = Vec::new();
    let prefix_len = b"/run/netns/".len();
    let mounts: Vec<_> = nsfs_mounts_under_run_dir()
        .into_iter()
        .filter(|(m, _)| ours(&m[prefix_len..]))
        .collect();
    let names: Vec<Vec<u8>> = match std::fs::read_dir("/run/netns") {
        Ok(d) => d
            .flatten()
            .map(|e| e.file_name().as_bytes().to_vec())
            .filter(|n| ours(n))
            .collect(),
        Err(_) => Vec::new(),
    };
    for n in &names {
        let mut p = b"/run/netns/".to_vec();
        p.extend_from_slice(n);
        match mounts.iter().find(|(m, _)| *m == p) {
            None => {
                let md = std::fs::symlink_metadata(show(&p));
                let again = nsfs_mounts_under_run_dir().iter().any(|(m, _)| *m == p);
                bad.push(format!(
                    "entry without mount: {} (mode {:o}, size {:?}, seen on a second read: {again})",
                    show(n),
                    md.as_ref().map(|m| m.mode()).unwrap_or(0),
                    md.as_ref().map(|m| m.len()).ok()
                ))
            }
            Some((_, c)) if *c > 1 => bad.push(format!("{c} mounts stacked on {}", show(n))),
            Some(_) => {}
        }
    }
    for (m, _) in &mounts {
        let name = &m[b"/run/netns/".len()..];
        if !names.iter().any(|n| n.as_slice() == name) {
            bad.push(format!("mount without entry: {}", show(m)));
        }
    }
    bad
}

pub fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Takes rnetns's own lock (as rnetns's writers do, ARCHITECTURE.md
/// "Locks") and the run dir's flock while `f` runs, so a check sees no
/// half-made rnetns entry. `None` when there is no run dir to lock (yet):
/// `f` does not run then, as it would judge without the lock while the
/// first `add` creates the run dir and its first placeholder.
pub fn with_run_dir_lock<T>(f: impl FnOnce() -> T) -> Option<T> {
    let dir = std::fs::File::open("/run/netns").ok()?;
    // No lock file: no rnetns writer has run (an iproute2-only storm).
    let own = std::fs::File::open(rnetns::store::lock::OWN_LOCK)
        .ok()
        .and_then(|f| nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive).ok());
    let lock = nix::fcntl::Flock::lock(dir, nix::fcntl::FlockArg::LockExclusive).ok()?;
    let r = f();
    drop(lock);
    drop(own);
    Some(r)
}

/// A listing of what lies outside the run dir and could be touched by
/// mistake: every mount of this mount namespace except the run dir's own
/// and its entries, and the trees of /run (minus /run/netns), /etc/netns
/// and /tmp.
pub fn outside_state() -> String {
    let mut s = String::new();
    for m in rnetns::mountinfo::read("self").unwrap_or_default() {
        if m.mount_point == b"/run/netns" || m.mount_point.starts_with(b"/run/netns/") {
            continue;
        }
        s.push_str(&format!(
            "mount {} {} {} {}\n",
            m.id,
            show(&m.mount_point),
            show(&m.fstype),
            show(&m.source)
        ));
    }
    for root in ["/run", "/etc/netns", "/tmp"] {
        walk(Path::new(root), &mut s);
    }
    s
}

fn walk(p: &Path, s: &mut String) {
    if p == Path::new("/run/netns") {
        return;
    }
    let Ok(md) = std::fs::symlink_metadata(p) else {
        return;
    };
    let t = md.file_type();
    let kind = if t.is_dir() {
        "d"
    } else if t.is_symlink() {
        "l"
    } else if t.is_fifo() {
        "p"
    } else {
        "f"
    };
    s.push_str(&format!(
        "{kind} {:o} {} {}\n",
        md.mode(),
        md.len(),
        p.display()
    ));
    if t.is_dir() {
        let mut kids: Vec<_> = std::fs::read_dir(p)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        kids.sort();
        for k in kids {
            walk(&k, s);
        }
    }
}

/// The seed: `HARDENING_SEED` or the clock (printed, for replay).
pub fn seed() -> u64 {
    std::env::var("HARDENING_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        })
}
