//! The test suite never reads or writes the host's named namespaces, run
//! dir or mounts (README "Tests"). This guard builds a "host" that
//! already holds namespaces `a`, `b` and `web` in a non-shared
//! `/run/netns` (the state that made two doctor tests count the host's
//! mounts) and a mount hidden under another, runs every non-daemon test binary there with
//! `cargo test --no-fail-fast`, and proves that the suite passes and that
//! the run dir (names, nsfs inodes) and the mount table are byte for byte
//! what they were.
//!
//! The "host" is itself a sandbox (new mount, net and pid namespaces, a
//! tmpfs over /run), so this guard never touches the real machine's
//! /run/netns either. It runs the whole suite again, so it only runs when
//! asked: `RNETNS_HOST_GUARD=1 cargo test --test host_guard` (.ci/run does);
//! otherwise it is reported as ignored. Without root it is ignored too,
//! and under `CI=true` that is a failure.

#[path = "support/sandbox.rs"]
mod sandbox;
#[path = "support/skip.rs"]
mod skip;

use libtest_mimic::{Arguments, Failed};
use std::path::Path;
use std::process::{Command, Stdio};

/// Test targets that touch the host on purpose (README "Tests"): they
/// start real runtimes, or they are this guard. A test that does so in
/// an otherwise sandboxed target (runtimes_docker_root's real dockerd)
/// is ignored when it sees `RNETNS_IN_HOST_GUARD`, which the suite run
/// here has.
const HOST_TESTS: &[&str] = &[
    "runtimes_daemons",
    "runtimes_cri",
    "runtimes_lxc_nspawn",
    "runtimes_rootless",
    "wiring_daemons",
    "host_guard",
];

fn main() {
    let args = Arguments::from_args();
    let name = "non_daemon_suite_leaves_a_busy_host_run_dir_alone";
    let trial = if std::env::var_os("RNETNS_HOST_GUARD").is_none_or(|v| v != "1") {
        skip::ignored(
            name,
            "runs the whole suite again; RNETNS_HOST_GUARD=1 runs it",
        )
    } else {
        skip::privileged(name, guard)
    };
    libtest_mimic::run(&args, vec![trial]).exit();
}

/// The non-daemon test targets, as `cargo test` arguments, and how many
/// test binaries they run.
fn suite_args() -> (Vec<String>, usize) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut targets: Vec<String> = std::fs::read_dir(root.join("tests"))
        .expect("tests/")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.strip_suffix(".rs").map(str::to_owned)
        })
        .filter(|n| !HOST_TESTS.contains(&n.as_str()))
        .collect();
    targets.sort();
    let mut args: Vec<String> = ["test", "--locked", "--offline", "--no-fail-fast"]
        .map(String::from)
        .to_vec();
    // RNETNS_HOST_GUARD_TARGETS=doctor,compat narrows the run (to prove
    // the guard on one binary); unset, it is the whole non-daemon suite.
    match std::env::var("RNETNS_HOST_GUARD_TARGETS") {
        Ok(only) => targets = only.split(',').map(str::to_owned).collect(),
        Err(_) => args.extend(["--lib".into(), "--bins".into()]),
    }
    // `--lib --bins`: the library's unit tests report a result; the
    // binary's test harness prints nothing (src/main.rs is `no_main`).
    let binaries = targets.len() + usize::from(args.iter().any(|a| a == "--lib"));
    for t in targets {
        args.push("--test".into());
        args.push(t);
    }
    (args, binaries)
}

/// The outer sandbox's state that the suite must leave alone: every entry
/// of the run dir with its nsfs inode, and the whole mount table.
const SNAPSHOT: &str = r#"snap() {
  echo "== run dir"; for e in /run/netns/* /run/netns/.[!.]*; do [ -e "$e" ] && stat -L -c '%n %F ino=%i' "$e"; done
  echo "== mounts"; cat /proc/self/mountinfo
}"#;

fn guard() -> Result<(), Failed> {
    let root = env!("CARGO_MANIFEST_DIR");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let (args, binaries) = suite_args();
    let argv: Vec<String> = args.iter().map(|a| sandbox::shell_quote(a)).collect();
    let ip = sandbox::real_ip();
    let script = format!(
        r#"set -u
{SNAPSHOT}
mount -t tmpfs host-run /run || exit 99
for n in a b web; do {ip} netns add $n || exit 98; done
mount --make-private /run/netns || exit 97
# A mount hidden under another (as container runtimes leave them): not
# reachable by its path until the one above it is gone.
mkdir -p /run/cover && mount -t tmpfs cover1 /run/cover && mkdir /run/cover/x &&
  mount -t tmpfs cover2 /run/cover/x && mount -t tmpfs cover3 /run/cover || exit 96
snap >/run/.before
findmnt -n -o PROPAGATION /run/netns >&2
echo "+ cargo {argv}"
# CI=true: on this host every test can run, so a skip is a failure.
cd {root} && CI=true RNETNS_IN_HOST_GUARD=1 {cargo} {argv} </dev/null
echo "suite-exit=$?"
snap >/run/.after
if cmp -s /run/.before /run/.after; then echo host-unchanged; else diff /run/.before /run/.after; fi
"#,
        ip = ip.display(),
        root = sandbox::shell_quote(root),
        cargo = sandbox::shell_quote(&cargo),
        argv = argv.join(" "),
    );
    let out = Command::new("unshare")
        .args(["--mount", "--net", "--pid", "--fork", "--mount-proc"])
        .args(["--propagation", "private", "bash", "-c", &script])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("unshare: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    print!("{stdout}");
    let failed: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("test ") && l.ends_with(" FAILED"))
        .collect();
    let ran: usize = stdout
        .lines()
        .filter(|l| l.starts_with("test result:"))
        .count();
    if !stdout.contains("== run dir") && !stdout.contains("suite-exit=") {
        return Err(format!("the outer sandbox did not come up: {stderr}").into());
    }
    if !stdout.contains("\nhost-unchanged\n") {
        return Err(format!(
            "the suite changed the host's run dir or mounts (diff above)\n{stderr}"
        )
        .into());
    }
    if !stdout.contains("\nsuite-exit=0\n") || !failed.is_empty() {
        return Err(format!("the suite failed on a busy host: {failed:?}\n{stderr}").into());
    }
    if ran < binaries {
        return Err(format!("{ran} of {binaries} test binaries ran\n{stderr}").into());
    }
    Ok(())
}
