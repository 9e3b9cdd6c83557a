//! Rootless podman, for real (README runtime table, part 4): a throwaway unprivileged
//! user made by the test (subordinate ids through `uidmap`), running
//! `podman run` with slirp4netns and a rootless pod, as that user.
//! Then the same user runs rootless docker (Debian docker.io's
//! `dockerd-rootless.sh` under `rootlesskit`), whose container must be
//! listed as docker's and entered by `docker:NAME`.
//! Root runs a container named like the user's first one: `podman:NAME`
//! must then be an error naming both (with their owners), and an ID
//! prefix must pick the user's.
//! `rnetns -j list --all-runtimes` (as root) must list each container's
//! namespace, which exists as a mount only in the user's pause process,
//! with runtime `podman`, its name and PIDs, checked against the user's
//! own `podman inspect`; `exec podman:NAME` must enter it; `doctor` must
//! find nothing wrong.
//!
//! This test makes itself a child subreaper, so conmon, slirp4netns and
//! the pause process, which podman detaches, are reparented to it and
//! reaped here (PID 1 does not reap orphans on these machines). The guard
//! removes the containers, kills what still runs as the user (by PID,
//! only that UID's), deletes the user (`userdel -r`, which also drops its
//! subordinate ids) and `/run/user/UID`, and puts back `/dev/net/tun`'s
//! mode (0600 on these machines; slirp4netns needs 0666, as hosts have);
//! then the test checks nothing runs as that UID, `/etc/subuid` is as
//! it was, and root's podman left no `libpod_parent/conmon` cgroup of its
//! own (the guard removes one that appeared, empty).
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
use runtime_host::{cmd, enters, has, list_all, listed, netns_ino, ok, pids_match, RNETNS};
use serde_json::Value;
use std::collections::BTreeSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const USER: &str = "rnt-rootless";
const IMG: &str = "localhost/rnt-busybox:latest";
/// Root's image and its container named like the user's first one.
const ROOT_IMG: &str = "localhost/rnt-rootless-busybox:latest";
const ROOT_NAME: &str = "rnt-r1";

/// In /tmp, which the user can reach (the target dir may not be).
fn state_dir() -> PathBuf {
    PathBuf::from("/tmp/rnetns-rootless-test")
}

fn main() {
    let args = Arguments::from_args();
    let bins = [
        "podman",
        "dockerd",
        "rootlesskit",
        "newuidmap",
        "slirp4netns",
        "catatonit",
        "useradd",
        "su",
        "busybox",
    ];
    let trial = runtime_host::trial(
        "real_rootless_podman",
        runtime_host::missing(&bins, &[]),
        real_rootless,
    );
    libtest_mimic::run(&args, vec![trial]).exit();
}

/// A free UID for the throwaway user.
fn free_uid() -> Option<u32> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    (4711..4800).find(|u| {
        !passwd
            .lines()
            .any(|l| l.split(':').nth(2) == Some(&u.to_string()))
    })
}

/// Runs `script` as the user, with its runtime dir and podman's config.
fn as_user(uid: u32, script: &str) -> Output {
    let conf = state_dir().join("containers.conf");
    let full = format!(
        "cd /tmp && export XDG_RUNTIME_DIR=/run/user/{uid} CONTAINERS_CONF={} && {script}",
        conf.display()
    );
    cmd(&["su", "-s", "/bin/sh", USER, "-c", &full])
}

fn user_ok(uid: u32, script: &str) -> Result<String, Failed> {
    run::stdout_of(&format!("as {USER}: {script}"), as_user(uid, script))
}

/// Runs rootful podman with the test's config (rlimits).
fn root_podman(args: &[&str]) -> Output {
    let argv: Vec<&str> = std::iter::once("podman")
        .chain(args.iter().copied())
        .collect();
    let conf = state_dir().join("containers.conf");
    run::cmd_env(&argv, &[("CONTAINERS_CONF", conf.as_os_str())])
}

fn root_ok(args: &[&str]) -> Result<String, Failed> {
    run::stdout_of(&format!("podman {args:?}"), root_podman(args))
}

fn uid_pids(uid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| std::fs::metadata(format!("/proc/{p}")).is_ok_and(|m| m.uid() == uid))
        .collect()
}

/// Rootful podman's conmon cgroups (`libpod_parent/conmon`, cgroupfs
/// manager), in every hierarchy.
fn conmon_cgroups() -> BTreeSet<PathBuf> {
    let base = std::path::Path::new("/sys/fs/cgroup");
    let hierarchies = std::fs::read_dir(base)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path());
    std::iter::once(base.to_path_buf())
        .chain(hierarchies)
        .map(|h| h.join("libpod_parent/conmon"))
        .filter(|d| d.is_dir())
        .collect()
}

