//! `--bounded` (README "Bounded reads"): `list --all-runtimes` with each hostile input a
//! rootless user can write, and with many legitimate rootless containers.
//! Inside the benchmark's sandbox; /tmp gets a tmpfs and /etc/passwd a
//! copy with the user in it, both in the sandbox's own mount namespace.
//! Targets: peak RSS <= 64 MB and wall <= deadline (2 s) + 1 s for each
//! hostile input; per-container cost flat from 1,000 to 10,000 containers.

use super::{die, fuse, reap, sh};
use std::fmt::Write as _;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

const UID: u32 = 4242;
const HOME: &str = "/tmp/home4242";
const STORAGE: &str = "/tmp/home4242/.local/share/containers/storage";
const OV: &str = "/tmp/home4242/.local/share/containers/storage/overlay-containers";

fn must(script: &str) {
    let (code, _) = sh(script);
    if code != 0 {
        die(&format!("bounded setup failed: {script}"));
    }
}

/// (wall s, peak RSS KiB, notes) of `rn list --all-runtimes`, median of 3.
fn list(rn: &Path) -> (f64, i64, usize) {
    let mut runs: Vec<(f64, i64, usize)> = (0..3)
        .map(|_| {
            let t = Instant::now();
            let child = Command::new(rn)
                .args(["list", "--all-runtimes"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create("/run/rnetns-bench/err").unwrap())
                .spawn()
                .unwrap_or_else(|e| die(&format!("{e}")));
            let (_, _, rss) = reap(child);
            let notes = std::fs::read_to_string("/run/rnetns-bench/err")
                .unwrap_or_default()
                .lines()
                .count();
            (t.elapsed().as_secs_f64(), rss, notes)
        })
        .collect();
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    runs[1]
}

fn containers(n: usize, config: &str) {
    must(&format!("rm -rf {OV} && mkdir -p {OV}"));
    for i in 0..n {
        let d = format!("{OV}/{:064x}/userdata", 0xc000 + i);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(format!("{d}/config.json"), config).unwrap();
    }
}

pub fn run(rn: &Path) -> String {
    must(&format!(
        "mount -t tmpfs bnd /tmp && cp /etc/passwd /run/rnetns-bench/passwd \
         && echo 'rnu:x:{UID}:{UID}::{HOME}:/bin/sh' >>/run/rnetns-bench/passwd \
         && mount --bind /run/rnetns-bench/passwd /etc/passwd \
         && mkdir -p /run/user/{UID}/libpod/tmp {STORAGE}/libpod {OV} \
         && chown -R {UID}:{UID} /run/user/{UID} {HOME}"
    ));
    let mut pause = Command::new("sleep");
    pause.arg("100000").stdin(Stdio::null());
    // SAFETY: async-signal-safe id changes in the forked child.
    unsafe {
        pause.pre_exec(|| {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(UID) != 0
                || libc::setuid(UID) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    // Killed with the sandbox (PID 1 exits).
    #[allow(clippy::zombie_processes)]
    let pause = pause.spawn().unwrap_or_else(|e| die(&format!("{e}")));
    std::fs::write(
        format!("/run/user/{UID}/libpod/tmp/pause.pid"),
        pause.id().to_string(),
    )
    .unwrap();
    let mut out =
        String::from("\nbounded reads (README, Bounded reads): list --all-runtimes, median of 3\n");
    let mut row = |what: &str, r: (f64, i64, usize)| {
        let _ = writeln!(
            out,
            "  {what:<58} {:>7.0} ms {:>7.1} MB {:>3} notes",
            r.0 * 1000.0,
            r.1 as f64 / 1024.0,
            r.2
        );
        println!(
            "  {what}: {:.0} ms, {:.1} MB",
            r.0 * 1000.0,
            r.1 as f64 / 1024.0
        );
    };
    row("no containers", list(rn));
    // 16 MiB of [0,0,...] hard-linked into 40 container directories.
    // Written by shell tools: a parent that grew would lend its
    // high-water RSS to every child it spawns (wait4's ru_maxrss).
    must(&format!(
        r#"{{ printf '{{"x":['; yes 0, | tr -d '\n' | head -c 16777200; printf '0]}}'; }} >{HOME}/big.json"#
    ));
    must(&format!("rm -rf {OV} && mkdir -p {OV}"));
    for i in 0..40 {
        let d = format!("{OV}/{:064x}/userdata", 0xa000 + i);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::hard_link(format!("{HOME}/big.json"), format!("{d}/config.json")).unwrap();
    }
    row("16 MiB [0,0,...] config.json hard-linked x40", list(rn));
    // A 16 MiB bolt_state.db and 400 containers in pods not in it.
    must(&format!(
        r#"awk 'BEGIN {{ for (i = 0; i < 185000; i++) printf "{{\"id\":\"%064x\",\"name\":\"p%d\"}}", i, i }}' >{STORAGE}/libpod/bolt_state.db"#
    ));
    must(&format!("rm -rf {OV} && mkdir -p {OV}"));
    for c in 0..400usize {
        let id = format!("{:064x}", 0xb000 + c);
        let d = format!("{OV}/{id}/userdata");
        std::fs::create_dir_all(&d).unwrap();
        let cfg = format!(
            r#"{{"annotations":{{"io.container.manager":"libpod"}},"linux":{{"cgroupsPath":"user.slice/user-libpod_pod_{:064x}.slice/libpod-{id}.scope"}}}}"#,
            0xdead_0000usize + c
        );
        std::fs::write(format!("{d}/config.json"), cfg).unwrap();
    }
    row("16 MiB bolt_state.db, 400 containers in pods", list(rn));
    must(&format!("rm -f {STORAGE}/libpod/bolt_state.db"));
    // A FUSE filesystem that never answers a lookup, under root's own
    // overlay on the user's storage (the deadline's case: no mount rule
    // refuses it), then directly over the storage (the mount rule's).
    must(&format!("rm -rf {OV} && mkdir -p /tmp/fz /tmp/l2"));
    let fz = fuse::mount_own("/tmp/fz", UID);
    must(&format!(
        "mount -t overlay bo -o lowerdir=/tmp/fz:/tmp/l2 {STORAGE}"
    ));
    row(
        "FUSE (never answers) under an overlay on the storage",
        list(rn),
    );
    must(&format!("umount -l {STORAGE}"));
    let fz2 = fuse::mount_own(STORAGE, UID);
    row("FUSE (never answers) on the storage", list(rn));
    // Legitimate containers: cost per container from 1,000 to 10,000.
    let cfg = r#"{"ociVersion":"1.0.2","annotations":{"io.container.manager":"libpod","org.opencontainers.image.stopSignal":"15"},"linux":{"cgroupsPath":"user.slice/libpod-x.scope","namespaces":[{"type":"pid"},{"type":"network","path":"/proc/1/ns/net"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}]},"process":{"args":["sleep","1000"],"env":["PATH=/usr/bin"]}}"#;
    must(&format!("umount -l {STORAGE}"));
    drop((fz, fz2));
    for n in [1000, 3000, 10000] {
        containers(n, cfg);
        let r = list(rn);
        let per = r.0 * 1e6 / n as f64;
        row(
            &format!("{n} legitimate rootless containers ({per:.1} us each)"),
            r,
        );
    }
    out
}
