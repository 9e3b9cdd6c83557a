//! README "Bounded reads"(reading): nothing a user controls can block,
//! exhaust or redirect root's `list --all-runtimes`. Each test runs as root
//! in a sandbox of its own (tests/support/sandbox.rs: private mount, net and
//! pid namespaces, tmpfs /run and /tmp, overlay /etc), with a real
//! unprivileged user (uid 4242, added to the sandbox's /etc/passwd) and,
//! for the FUSE test, a real user namespace and a real FUSE filesystem
//! that never answers (a raw /dev/fuse server in this binary, below).
//! /dev/fuse is 0600 on some hosts: inside the sandbox a 0666 node
//! (c 10 229) on a tmpfs is bound over it; the host's node is untouched.

#[path = "support/fuse.rs"]
mod fuse;
#[path = "support/inner.rs"]
mod inner;
#[path = "support/sandbox.rs"]
mod sandbox;
#[path = "support/skip.rs"]
mod skip;

use inner::{report, rnetns, sandboxed, sh};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const UID: u32 = 4242;
const HOME: &str = "/tmp/home4242";
const STORAGE: &str = "/tmp/home4242/.local/share/containers/storage";

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let mut trials = skip::privileged_all(&named![
        fuse_under_an_overlay_in_a_users_view_does_not_stall_list,
        fifo_socket_and_device_swaps_are_never_opened,
        hostile_sizes_stay_within_memory_and_time_bounds,
        a_symlinked_run_dir_in_the_users_view_is_not_read,
    ]);
    // No sandbox: the merge runs in this process.
    trials.push(libtest_mimic::Trial::test(
        "merging_60k_paths_of_one_namespace_is_linear",
        || {
            merging_60k_paths_of_one_namespace_is_linear();
            Ok(())
        },
    ));
    libtest_mimic::run(&args, trials).exit();
}

/// A process running as the user (a stand-in for podman's pause process),
/// in our mount namespace.
fn spawn_as_user(prog: &str, args: &[&str]) -> std::process::Child {
    spawn_as(UID, prog, args)
}

fn spawn_as(uid: u32, prog: &str, args: &[&str]) -> std::process::Child {
    let mut c = Command::new(prog);
    c.args(args).stdin(Stdio::null());
    // SAFETY: become_user makes only async-signal-safe calls.
    unsafe {
        c.pre_exec(move || fuse::become_user(uid));
    }
    c.spawn().expect("spawn as user")
}

/// The user in /etc/passwd (the sandbox's overlay), and their run dir.
fn add_user() {
    sh(&format!(
        "echo 'rnu:x:{UID}:{UID}::{HOME}:/bin/sh' >>/etc/passwd\n\
         mkdir -p /run/user/{UID}/libpod/tmp {HOME}\n\
         chown -R {UID}:{UID} /run/user/{UID} {HOME}"
    ));
}

fn write_pause_pid(pid: u32) {
    std::fs::write(
        format!("/run/user/{UID}/libpod/tmp/pause.pid"),
        pid.to_string(),
    )
    .unwrap();
}

struct Timed {
    rc: i32,
    secs: f64,
    rss_kib: i64,
    out: String,
    err: String,
}

/// rnetns ARGS, killed (and failed) after 20 s; wall time and peak RSS
/// (wait4: rnetns and the readers it reaped).
fn timed(args: &[&str]) -> Timed {
    let t = Instant::now();
    // Reaped by wait4 below (it also gives the peak RSS).
    #[allow(clippy::zombie_processes)]
    let mut child = Command::new(rnetns())
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create("/tmp/t.out").unwrap())
        .stderr(std::fs::File::create("/tmp/t.err").unwrap())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid out-buffer.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: our own child; valid pointers.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut ru) };
        if r == pid {
            break;
        }
        if t.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("rnetns {args:?} did not return within 20 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Timed {
        rc: if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            128 + libc::WTERMSIG(status)
        },
        secs: t.elapsed().as_secs_f64(),
        rss_kib: ru.ru_maxrss,
        out: std::fs::read_to_string("/tmp/t.out").unwrap(),
        err: std::fs::read_to_string("/tmp/t.err").unwrap(),
    }
}