/// Reaps every exited child (we are their subreaper).
fn reap() {
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
    while let Ok(s) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
        if s == WaitStatus::StillAlive {
            break;
        }
    }
}

struct Guard {
    uid: u32,
    /// Whether /run/user was there (no logind on these machines).
    run_user_existed: bool,
    /// Root's container of the same name as the user's (and its image).
    root_container: bool,
    user_made: bool,
    tun_mode: Option<u32>,
    /// Root's podman conmon cgroups that were there before.
    conmon_before: BTreeSet<PathBuf>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.root_container {
            let _ = root_podman(&["rm", "-f", "-t", "0", ROOT_NAME]);
            let _ = root_podman(&["rmi", "-f", ROOT_IMG]);
            // podman (cgroupfs manager) leaves its conmon cgroups, empty:
            // only those that appeared go (rmdir takes only an empty one).
            for d in conmon_cgroups().difference(&self.conmon_before) {
                let _ = std::fs::remove_dir(d);
            }
        }
        if self.user_made {
            let _ = as_user(self.uid, "podman pod rm -f -t 0 rnt-rpod");
            let _ = as_user(
                self.uid,
                "podman ps -aq | xargs -r podman rm -f -t 0 --depend",
            );
            // What still runs as the user (the pause process, slirp4netns):
            // killed by PID, then reaped.
            let t = Instant::now();
            while t.elapsed() < Duration::from_secs(10) {
                let pids = uid_pids(self.uid);
                if pids.is_empty() {
                    break;
                }
                for p in pids {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(p as i32),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
                std::thread::sleep(Duration::from_millis(100));
                reap();
            }
            let _ = cmd(&["userdel", "-r", USER]);
            let _ = std::fs::remove_dir_all(format!("/run/user/{}", self.uid));
            if !self.run_user_existed {
                let _ = std::fs::remove_dir("/run/user");
            }
        }
        if let Some(mode) = self.tun_mode {
            let _ = std::fs::set_permissions("/dev/net/tun", std::fs::Permissions::from_mode(mode));
        }
        reap();
        let _ = std::fs::remove_dir_all(state_dir());
    }
}

fn setup(g: &mut Guard) -> Result<(), Failed> {
    let uid = g.uid;
    let d = state_dir();
    std::fs::create_dir_all(&d)?;
    let u = uid.to_string();
    ok(&["useradd", "-m", "-u", &u, USER])?;
    g.user_made = true;
    ok(&[
        "usermod",
        "--add-subuids",
        "300000-365535",
        "--add-subgids",
        "300000-365535",
        USER,
    ])?;
    let run = format!("/run/user/{uid}");
    std::fs::create_dir_all(&run)?;
    ok(&["chown", &format!("{USER}:"), &run])?;
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700))?;
    let tun = std::fs::metadata("/dev/net/tun")?.mode() & 0o7777;
    g.tun_mode = Some(tun);
    std::fs::set_permissions("/dev/net/tun", std::fs::Permissions::from_mode(0o666))?;
    // rlimits: podman asks for more than these machines allow.
    let n = ok(&["sh", "-c", "ulimit -Hn"])?;
    let n = n.trim();
    std::fs::write(
        d.join("containers.conf"),
        format!("[containers]\ndefault_ulimits = [\"nofile={n}:{n}\", \"nproc=4096:4096\"]\n"),
    )?;
    let root = d.join("rootfs");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("bin"))?;
    let busybox = ok(&["sh", "-c", "command -v busybox"])?;
    std::fs::copy(busybox.trim(), root.join("bin/busybox"))?;
    for a in ["sh", "sleep", "ip", "cat", "readlink"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(a))?;
    }
    let tar = d.join("rootfs.tar");
    let (r, t) = (root.display().to_string(), tar.display().to_string());
    ok(&["tar", "-C", &r, "-cf", &t, "."])?;
    ok(&["chmod", "-R", "a+rX", &d.display().to_string()])?;
    user_ok(
        uid,
        &format!("podman import -c 'CMD [\"/bin/sleep\",\"100000\"]' {t} {IMG} >/dev/null"),
    )?;
    user_ok(
        uid,
        &format!("podman run -d --name rnt-r1 {IMG} >/dev/null"),
    )?;
    user_ok(uid, "podman pod create --name rnt-rpod >/dev/null")?;
    user_ok(
        uid,
        &format!("podman run -d --pod rnt-rpod --name rnt-r2 {IMG} >/dev/null"),
    )?;
    // Root runs a container of the same name (no network: nothing in
    // /run/netns, no podman0 to clean up).
    g.root_container = true;
    root_ok(&[
        "import",
        "-c",
        "CMD [\"/bin/sleep\",\"100000\"]",
        &t,
        ROOT_IMG,
    ])?;
    root_ok(&["run", "-d", "--net=none", "--name", ROOT_NAME, ROOT_IMG])?;
    Ok(())
}

