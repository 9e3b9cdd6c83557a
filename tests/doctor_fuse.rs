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

use inner::{report, rnetns, sh};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const UID: u32 = 4242;
const NAME: &str = "doctor_returns_in_time_past_a_users_stuck_fuse";

/// The deadline of doctor's reads of other namespaces, plus the 1 s the
/// bound allows.
const BOUND: Duration = Duration::from_secs(3);

/// The user's process: in its own user and mount namespace (set up by
/// the parent's pre_exec), FUSE over /run/netns; says "ready", then
/// serves (never answering a lookup) until killed.
fn serve_in_user_ns() {
    use nix::mount::{mount, MsFlags};
    use std::io::Write;
    use std::os::fd::AsRawFd;
    let none: Option<&str> = None;
    mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none).unwrap();
    mount(Some("u"), "/tmp", Some("tmpfs"), MsFlags::empty(), none).unwrap();
    for d in ["/tmp/f", "/tmp/l"] {
        std::fs::create_dir(d).unwrap();
    }
    let fd = fuse::mount_fuse("/tmp/f", 0);
    let raw = fd.as_raw_fd();
    std::thread::spawn(move || fuse::serve(raw));
    // Root's own access to a user's FUSE is refused at once; through an
    // overlay (which reaches its lower layers with the mounter's
    // credentials) it waits on the server.
    mount(
        Some("u"),
        "/run/netns",
        Some("overlay"),
        MsFlags::MS_RDONLY,
        Some("lowerdir=/tmp/f:/tmp/l"),
    )
    .expect("overlay over FUSE");
    println!("ready");
    std::io::stdout().flush().unwrap();
    loop {
        std::thread::park();
    }
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
    let exe = std::env::current_exe().unwrap();
    let mut user = {
        let mut c = Command::new(&exe);
        c.args(["--exact", NAME, "--nocapture"])
            .env("DOCTOR_FUSE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        // SAFETY: the forked child is single-threaded here
        // (unshare(CLONE_NEWUSER) needs that; the test harness is not).
        unsafe {
            c.pre_exec(|| {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(UID) != 0
                    || libc::setuid(UID) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                // setuid made us undumpable: /proc/self would be root's.
                libc::prctl(libc::PR_SET_DUMPABLE, 1);
                use nix::sched::{unshare, CloneFlags};
                unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS)?;
                std::fs::write("/proc/self/setgroups", "deny")?;
                std::fs::write("/proc/self/uid_map", format!("0 {UID} 1"))?;
                std::fs::write("/proc/self/gid_map", format!("0 {UID} 1"))?;
                Ok(())
            });
        }
        c.spawn().unwrap()
    };
    use std::io::BufRead;
    let ready = std::io::BufReader::new(user.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .any(|l| l.trim() == "ready");
    assert!(ready, "the user's FUSE server did not start");
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

#[test]
fn doctor_returns_in_time_past_a_users_stuck_fuse() {
    if inner::is_inner(NAME) {
        return body();
    }
    let mode = |p: &str| std::fs::metadata(p).map(|m| (m.mode(), m.rdev())).ok();
    let before = mode("/dev/fuse");
    if let Some(out) = inner::run_in_sandbox(NAME) {
        print!("{out}");
    }
    assert_eq!(mode("/dev/fuse"), before, "the host's /dev/fuse changed");
}
