//! LXC and systemd-nspawn, for real (README runtime table, part 2): Debian's `lxc`
//! (a busybox-template container with a veth on a bridge of the test's
//! own) and `systemd-container` (`systemd-nspawn --network-veth` on a
//! small busybox tree, without machined, as on hosts where PID 1 is not
//! systemd). `rnetns -j list --all-runtimes` must list each container's
//! namespace with runtime `lxc` / `nspawn`, the container's name and its
//! PIDs, checked against the runtimes' own view (`lxc-info -pH`; the
//! nspawn process's child); `exec lxc:NAME` and `exec machine:NAME` must
//! enter it; `doctor` must find nothing wrong.
//!
//! Runs in the host mount namespace. Both runtimes run in the foreground
//! as children of this test (`lxc-start -F`, `systemd-nspawn`), so they
//! are stopped and reaped by PID (PID 1 does not reap orphans on these
//! machines). A guard undoes everything even when an assertion fails: the
//! containers, the LXC container's directory, the bridge, and the state
//! each runtime leaves (`/run/lxc` lock dirs, `lxc.pivot` cgroups,
//! `/run/systemd/nspawn`) where the test brought it; then the test checks
//! the host is as it was (links, cgroups, those dirs).
//!
//! Without root or the packages it is ignored with "SKIP: ..."
//! (tests/support/skip.rs); under `CI=true` that is a failure.

#[path = "support/run.rs"]
mod run;
#[path = "support/runtime_host.rs"]
mod runtime_host;
#[path = "support/sandbox.rs"]
mod sandbox;
#[path = "support/skip.rs"]
mod skip;

use libtest_mimic::{Arguments, Failed};
use runtime_host::{
    cmd, enters, has, list_all, listed, names_in, netns_ino, ok, pids_match, quiet,
};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const LXC: &str = "rnt-lxc1";
const MACHINE: &str = "rnt-nspawn1";
const BRIDGE: &str = "rntlxcbr0";

fn state_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("rnetns-lxc-nspawn")
}

fn lxcpath() -> String {
    state_dir().join("lxc").display().to_string()
}

fn main() {
    let args = Arguments::from_args();
    let bins = [
        "lxc-create",
        "lxc-start",
        "lxc-info",
        "systemd-nspawn",
        "busybox",
    ];
    let trial = runtime_host::trial(
        "real_lxc_and_nspawn",
        runtime_host::missing(&bins, &[]),
        real_lxc_nspawn,
    );
    libtest_mimic::run(&args, vec![trial]).exit();
}

/// What the runtimes may leave on the host.
#[derive(Debug, PartialEq)]
struct Host {
    links: BTreeSet<String>,
    lxc_cgroups: BTreeSet<String>,
    run_lxc: bool,
    run_nspawn: bool,
    propagate: BTreeSet<String>,
}

fn host() -> Host {
    let lxc_cgroups = names_in("/sys/fs/cgroup")
        .into_iter()
        .flat_map(|h| {
            names_in(&format!("/sys/fs/cgroup/{h}"))
                .into_iter()
                .filter(|n| n.starts_with("lxc."))
                .map(move |n| format!("{h}/{n}"))
        })
        .collect();
    Host {
        links: names_in("/sys/class/net")
            .into_iter()
            // Ours only (LXC's host-side veth has a random name and goes
            // with the container's netns; another runtime's may come and go).
            .filter(|n| n == BRIDGE || n.starts_with("ve-rnt"))
            .collect(),
        lxc_cgroups,
        run_lxc: Path::new("/run/lxc").exists(),
        run_nspawn: Path::new("/run/systemd/nspawn").exists(),
        propagate: names_in("/run/systemd/nspawn/propagate"),
    }
}

/// Stops a foreground runtime we started: `first` (a signal for the
/// runtime or its payload), then SIGKILL, reaping it.
fn stop(child: &mut Child, first: impl FnOnce()) {
    first();
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(15) {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

struct Guard {
    before: Host,
    lxc: Option<Child>,
    nspawn: Option<Child>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let p = lxcpath();
        if let Some(mut c) = self.lxc.take() {
            stop(&mut c, || quiet(&["lxc-stop", "-P", &p, "-n", LXC, "-k"]));
        }
        quiet(&["lxc-destroy", "-P", &p, "-n", LXC]);
        if let Some(mut c) = self.nspawn.take() {
            let leader = leader_of(c.id());
            stop(&mut c, || {
                if let Some(l) = leader {
                    let pid = nix::unistd::Pid::from_raw(l as i32);
                    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
                }
            });
        }
        quiet(&["ip", "link", "del", BRIDGE]);
        let now = host();
        // lxc's empty `lxc.pivot` cgroups and lock dirs, nspawn's
        // propagate dir: only what appeared during the test.
        for cg in now.lxc_cgroups.difference(&self.before.lxc_cgroups) {
            let _ = std::fs::remove_dir(format!("/sys/fs/cgroup/{cg}"));
        }
        if !self.before.run_lxc {
            let _ = std::fs::remove_dir_all("/run/lxc");
        } else {
            let _ = std::fs::remove_dir_all(format!("/run/lxc/lock{}", lxcpath()));
        }
        if !self.before.run_nspawn {
            let _ = std::fs::remove_dir_all("/run/systemd/nspawn");
        }
        for m in now.propagate.difference(&self.before.propagate) {
            let _ = std::fs::remove_dir(format!("/run/systemd/nspawn/propagate/{m}"));
        }
        let _ = std::fs::remove_dir_all(state_dir().join("lxc"));
    }
}

/// The nspawn payload: the first child of the nspawn process.
fn leader_of(nspawn: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{nspawn}/task/{nspawn}/children"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> Result<T, Failed> {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(30) {
        if let Some(v) = f() {
            return Ok(v);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("timed out waiting for {what}").into())
}

fn start_lxc(guard: &mut Guard) -> Result<u64, Failed> {
    let d = state_dir();
    let conf = d.join("lxc.conf");
    // Debian's default config links to lxcbr0 (made by lxc-net, which
    // does not run here) and asks for apparmor, which is not available.
    std::fs::write(
        &conf,
        format!(
            "lxc.net.0.type = veth\nlxc.net.0.link = {BRIDGE}\nlxc.net.0.flags = up\nlxc.apparmor.profile = unconfined\n"
        ),
    )?;
    ok(&["ip", "link", "add", BRIDGE, "type", "bridge"])?;
    ok(&["ip", "link", "set", BRIDGE, "up"])?;
    let p = lxcpath();
    let c = conf.display().to_string();
    ok(&["lxc-create", "-P", &p, "-t", "busybox", "-n", LXC, "-f", &c])?;
    let log = d.join("lxc.log").display().to_string();
    let child = Command::new("lxc-start")
        .args(["-P", &p, "-n", LXC, "-F", "-l", "INFO", "-o", &log])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(d.join("lxc.out"))?)
        .stderr(std::fs::File::create(d.join("lxc.err"))?)
        .spawn()?;
    guard.lxc = Some(child);
    wait_for("lxc-info to report a PID", || {
        let o = cmd(&["lxc-info", "-P", &p, "-n", LXC, "-pH"]);
        String::from_utf8_lossy(&o.stdout).trim().parse().ok()
    })
}