/// A 0666 /dev/fuse for this sandbox only.
fn open_dev_fuse() {
    sh(
        "mkdir -p /run/fz && mount -t tmpfs fz /run/fz && mknod -m 666 /run/fz/fuse c 10 229 \
        && mount --bind /run/fz/fuse /dev/fuse",
    );
}

fn fuse_under_an_overlay_in_a_users_view_does_not_stall_list() {
    sandboxed(
        "fuse_under_an_overlay_in_a_users_view_does_not_stall_list",
        || {
            if std::env::var_os("BOUNDED_FUSE").is_some() {
                return serve_in_user_ns();
            }
            open_dev_fuse();
            add_user();
            sh(&format!("{} netns add other", sandbox::real_ip().display()));
            // The user's pause process: a user and mount namespace of its own,
            // a FUSE filesystem that answers only what mounting needs, and an
            // overlay over it on /run/user/UID.
            let mut pause = fuse::spawn_user_server(
                "fuse_under_an_overlay_in_a_users_view_does_not_stall_list",
                "BOUNDED_FUSE",
                UID,
            );
            write_pause_pid(pause.id());
            // Our own view too: a FUSE mount over the user's storage, as
            // `fusermount3 -o allow_other` makes it with user_allow_other.
            let own = fuse::mount_own(STORAGE, UID);
            // The second line: a stall the mount check cannot see. Root's own
            // overlay over a FUSE filesystem (root made it, so it is trusted)
            // on user 4243's storage: that user's reader blocks in FUSE
            // (state D) and is left behind at the deadline.
            let u2 = UID + 1;
            let storage2 = format!("/tmp/home{u2}/.local/share/containers/storage");
            sh(&format!(
                "echo 'rnu2:x:{u2}:{u2}::/tmp/home{u2}:/bin/sh' >>/etc/passwd\n\
             mkdir -p /run/user/{u2}/libpod/tmp /tmp/fz2 /tmp/l2 {storage2}\n\
             chown -R {u2}:{u2} /run/user/{u2} /tmp/home{u2}"
            ));
            let own2 = fuse::mount_own("/tmp/fz2", u2);
            sh(&format!(
                "mount -t overlay o2 -o lowerdir=/tmp/fz2:/tmp/l2 {storage2}"
            ));
            // Ends with the sandbox's pid namespace.
            #[allow(clippy::zombie_processes)]
            let pause2 = spawn_as(u2, "sleep", &["1000"]);
            std::fs::write(
                format!("/run/user/{u2}/libpod/tmp/pause.pid"),
                pause2.id().to_string(),
            )
            .unwrap();

            let r = timed(&["list", "--all-runtimes"]);
            report(&format!(
                "bounded fuse: list --all-runtimes {:.2}s rc {} rss {} KiB",
                r.secs, r.rc, r.rss_kib
            ));
            assert_eq!(r.rc, 0, "{}", r.err);
            assert!(r.secs <= 3.0, "took {:.2}s (deadline 2s + 1s)", r.secs);
            assert!(
                r.out.contains("other"),
                "other namespaces are listed:\n{}",
                r.out
            );
            let view = format!("/proc/{}/root/run/user/{UID}", pause.id());
            assert!(
                r.err
                    .contains(&format!("skipping {view}: it crosses {view} (overlay)")),
                "overlay in the user's view is named:\n{}",
                r.err
            );
            assert!(
                r.err
                    .contains(&format!("skipping {STORAGE}: it crosses {STORAGE} (fuse)")),
                "FUSE in our own view is named:\n{}",
                r.err
            );
            assert!(
                r.err.contains(&format!(
                    "uid {u2}'s podman state did not answer within 2s; skipped"
                )),
                "the stalled reader is left behind with a note:\n{}",
                r.err
            );
            assert!(
                r.secs >= 1.9,
                "the deadline was waited for ({:.2}s)",
                r.secs
            );
            let stuck = std::fs::read_dir("/proc")
                .unwrap()
                .flatten()
                .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
                .filter(|st| st.contains("(rnetns) D"))
                .count();
            report(&format!(
                "bounded fuse: {stuck} rnetns reader(s) left in state D"
            ));
            assert!(stuck >= 1, "the stalled reader is in FUSE (state D)");
            let j = timed(&["-j", "list", "--all-runtimes"]);
            assert!(j.rc == 0 && j.secs <= 3.0 && j.out.contains("\"other\""));
            // Killing the servers (this process's threads go with the
            // sandbox) aborts the FUSE connections and frees the readers.
            let _ = pause.kill();
            let _ = pause.wait();
            drop(own);
            drop(own2);
        },
    );
}

