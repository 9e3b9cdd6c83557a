//! A raw FUSE server for tests and the benchmark (README "Bounded reads"): the kernel's
//! protocol (`linux/fuse.h`) over /dev/fuse, no library.
#![allow(dead_code)]

/// A raw FUSE server (the kernel's protocol, `linux/fuse.h`): it answers
/// INIT, STATFS and GETATTR (what mounting an overlay over it needs), says
/// ENOSYS to the rest, and reads LOOKUP without ever answering it, so
/// whoever looks a name up sleeps in `request_wait_answer` until the
/// server dies.
use std::os::fd::{AsRawFd, OwnedFd};

const INIT: u32 = 26;
const STATFS: u32 = 17;
const GETATTR: u32 = 3;
const LOOKUP: u32 = 1;
const FORGET: u32 = 2;
const INTERRUPT: u32 = 36;
const BATCH_FORGET: u32 = 42;

fn reply(fd: i32, unique: u64, body: &[u8]) {
    reply_err(fd, unique, 0, body)
}

fn reply_err(fd: i32, unique: u64, err: i32, body: &[u8]) {
    let mut out = Vec::with_capacity(16 + body.len());
    out.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
    out.extend_from_slice(&err.to_ne_bytes());
    out.extend_from_slice(&unique.to_ne_bytes());
    out.extend_from_slice(body);
    // SAFETY: writes our buffer to our fd.
    unsafe { libc::write(fd, out.as_ptr().cast(), out.len()) };
}

pub fn serve(fd: i32) {
    let mut buf = vec![0u8; 1 << 21];
    loop {
        // SAFETY: reads into our buffer.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 40 {
            if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return;
        }
        let op = u32::from_ne_bytes(buf[4..8].try_into().unwrap());
        let unique = u64::from_ne_bytes(buf[8..16].try_into().unwrap());
        match op {
            INIT => {
                let mut b = vec![0u8; 64];
                b[0..4].copy_from_slice(&7u32.to_ne_bytes());
                b[4..8].copy_from_slice(&31u32.to_ne_bytes());
                b[20..24].copy_from_slice(&(128u32 << 10).to_ne_bytes());
                reply(fd, unique, &b);
            }
            STATFS => {
                let mut b = vec![0u8; 80];
                b[40..44].copy_from_slice(&4096u32.to_ne_bytes());
                b[44..48].copy_from_slice(&255u32.to_ne_bytes());
                reply(fd, unique, &b);
            }
            GETATTR => {
                let mut b = vec![0u8; 104];
                b[16..24].copy_from_slice(&1u64.to_ne_bytes());
                b[76..80].copy_from_slice(&0o40755u32.to_ne_bytes());
                b[80..84].copy_from_slice(&2u32.to_ne_bytes());
                reply(fd, unique, &b);
            }
            LOOKUP | FORGET | BATCH_FORGET | INTERRUPT => {} // never answered
            _ => reply_err(fd, unique, -libc::ENOSYS, &[]),
        }
    }
}

pub fn mount_fuse(target: &str, uid: u32) -> OwnedFd {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")
        .expect("open /dev/fuse");
    let fd: OwnedFd = f.into();
    let opts = format!(
        "fd={},rootmode=40000,user_id={uid},group_id={uid},allow_other",
        fd.as_raw_fd()
    );
    nix::mount::mount(
        Some("rnetns-test-fuse"),
        target,
        Some("fuse"),
        nix::mount::MsFlags::empty(),
        Some(opts.as_str()),
    )
    .expect("mount fuse");
    fd
}

/// A FUSE mount on `target` in our own view, served by a thread of
/// ours (as fusermount3 leaves it: user_id is the user's, UID).
pub fn mount_own(target: &str, uid: u32) -> OwnedFd {
    std::fs::create_dir_all(target).unwrap();
    let fd = mount_fuse(target, uid);
    let raw = fd.as_raw_fd();
    std::thread::spawn(move || serve(raw));
    fd
}

/// The user's side of a stuck FUSE, in the child [`spawn_user_server`]
/// starts: a private view with a tmpfs /tmp, FUSE on /tmp/f served by a
/// thread, and an overlay over it on `target` (root's own access to a
/// user's FUSE is refused at once; through an overlay, which reaches its
/// lower layers with the mounter's credentials, it waits on the server).
/// Says "ready", then serves (never answering a lookup) until killed.
pub fn serve_under_overlay(target: &str) {
    use nix::mount::{mount, MsFlags};
    use std::io::Write;
    let none: Option<&str> = None;
    mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none).unwrap();
    mount(Some("u"), "/tmp", Some("tmpfs"), MsFlags::empty(), none).unwrap();
    for d in ["/tmp/f", "/tmp/l"] {
        std::fs::create_dir(d).unwrap();
    }
    let fd = mount_fuse("/tmp/f", 0);
    let raw = fd.as_raw_fd();
    std::thread::spawn(move || serve(raw));
    mount(
        Some("u"),
        target,
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

/// This test binary again (`--exact TEST --nocapture`, with `env` set to
/// 1), as `uid` in a user and mount namespace of its own, where it runs
/// [`serve_under_overlay`]; returned once it says "ready".
pub fn spawn_user_server(test: &str, env: &str, uid: u32) -> std::process::Child {
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", test, "--nocapture"])
        .env(env, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    // SAFETY: the forked child is single-threaded here
    // (unshare(CLONE_NEWUSER) needs that; the test harness is not).
    unsafe {
        c.pre_exec(move || {
            become_user(uid)?;
            // setuid made us undumpable: /proc/self would be root's.
            libc::prctl(libc::PR_SET_DUMPABLE, 1);
            use nix::sched::{unshare, CloneFlags};
            unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS)?;
            std::fs::write("/proc/self/setgroups", "deny")?;
            std::fs::write("/proc/self/uid_map", format!("0 {uid} 1"))?;
            std::fs::write("/proc/self/gid_map", format!("0 {uid} 1"))?;
            Ok(())
        });
    }
    let mut child = c.spawn().unwrap();
    let ready = std::io::BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .any(|l| l.trim() == "ready");
    assert!(ready, "the user's FUSE server did not start");
    child
}

/// Becomes `uid` (group `uid`, no supplementary groups), in a `pre_exec`:
/// setgroups, setgid and setuid are async-signal-safe.
pub fn become_user(uid: u32) -> std::io::Result<()> {
    // SAFETY: plain syscalls on no memory of ours but a null list.
    let failed = unsafe {
        libc::setgroups(0, std::ptr::null()) != 0
            || libc::setgid(uid) != 0
            || libc::setuid(uid) != 0
    };
    if failed {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