fn start_nspawn(guard: &mut Guard) -> Result<u64, Failed> {
    let d = state_dir();
    let tree = d.join("tree");
    let _ = std::fs::remove_dir_all(&tree);
    for sub in ["bin", "usr/lib", "proc", "sys", "dev", "etc", "tmp", "run"] {
        std::fs::create_dir_all(tree.join(sub))?;
    }
    let busybox = ok(&["sh", "-c", "command -v busybox"])?;
    std::fs::copy(busybox.trim(), tree.join("bin/busybox"))?;
    for a in ["sh", "sleep", "ip", "cat", "readlink"] {
        std::os::unix::fs::symlink("busybox", tree.join("bin").join(a))?;
    }
    // nspawn wants an os-release in the tree.
    std::fs::write(
        tree.join("usr/lib/os-release"),
        "ID=rnetns\nNAME=rnetns-test\n",
    )?;
    // No system bus here: --register=no (no machined), --keep-unit.
    let child = Command::new("systemd-nspawn")
        .args(["-q", "-D"])
        .arg(&tree)
        .args([
            "--network-veth",
            "--register=no",
            "--keep-unit",
            "-M",
            MACHINE,
        ])
        .args(["/bin/sleep", "100000"])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(d.join("nspawn.out"))?)
        .stderr(std::fs::File::create(d.join("nspawn.err"))?)
        .spawn()?;
    let pid = child.id();
    guard.nspawn = Some(child);
    wait_for("the nspawn payload", || {
        let l = leader_of(pid)?;
        let comm = std::fs::read_to_string(format!("/proc/{l}/comm")).ok()?;
        (comm.trim() == "sleep").then_some(l)
    })
}

fn real_lxc_nspawn() -> Result<(), Failed> {
    let t0 = Instant::now();
    std::fs::create_dir_all(state_dir())?;
    let before = host();
    let before_common = runtime_host::host();
    let mut guard = Guard {
        before: host(),
        lxc: None,
        nspawn: None,
    };
    let result = (|| {
        let lxc_pid = start_lxc(&mut guard)?;
        println!("lxc up: {:?}", t0.elapsed());
        let ns_pid = start_nspawn(&mut guard)?;
        println!("nspawn up: {:?}", t0.elapsed());
        check(lxc_pid, ns_pid)
    })();
    if result.is_err() {
        for f in ["lxc.err", "lxc.log", "nspawn.err"] {
            let t = std::fs::read_to_string(state_dir().join(f)).unwrap_or_default();
            let tail: Vec<&str> = t.lines().rev().take(15).collect();
            eprintln!("--- {f} (last lines, newest first)\n{}", tail.join("\n"));
        }
    }
    drop(guard);
    result?;
    let after = host();
    if after != before {
        return Err(format!("left behind: before {before:?}, after {after:?}").into());
    }
    runtime_host::unchanged(&before_common)?;
    println!("real lxc + nspawn test took {:?}", t0.elapsed());
    Ok(())
}

fn check(lxc_pid: u64, ns_pid: u64) -> Result<(), Failed> {
    let spaces = list_all("lxc, nspawn")?;
    for (runtime, name, pid, reference) in [
        ("lxc", LXC, lxc_pid, format!("lxc:{LXC}")),
        ("nspawn", MACHINE, ns_pid, format!("machine:{MACHINE}")),
    ] {
        let ino = netns_ino(pid).ok_or("container pid vanished")?;
        let host_ino = netns_ino(std::process::id().into()).ok_or("own netns")?;
        if ino == host_ino {
            return Err(format!("{name}: runs in the host's netns").into());
        }
        let ns = listed(&spaces, ino, name)?;
        if ns["runtime"].as_str() != Some(runtime) {
            return Err(format!("{name}: owner {}, want {runtime}", ns["runtime"]).into());
        }
        if !has(ns, runtime, name, name, None) {
            return Err(format!("{name}: not among the containers of {ns}").into());
        }
        let pids = pids_match(ns, ino, &[pid], name)?;
        enters(&reference, pid)?;
        println!("{runtime} {name}: ok (netns {ino}, {} pids)", pids.len());
    }
    runtime_host::doctor()
}