/// FIFOs at every path a scan reads, each with a writer blocked in open(2)
/// until someone opens the FIFO for reading: if rnetns opened one, its
/// writer would return.
struct Fifo {
    path: String,
    opened: Arc<AtomicBool>,
}

fn fifo(path: &str) -> Fifo {
    if let Some(dir) = Path::new(path).parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    let _ = std::fs::remove_file(path);
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o666)).unwrap();
    let opened = Arc::new(AtomicBool::new(false));
    let (p, o) = (path.to_string(), opened.clone());
    std::thread::spawn(move || {
        if std::fs::OpenOptions::new().write(true).open(&p).is_ok() {
            o.store(true, Ordering::SeqCst);
        }
    });
    Fifo {
        path: path.to_string(),
        opened,
    }
}

const C1: &str = "c100000000000000000000000000000000000000000000000000000000000001";
const C2: &str = "c200000000000000000000000000000000000000000000000000000000000002";
const POD: &str = "f000000000000000000000000000000000000000000000000000000000000003";

fn fifo_socket_and_device_swaps_are_never_opened() {
    sandboxed("fifo_socket_and_device_swaps_are_never_opened", || {
        add_user();
        let ip = sandbox::real_ip();
        sh(&format!(
            "{ip} netns add good\n\
             mount -t tmpfs v /var/lib/containers 2>/dev/null || {{ mkdir -p /var/lib/containers && mount -t tmpfs v /var/lib/containers; }}\n\
             mkdir -p /var/lib/docker && mount -t tmpfs d /var/lib/docker",
            ip = ip.display()
        ));
        // Ends with the sandbox's pid namespace.
        #[allow(clippy::zombie_processes)]
        let pause = spawn_as_user("sleep", &["1000"]);
        write_pause_pid(pause.id());
        let ov = format!("{STORAGE}/overlay-containers");
        let run = format!("/run/user/{UID}/containers/overlay-containers");
        std::fs::create_dir_all(format!("{ov}/{C2}/userdata")).unwrap();
        std::fs::write(
            format!("{ov}/{C2}/userdata/config.json"),
            format!(
                r#"{{"annotations":{{"io.container.manager":"libpod"}},"linux":{{"cgroupsPath":"user.slice/user-libpod_pod_{POD}.slice/libpod-{C2}.scope"}}}}"#
            ),
        )
        .unwrap();
        let docker = "0123456789ab";
        let fifos: Vec<Fifo> = [
            "/run/netns/fifo".to_string(),
            format!("/run/docker/netns/{docker}"),
            format!("/var/lib/docker/containers/{C1}/config.v2.json"),
            format!("/var/lib/containers/storage/overlay-containers/{C1}/userdata/config.json"),
            "/var/lib/containers/storage/overlay-containers/containers.json".into(),
            format!("/run/user/{UID}/netns/fifo"),
            format!("{ov}/{C1}/userdata/config.json"),
            format!("{ov}/containers.json"),
            format!("{STORAGE}/libpod/bolt_state.db"),
            format!("{run}/{C2}/userdata/pidfile"),
            format!("/run/user/{}/libpod/tmp/pause.pid", UID + 1),
        ]
        .iter()
        .map(|p| fifo(p))
        .collect();
        sh(&format!(
            "chown -R {UID}:{UID} {HOME} /run/user/{UID}\n\
             mkdir -p /run/user/{u2}\n\
             mknod /run/netns/dev c 1 3\n\
             mknod /run/user/{UID}/netns/dev c 1 3",
            u2 = UID + 1
        ));
        let _sock =
            std::os::unix::net::UnixListener::bind(format!("/run/user/{UID}/netns/sock")).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        for args in [
            &["list", "--all-runtimes"][..],
            &["-j", "list", "--all-runtimes"],
            &["identify", "--all-runtimes", "1"],
        ] {
            let r = timed(args);
            assert!(r.secs < 3.0, "{args:?} took {:.2}s", r.secs);
            if args[0] != "identify" {
                assert_eq!(r.rc, 0, "{args:?}: {}", r.err);
                assert!(
                    r.out.contains("good"),
                    "{args:?} lists the rest:\n{}",
                    r.out
                );
            }
        }
        let r = timed(&["list", "--all-runtimes"]);
        assert!(
            r.err.contains("not a regular file"),
            "swaps are noted:\n{}",
            r.err
        );
        let opened: Vec<&str> = fifos
            .iter()
            .filter(|f| f.opened.load(Ordering::SeqCst))
            .map(|f| f.path.as_str())
            .collect();
        assert!(opened.is_empty(), "FIFOs opened: {opened:?}");
        // A swap between scan and open: a namespace whose path is now a
        // FIFO is not opened through it.
        let own = std::fs::metadata("/proc/self/ns/net").unwrap();
        use std::os::unix::fs::MetadataExt;
        let ns = rnetns::runtimes::Namespace {
            key: Some((own.dev(), own.ino())),
            nsid: None,
            names: Vec::new(),
            paths: vec![b"/run/netns/fifo".to_vec()],
            runtime: "podman",
            containers: Vec::new(),
            pids: Vec::new(),
            stale: false,
            owner_uid: None,
        };
        assert!(ns.open().is_none());
        assert!(!fifos[0].opened.load(Ordering::SeqCst));
        for f in &fifos {
            let _ = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&f.path);
        }
    });
}