fn real_rootless() -> Result<(), Failed> {
    let t0 = Instant::now();
    nix::sys::prctl::set_child_subreaper(true)?;
    if std::fs::read_to_string("/etc/passwd")?
        .lines()
        .any(|l| l.starts_with(&format!("{USER}:")))
    {
        return Err(format!("user {USER} exists already; not touching it").into());
    }
    let uid = free_uid().ok_or("no free uid in 4711..4800")?;
    let subuid_before = std::fs::read_to_string("/etc/subuid").unwrap_or_default();
    let before = runtime_host::host();
    let mut guard = Guard {
        uid,
        run_user_existed: std::path::Path::new("/run/user").exists(),
        root_container: false,
        user_made: false,
        tun_mode: None,
        conmon_before: conmon_cgroups(),
    };
    let guard_conmon = guard.conmon_before.clone();
    let result = setup(&mut guard).and_then(|()| {
        println!("rootless podman up: {:?}", t0.elapsed());
        check(uid)
    });
    drop(guard);
    result?;
    let left = uid_pids(uid);
    let subuid_after = std::fs::read_to_string("/etc/subuid").unwrap_or_default();
    if !left.is_empty() || subuid_after != subuid_before {
        return Err(format!(
            "left behind: processes of uid {uid}: {left:?}; /etc/subuid changed: {}",
            subuid_after != subuid_before
        )
        .into());
    }
    let conmon: Vec<_> = conmon_cgroups()
        .difference(&guard_conmon)
        .cloned()
        .collect();
    if !conmon.is_empty() {
        return Err(format!("left behind: podman's conmon cgroups {conmon:?}").into());
    }
    runtime_host::unchanged(&before)?;
    println!("real rootless podman test took {:?}", t0.elapsed());
    Ok(())
}

