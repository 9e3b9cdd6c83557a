//! README "Bounded reads" for `doctor`: a real unprivileged user (uid 4242), in a
//! user and mount namespace of their own, holds a FUSE filesystem that
//! never answers a lookup (the raw /dev/fuse server of
//! tests/support/fuse.rs), with an overlay over it on /run/netns in their
//! view, a place doctor looks into (root's lookups there wait on the
//! server: the overlay reaches FUSE with the user's credentials). `doctor` and `doctor --fix` return within the deadline
//! (2 s) plus 1 s, still report root's own entries, and name the user's
//! namespace without entering it. Runs as root in a sandbox
//! (tests/support/sandbox.rs). /dev/fuse is 0600 on some hosts: inside the
//! sandbox's private mount namespace a 0666 node (c 10 229) on a tmpfs is
//! bound over it; the host's node is checked to be left as it was.

#[path = "support/fuse.rs"]
mod fuse;
#[path = "support/inner.rs"]
mod inner;
#[path = "support/sandbox.rs"]
mod sandbox;
#[path = "support/skip.rs"]
mod skip;

use inner::{report, rnetns, sh};
use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const UID: u32 = 4242;
const NAME: &str = "doctor_returns_in_time_past_a_users_stuck_fuse";

fn main() {
    skip::main_privileged(&named![doctor_returns_in_time_past_a_users_stuck_fuse]);
}

/// The deadline of doctor's reads of other namespaces, plus the 1 s the
/// bound allows.
const BOUND: Duration = Duration::from_secs(3);

/// The user's process: in its own user and mount namespace (set up by
/// the parent's pre_exec), FUSE over /run/netns; says "ready", then
/// serves (never answering a lookup) until killed.
fn serve_in_user_ns() {
    fuse::serve_under_overlay("/run/netns");
}

/// rnetns ARGS with its wall time; killed (and failed) after 20 s.
fn timed(args: &[&str]) -> (i32, Duration, String) {
    let t = Instant::now();
    let mut child = Command::new(rnetns())
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create("/tmp/t.out").unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("rnetns {args:?} did not return within 20 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    (
        status.code().unwrap_or(-1),
        t.elapsed(),
        std::fs::read_to_string("/tmp/t.out").unwrap(),
    )
}

fn body() {
    if std::env::var_os("DOCTOR_FUSE").is_some() {
        return serve_in_user_ns();
    }
    // A 0666 /dev/fuse for this sandbox only.
    sh(
        "mkdir -p /run/fz && mount -t tmpfs fz /run/fz && mknod -m 666 /run/fz/fuse c 10 229 \
        && mount --bind /run/fz/fuse /dev/fuse",
    );
    let ip = sandbox::real_ip();
    sh(&format!(
        "{ip} netns add a && {ip} netns add b",
        ip = ip.display()
    ));
    let mut user = fuse::spawn_user_server(NAME, "DOCTOR_FUSE", UID);
    // The FUSE mount really blocks: a lookup in the user's view (in a
    // thread left behind: it sleeps in FUSE until the server dies).
    let probe = format!("/proc/{}/root/run/netns/x", user.id());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = std::fs::symlink_metadata(&probe);
        let _ = tx.send(());
    });
    assert!(
        rx.recv_timeout(Duration::from_millis(500)).is_err(),
        "a lookup in the user's FUSE answered: the test would prove nothing"
    );
    let mut lines = Vec::new();
    for args in [&["doctor"][..], &["doctor", "--fix"][..]] {
        let (rc, took, out) = timed(args);
        lines.push(format!("{args:?} {:.2}s rc {rc}", took.as_secs_f64()));
        println!("rnetns {args:?}:\n{out}");
        assert!(
            took <= BOUND,
            "rnetns {args:?} took {took:?} (bound {BOUND:?}):\n{out}"
        );
        assert!(rc == 0 || rc == 1, "rnetns {args:?}: rc {rc}\n{out}");
        assert!(
            out.contains("view-not-entered: /run/netns")
                && out.contains(&format!("running as uid {UID}"))
                && out.contains("overlay"),
            "rnetns {args:?} did not note the user's view it did not enter:\n{out}"
        );
    }
    // Root's own names are untouched and still resolve.
    for n in ["a", "b"] {
        let f = std::fs::File::open(format!("/run/netns/{n}")).unwrap();
        assert!(rnetns::nsident::is_nsfs(&f), "{n} lost");
    }
    let _ = user.kill();
    let _ = user.wait();
    report(&format!("doctor fuse: {}", lines.join(", ")));
}

fn doctor_returns_in_time_past_a_users_stuck_fuse() {
    if inner::is_inner(NAME) {
        return body();
    }
    let mode = |p: &str| std::fs::metadata(p).map(|m| (m.mode(), m.rdev())).ok();
    let before = mode("/dev/fuse");
    // The inner run's output without its harness's summary, as
    // inner::sandboxed prints it (tests/host_guard.rs counts those lines).
    let out = inner::run_in_sandbox(NAME).expect(skip::IN_PRIVILEGED);
    out.lines()
        .filter(|l| !l.starts_with("test result:"))
        .for_each(|l| println!("{l}"));
    assert_eq!(mode("/dev/fuse"), before, "the host's /dev/fuse changed");
}