use std::os::unix::fs::OpenOptionsExt;

fn hostile_sizes_stay_within_memory_and_time_bounds() {
    sandboxed("hostile_sizes_stay_within_memory_and_time_bounds", || {
        add_user();
        // Ends with the sandbox's pid namespace.
        #[allow(clippy::zombie_processes)]
        let pause = spawn_as_user("sleep", &["1000"]);
        write_pause_pid(pause.id());
        let ov = format!("{STORAGE}/overlay-containers");
        // 16 MiB of `[0,0,…]` (in an object, so all of it is parsed),
        // hard-linked into 40 container directories.
        std::fs::create_dir_all(&ov).unwrap();
        // Written by shell tools: a parent that grew would lend its
        // high-water RSS to every child it spawns (wait4's ru_maxrss).
        sh(&format!(
            r#"{{ printf '{{"x":['; yes 0, | tr -d '\n' | head -c 16777200; printf '0]}}'; }} >{HOME}/big.json"#
        ));
        let first = format!("{HOME}/big.json");

        for i in 0..40 {
            let d = format!("{ov}/{:064x}/userdata", 0xa000 + i);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::hard_link(&first, format!("{d}/config.json")).unwrap();
        }
        let r = timed(&["list", "--all-runtimes"]);
        report(&format!(
            "bounded hard-linked 16 MiB config.json x40: {:.2}s rss {} KiB",
            r.secs, r.rss_kib
        ));
        assert_eq!(r.rc, 0, "{}", r.err);
        assert!(r.rss_kib <= 64 * 1024, "peak RSS {} KiB", r.rss_kib);
        assert!(r.secs <= 3.0, "took {:.2}s", r.secs);
        // The byte cap, seen with a file whose parse fails at once (the
        // debug build parses 64 MiB of JSON in more than the deadline):
        // 16 MiB x 40 links, 64 MiB read.
        sh(&format!(
            "{{ printf ']'; head -c 16777200 /dev/zero | tr '\\0' a; }} >{HOME}/big2.json"
        ));
        for i in 0..40 {
            let c = format!("{ov}/{:064x}/userdata/config.json", 0xa000 + i);
            std::fs::remove_file(&c).unwrap();
            std::fs::hard_link(format!("{HOME}/big2.json"), c).unwrap();
        }
        let r = timed(&["list", "--all-runtimes"]);
        assert!(r.rss_kib <= 64 * 1024, "peak RSS {} KiB", r.rss_kib);
        assert!(
            r.err.contains(&format!(
                "{STORAGE}: read 67108864 bytes of this tree; the rest was not read"
            )),
            "the byte cap is noted:\n{}",
            r.err
        );
        sh(&format!("rm -rf {ov}/*"));
        // A 16 MiB bolt_state.db with 100,000 pods, and 400 containers in
        // pods that are not in it (each a full search before).
        std::fs::create_dir_all(format!("{STORAGE}/libpod")).unwrap();
        sh(&format!(
            r#"awk 'BEGIN {{ for (i = 0; i < 185000; i++) printf "{{\"id\":\"%064x\",\"name\":\"p%d\"}}", i, i }}' >{STORAGE}/libpod/bolt_state.db"#
        ));
        for c in 0..400u64 {
            let id = format!("{:064x}", 0xb000 + c);
            let d = format!("{ov}/{id}/userdata");
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(
                format!("{d}/config.json"),
                format!(
                    r#"{{"annotations":{{"io.container.manager":"libpod"}},"linux":{{"cgroupsPath":"user.slice/user-libpod_pod_{:064x}.slice/libpod-{id}.scope"}}}}"#,
                    0xdead_0000 + c
                ),
            )
            .unwrap();
        }
        let r = timed(&["list", "--all-runtimes"]);
        report(&format!(
            "bounded bolt_state.db 16 MiB x 400 pod containers: {:.2}s rss {} KiB; {}",
            r.secs,
            r.rss_kib,
            r.err.trim()
        ));
        assert_eq!(r.rc, 0, "{}", r.err);
        assert!(r.rss_kib <= 64 * 1024, "peak RSS {} KiB", r.rss_kib);
        assert!(r.secs <= 3.0, "took {:.2}s", r.secs);
        // More containers than the per-directory cap.
        sh(&format!("rm -rf {ov}/*"));
        for c in 0..10_050u64 {
            std::fs::create_dir(format!("{ov}/{:064x}", 0xc000 + c)).unwrap();
        }
        let r = timed(&["list", "--all-runtimes"]);
        assert!(r.rss_kib <= 64 * 1024, "peak RSS {} KiB", r.rss_kib);
        assert!(
            r.err
                .contains("more than 10000 entries; the rest were not read"),
            "{}",
            r.err
        );
    });
}