fn check(uid: u32) -> Result<(), Failed> {
    let spaces = list_all("rootless podman")?;
    // rnt-r2 is in the user's pod: its namespace is the pod's, shown
    // with the pod's name, as for a rootful pod.
    for (name, pod) in [("rnt-r1", None), ("rnt-r2", Some("rnt-rpod"))] {
        let inspect: Value =
            serde_json::from_str(&user_ok(uid, &format!("podman inspect {name}"))?)?;
        let c = &inspect[0];
        let pid = c["State"]["Pid"].as_u64().ok_or("no pid")?;
        let id = c["Id"].as_str().ok_or("no id")?;
        let ino = netns_ino(pid).ok_or("container pid vanished")?;
        let ns = listed(&spaces, ino, name)?;
        if ns["runtime"].as_str() != Some("podman") {
            return Err(format!("{name}: owner {}, want podman", ns["runtime"]).into());
        }
        if !has(ns, "podman", id, name, pod) {
            return Err(format!("{name} (pod {pod:?}): not among the containers of {ns}").into());
        }
        // Every container of the pod's namespace (its infra too) is
        // shown in the pod.
        let whole = ns["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|x| pod.is_none_or(|p| x["pod"].as_str() == Some(p)));
        if !whole {
            return Err(format!("{name}: not every member shown in pod {pod:?}: {ns}").into());
        }
        if ns["owner_uid"].as_u64() != Some(uid.into()) {
            return Err(format!("{name}: not shown as uid {uid}'s: {ns}").into());
        }
        let want = pids_match(ns, ino, &[pid], name)?;
        // rnt-r1 is also root's: its name alone is ambiguous (exit 1), and
        // USER/NAME says which.
        let r = if name == ROOT_NAME {
            let o = cmd(&[RNETNS, "exec", &format!("podman:{name}"), "true"]);
            let err = String::from_utf8_lossy(&o.stderr).into_owned();
            let root_id = root_ok(&["inspect", "-f", "{{.Id}}", ROOT_NAME])?;
            let want = [
                format!("podman:{name} is ambiguous: it matches 2 containers: "),
                format!("{name} ({}, uid {uid}", &id[..12]),
                format!("{name} ({}, root)", &root_id[..12]),
            ];
            if o.status.code() != Some(1) || !want.iter().all(|w| err.contains(w.as_str())) {
                return Err(format!("exec podman:{name} with root's namesake: {err}").into());
            }
            println!("podman:{name}: {}", err.trim());
            format!("podman:{uid}/{name}")
        } else {
            format!("podman:{name}")
        };
        enters(&r, pid)?;
        // The login name says whose as well as the uid does.
        enters(&format!("podman:{USER}/{name}"), pid)?;
        // The user's pod by its name, as a rootful pod is entered.
        if let Some(pod) = pod {
            enters(&format!("podman:{pod}"), pid)?;
            enters(&format!("podman:{USER}/{pod}"), pid)?;
        }
        println!("{name}: ok (netns {ino}, pids {want:?})");
    }
    rootless_docker(uid)?;
    runtime_host::doctor()
}

/// Rootless docker (Debian's dockerd-rootless.sh under rootlesskit) as
/// the same user: its container is listed and `docker:NAME` enters it.
fn rootless_docker(uid: u32) -> Result<(), Failed> {
    let t0 = Instant::now();
    let env = format!(
        "export DOCKER_HOST=unix:///run/user/{uid}/docker.sock PATH=/usr/share/docker.io/contrib:/usr/sbin:/usr/bin:/sbin:/bin"
    );
    // Started in the background through su; we are its subreaper, and the
    // guard kills it by PID with everything else of the user's.
    let log = state_dir().join("dockerd-rootless.log");
    std::fs::write(&log, "")?;
    ok(&["chmod", "a+w", &log.display().to_string()])?;
    let conf = state_dir().join("containers.conf");
    let full = format!(
        "cd /tmp && export XDG_RUNTIME_DIR=/run/user/{uid} CONTAINERS_CONF={} && {env} && exec dockerd-rootless.sh >{} 2>&1",
        conf.display(),
        log.display()
    );
    let _daemon = Command::new("su")
        .args(["-s", "/bin/sh", USER, "-c", &full])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let up = Instant::now();
    while !as_user(uid, &format!("{env} && docker info >/dev/null 2>&1"))
        .status
        .success()
    {
        if up.elapsed() > Duration::from_secs(60) {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(format!("rootless dockerd did not start:\n{text}").into());
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let tar = state_dir().join("rootfs.tar");
    user_ok(
        uid,
        &format!(
            "{env} && docker import -c 'CMD [\"/bin/sleep\",\"100000\"]' {} rnt-dbusybox >/dev/null && docker run -d --init --name rnt-rd1 rnt-dbusybox >/dev/null",
            tar.display()
        ),
    )?;
    println!("rootless docker up: {:?}", t0.elapsed());
    let inspect: Value =
        serde_json::from_str(&user_ok(uid, &format!("{env} && docker inspect rnt-rd1"))?)?;
    let c = &inspect[0];
    let pid = c["State"]["Pid"].as_u64().ok_or("no pid")?;
    let id = c["Id"].as_str().ok_or("no id")?;
    let ino = netns_ino(pid).ok_or("container pid vanished")?;
    let spaces = list_all("rootless docker")?;
    let ns = listed(&spaces, ino, "rnt-rd1")?;
    if ns["runtime"].as_str() != Some("docker") || !has(ns, "docker", id, "rnt-rd1", None) {
        return Err(format!("rootless docker rnt-rd1 (pid {pid}) not listed right: {ns}").into());
    }
    pids_match(ns, ino, &[pid], "rnt-rd1")?;
    enters("docker:rnt-rd1", pid)?;
    println!("rootless docker rnt-rd1: ok (netns {ino})");
    // The netns the daemon runs in (rootlesskit's, with docker0) is the
    // user's docker's, not an anonymous process's.
    let dpid: u64 = std::fs::read_to_string(format!("/run/user/{uid}/docker.pid"))?
        .trim()
        .parse()?;
    let dino = netns_ino(dpid).ok_or("rootless dockerd vanished")?;
    if dino == netns_ino(std::process::id().into()).unwrap_or(0) {
        return Err(format!("rootless dockerd {dpid} runs in the host's netns").into());
    }
    let daemon = listed(&spaces, dino, "rootless dockerd")?;
    let uid_listed = daemon["owner_uid"].as_u64();
    if daemon["runtime"].as_str() != Some("docker") || uid_listed != Some(uid.into()) {
        return Err(format!(
            "rootless dockerd {dpid}'s netns not listed as the user's docker: {daemon}"
        )
        .into());
    }
    let dpids = daemon["pids"].as_array().ok_or("no pids")?;
    if !dpids.iter().any(|p| p.as_u64() == Some(dpid)) {
        return Err(format!("rootless dockerd {dpid} not among its netns's pids: {daemon}").into());
    }
    println!("rootless dockerd {dpid}: ok (netns {dino}, docker, uid {uid})");
    Ok(())
}