fn a_symlinked_run_dir_in_the_users_view_is_not_read() {
    sandboxed("a_symlinked_run_dir_in_the_users_view_is_not_read", || {
        add_user();
        let ip = sandbox::real_ip();
        sh(&format!("{} netns add rootns", ip.display()));
        // In the user's own mount namespace: /run/user/UID -> /run.
        let script =
            format!("mount -t tmpfs u /run/user && ln -s /run /run/user/{UID} && exec sleep 1000");
        // Ends with the sandbox's pid namespace.
        #[allow(clippy::zombie_processes)]
        let pause = spawn_as_user("unshare", &["-Urm", "sh", "-c", &script]);
        let view = format!("/proc/{}/root/run/user/{UID}", pause.id());
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::fs::symlink_metadata(&view).map_or(true, |m| !m.file_type().is_symlink()) {
            assert!(
                Instant::now() < deadline,
                "the user's symlink never appeared"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        write_pause_pid(pause.id());
        let r = timed(&["-j", "list", "--all-runtimes"]);
        assert_eq!(r.rc, 0, "{}", r.err);
        assert!(
            r.err
                .contains(&format!("skipping {view}: a symlink to /run")),
            "{}",
            r.err
        );
        let list: serde_json::Value = serde_json::from_str(&r.out).unwrap();
        let rootns = list
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["names"][0] == "rootns")
            .expect("rootns listed");
        assert_eq!(rootns["runtime"], "iproute2", "{rootns}");
    });
}

fn merging_60k_paths_of_one_namespace_is_linear() {
    use rnetns::runtimes::{merge, procs::Procs, Evidence};
    let mut ev = Evidence::default();
    for i in 0..60_000 {
        ev.path(format!("/run/x/{i}").into_bytes(), Some((4, 9)), None);
    }
    let t = Instant::now();
    let s = merge(ev, &Procs::default());
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(s.namespaces[0].paths.len(), 60_000);
    // Debug build: ~0.7 s here; the quadratic merge took 4 s in release.
    assert!(secs < 3.0, "merge took {secs:.2}s");
}

/// The pause process: started as the user in a user and mount
/// namespace of its own, it mounts FUSE and an overlay over it on
/// /run/user/UID, says "ready" and serves until killed.
fn serve_in_user_ns() {
    fuse::serve_under_overlay(&format!("/run/user/{UID}"));
}
