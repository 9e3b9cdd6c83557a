//! `list --all-runtimes`, runtime references and `identify --all-runtimes`
//! against REAL dockerd and podman (Debian's docker.io and podman, installed
//! by .ci/run). This test runs in the host mount namespace, because the
//! daemons cannot run in the sandbox: it starts dockerd itself when none is
//! running (and records its PID), imports a locally built busybox image,
//! starts labelled containers in every network mode, checks each one's
//! namespace, owner, name and process count against `docker inspect` /
//! `podman inspect` and /proc, and tears down exactly what it created (a
//! guard does it even when an assertion fails): its containers, pod and
//! network, the dockerd it started, that daemon's leftover
//! `/run/docker/netns/default` mount and `docker0`, and `podman0` when no
//! other podman container uses it. Anything rnetns binds (`attach`) happens
//! in a private mount namespace with a tmpfs /run (docker's part bound
//! back), so neither the entry nor rnetns's lock reaches the host.
//!
//! It ends by checking that the host's run dir, nsfs mounts, links and
//! container cgroups are as they were; run it under
//! `flock /tmp/rnetns-host.lock` beside other daemon users.
//!
//! Without root, docker or podman it reports "skipped: ..." as ignored;
//! under `CI=true` that is a failure, as is a dockerd that will not start.

#[path = "support/dockerd.rs"]
mod dockerd;
#[path = "support/hold.rs"]
mod hold;

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;
use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Instant;

const RNETNS: &str = env!("CARGO_BIN_EXE_rnetns");
const LABEL: &str = "rnetns-test=1";
const IMG: &str = "rnetns-busybox:latest";
/// rnetns's own lock (ARCHITECTURE.md "Locks"): nothing here may leave it.
const OWN_LOCK: &str = "/run/rnetns.lock";

fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| v == "true" || v == "1")
}

fn state_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("rnetns-daemons");
    let _ = std::fs::create_dir_all(&d);
    d
}

fn missing() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("needs root".into());
    }
    for bin in ["docker", "dockerd", "podman", "busybox"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {bin}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Some(format!("{bin} is not installed (.ci/run installs it)"));
        }
    }
    None
}

fn main() {
    let args = Arguments::from_args();
    let trial = match missing() {
        Some(why) if in_ci() => Trial::test("real_dockerd_and_podman", move || {
            Err(format!("CI=true but {why}").into())
        }),
        Some(why) => {
            eprintln!("skipped: {why}");
            Trial::test("real_dockerd_and_podman", || Ok(())).with_ignored_flag(true)
        }
        None => Trial::test("real_dockerd_and_podman", real_daemons),
    };
    libtest_mimic::run(&args, vec![trial]).exit();
}

/// Runs a command with podman's config; returns its output.
fn cmd(argv: &[&str]) -> Output {
    Command::new("timeout")
        .arg("120")
        .args(argv)
        .env("CONTAINERS_CONF", state_dir().join("containers.conf"))
        .stdin(Stdio::null())
        .output()
        .expect("spawn")
}

fn ok(argv: &[&str]) -> Result<String, Failed> {
    let o = cmd(argv);
    if !o.status.success() {
        return Err(format!(
            "{argv:?} failed ({:?}): {}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

fn quiet(argv: &[&str]) {
    let _ = cmd(argv);
}

/// Undoes everything the test created, in Drop, so a failed assertion
/// still cleans up.
struct Guard {
    dockerd: Option<dockerd::Dockerd>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        quiet(&["podman", "pod", "rm", "-f", "-t", "0", "rnt-pod"]);
        let ids = cmd(&["podman", "ps", "-aq", "--filter", &format!("label={LABEL}")]);
        for id in String::from_utf8_lossy(&ids.stdout).split_whitespace() {
            quiet(&["podman", "rm", "-f", "-t", "0", "--depend", id]);
        }
        let ids = cmd(&["docker", "ps", "-aq", "--filter", &format!("label={LABEL}")]);
        for id in String::from_utf8_lossy(&ids.stdout).split_whitespace() {
            quiet(&["docker", "rm", "-f", id]);
        }
        quiet(&["docker", "network", "rm", "rnt-net"]);
        drop(self.dockerd.take());
        let others = cmd(&["podman", "ps", "-q"]);
        if others.status.success() && others.stdout.is_empty() {
            quiet(&["ip", "link", "del", "podman0"]);
        }
    }
}

fn setup(guard: &mut Guard) -> Result<(), Failed> {
    let n = ok(&["sh", "-c", "ulimit -Hn"])?;
    let n = n.trim();
    std::fs::write(
        state_dir().join("containers.conf"),
        format!("[containers]\ndefault_ulimits = [\"nofile={n}:{n}\", \"nproc=4096:4096\"]\n[network]\nnetwork_backend = \"netavark\"\n"),
    )?;
    guard.dockerd = Some(dockerd::Dockerd::ensure(&state_dir())?);
    let root = state_dir().join("rootfs");
    let _ = std::fs::remove_dir_all(&root);
    for d in ["bin", "proc", "sys", "dev", "etc", "tmp", "run"] {
        std::fs::create_dir_all(root.join(d))?;
    }
    let busybox = ok(&["sh", "-c", "command -v busybox"])?;
    std::fs::copy(busybox.trim(), root.join("bin/busybox"))?;
    for a in ["sh", "sleep", "ip", "cat"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(a))?;
    }
    let tar = state_dir().join("rootfs.tar");
    let (r, t) = (root.display().to_string(), tar.display().to_string());
    ok(&["tar", "-C", &r, "-cf", &t, "."])?;
    let cmd_opt = "CMD [\"/bin/sleep\",\"100000\"]";
    if !cmd(&["docker", "image", "inspect", IMG]).status.success() {
        ok(&["docker", "import", "-c", cmd_opt, &t, IMG])?;
    }
    let pimg = format!("localhost/{IMG}");
    if !cmd(&["podman", "image", "exists", &pimg]).status.success() {
        ok(&["podman", "import", "-c", cmd_opt, &t, &pimg])?;
    }
    let l = ["--label", LABEL];
    ok(&["docker", "network", "create", l[0], l[1], "rnt-net"])?;
    let drun = |name: &str, net: &str| {
        ok(&[
            "docker", "run", "-d", "--init", l[0], l[1], "--name", name, "--net", net, IMG,
        ])
    };
    drun("rnt-d-bridge", "bridge")?;
    drun("rnt-d-usernet", "rnt-net")?;
    drun("rnt-d-none", "none")?;
    drun("rnt-d-host", "host")?;
    drun("rnt-d-shared", "container:rnt-d-bridge")?;
    let prun = |name: &str, net: &[&str]| {
        let mut a = vec!["podman", "run", "-d", l[0], l[1], "--name", name];
        a.extend_from_slice(net);
        a.push(&pimg);
        ok(&a)
    };
    prun("rnt-p-bridge", &[])?;
    prun("rnt-p-none", &["--net=none"])?;
    prun("rnt-p-shared", &["--net=container:rnt-p-bridge"])?;
    ok(&["podman", "pod", "create", l[0], l[1], "--name", "rnt-pod"])?;
    prun("rnt-p-inpod", &["--pod", "rnt-pod"])?;
    Ok(())
}

fn netns_ino(pid: u64) -> Option<u64> {
    std::fs::metadata(format!("/proc/{pid}/ns/net"))
        .ok()
        .map(|m| m.ino())
}

/// PIDs in the netns with inode `ino`, from /proc.
fn pids_in(ino: u64) -> Vec<u64> {
    let mut v: Vec<u64> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|p| netns_ino(*p) == Some(ino))
        .collect();
    v.sort_unstable();
    v
}

fn nsfs_mounts() -> BTreeSet<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(" - nsfs "))
        .map(|l| l.split(' ').skip(3).take(2).collect::<Vec<_>>().join(" "))
        .collect()
}

fn real_daemons() -> Result<(), Failed> {
    let t0 = Instant::now();
    let mounts_before = nsfs_mounts();
    let run_dir_before = list_run_dir();
    let links_before = host_links();
    let cgroups_before = container_cgroups();
    let run_dir_existed = std::path::Path::new("/run/netns").exists();
    let own_lock_existed = std::path::Path::new(OWN_LOCK).exists();
    let mut guard = Guard { dockerd: None };
    let result = setup(&mut guard).and_then(|()| check());
    drop(guard);
    if !run_dir_existed {
        undo_run_dir();
    }
    // Nothing of ours is left: no new nsfs mount, no new run-dir entry.
    // dockerd mounts its `default` sandbox itself, lazily: a daemon this
    // test did not start may do so while it runs (the one it starts is
    // cleaned up by Guard), and nothing rnetns does creates it.
    let leftover: Vec<_> = nsfs_mounts()
        .difference(&mounts_before)
        .filter(|m| !m.ends_with(" /run/docker/netns/default"))
        .cloned()
        .collect();
    let new_entries: Vec<_> = list_run_dir()
        .difference(&run_dir_before)
        .cloned()
        .collect();
    // Links (veths, bridges) and container cgroups (systemd removes a
    // scope shortly after its last process): none of ours is left either
    // (README "Tests"). Run under `flock /tmp/rnetns-host.lock` so that no one
    // else's daemon adds its own meanwhile.
    let mut new_links = Vec::new();
    let mut new_cgroups = Vec::new();
    for _ in 0..50 {
        new_links = host_links().difference(&links_before).cloned().collect();
        new_cgroups = container_cgroups()
            .difference(&cgroups_before)
            .cloned()
            .collect();
        if new_links.is_empty() && new_cgroups.is_empty() {
            break;
        }
        // podman with the cgroupfs manager on a v1/hybrid host leaves its
        // containers' empty `libpod_parent/ID` in the name=systemd and
        // unified hierarchies. Ours are the new ones; rmdir only removes
        // a cgroup that has no process and no child.
        for dir in &new_cgroups {
            let _ = std::fs::remove_dir(dir);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    result?;
    if !own_lock_existed && std::path::Path::new(OWN_LOCK).exists() {
        return Err(format!("{OWN_LOCK} appeared during the test (not removed here)").into());
    }
    if !leftover.is_empty()
        || !new_entries.is_empty()
        || !new_links.is_empty()
        || !new_cgroups.is_empty()
    {
        return Err(format!(
            "left behind: mounts {leftover:?}, /run/netns entries {new_entries:?}, links {new_links:?}, cgroups {new_cgroups:?}"
        )
        .into());
    }
    println!("real-daemon test took {:?}", t0.elapsed());
    Ok(())
}

/// podman makes `/run/netns` (a self-bind mount) for its rootful
/// containers and leaves it when they are gone. When the test brought it
/// and it is empty again, it goes: its bind mounts (only mounts whose mount
/// point is exactly `/run/netns`), then the directory.
fn undo_run_dir() {
    if !list_run_dir().is_empty() {
        return;
    }
    let self_bound = || {
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .any(|l| l.split(' ').nth(4) == Some("/run/netns"))
    };
    for _ in 0..8 {
        if !self_bound() {
            break;
        }
        let _ = nix::mount::umount2("/run/netns", nix::mount::MntFlags::MNT_DETACH);
    }
    if !self_bound() {
        let _ = std::fs::remove_dir("/run/netns");
    }
}

/// The host's network interfaces, by name.
fn host_links() -> BTreeSet<String> {
    std::fs::read_dir("/sys/class/net")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Cgroup directories that docker, podman or their runtimes make for a
/// container (`docker-ID.scope`, `libpod-ID.scope`, `libpod-conmon-…`,
/// `/docker/ID`, `/libpod_parent/…`), up to four levels below the root.
fn container_cgroups() -> BTreeSet<String> {
    fn walk(dir: &std::path::Path, depth: usize, out: &mut BTreeSet<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let name = e.file_name().to_string_lossy().into_owned();
            let path = e.path();
            let parent = dir.file_name().map(|n| n.to_string_lossy().into_owned());
            if name.starts_with("docker-")
                || (name.starts_with("libpod") && name != "libpod_parent")
                || matches!(parent.as_deref(), Some("docker" | "libpod_parent"))
            {
                out.insert(path.to_string_lossy().into_owned());
            } else if depth > 0 {
                walk(&path, depth - 1, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(std::path::Path::new("/sys/fs/cgroup"), 4, &mut out);
    out
}

fn list_run_dir() -> BTreeSet<String> {
    std::fs::read_dir("/run/netns")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

struct Expect {
    tool: &'static str,
    name: &'static str,
    owner: &'static str,
}

fn check() -> Result<(), Failed> {
    let plain = ok(&[RNETNS, "list", "--all-runtimes"])?;
    let json = ok(&[RNETNS, "-j", "list", "--all-runtimes"])?;
    println!("--- rnetns list --all-runtimes\n{plain}--- rnetns -j list --all-runtimes\n{json}");
    let spaces: Value = serde_json::from_str(&json)?;
    let spaces = spaces.as_array().ok_or("not an array")?;
    let expect = [
        Expect {
            tool: "docker",
            name: "rnt-d-bridge",
            owner: "docker",
        },
        Expect {
            tool: "docker",
            name: "rnt-d-usernet",
            owner: "docker",
        },
        Expect {
            tool: "docker",
            name: "rnt-d-none",
            owner: "docker",
        },
        Expect {
            tool: "docker",
            name: "rnt-d-host",
            owner: "host",
        },
        Expect {
            tool: "docker",
            name: "rnt-d-shared",
            owner: "docker",
        },
        Expect {
            tool: "podman",
            name: "rnt-p-bridge",
            owner: "podman",
        },
        Expect {
            tool: "podman",
            name: "rnt-p-none",
            owner: "podman",
        },
        Expect {
            tool: "podman",
            name: "rnt-p-shared",
            owner: "podman",
        },
        Expect {
            tool: "podman",
            name: "rnt-p-inpod",
            owner: "podman",
        },
    ];
    for e in &expect {
        let inspect: Value = serde_json::from_str(&ok(&[e.tool, "inspect", e.name])?)?;
        let c = &inspect[0];
        let pid = c["State"]["Pid"].as_u64().ok_or("no pid")?;
        let id = c["Id"].as_str().ok_or("no id")?;
        let ino = netns_ino(pid).ok_or("container pid vanished")?;
        let ns = spaces
            .iter()
            .find(|n| n["inode"].as_u64() == Some(ino))
            .ok_or_else(|| format!("{}: netns {ino} not listed", e.name))?;
        let owner = ns["runtime"].as_str();
        if owner != Some(e.owner) {
            return Err(format!("{}: owner {owner:?}, want {}", e.name, e.owner).into());
        }
        let listed = ns["containers"].as_array().into_iter().flatten().any(|x| {
            x["id"].as_str() == Some(id)
                && x["name"].as_str() == Some(e.name)
                && x["runtime"].as_str() == Some(e.tool)
        });
        if !listed {
            return Err(format!("{}: not among the containers of {ns}", e.name).into());
        }
        if e.owner != "host" {
            let got: Vec<u64> = ns["pids"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_u64)
                .collect();
            let want = pids_in(ino);
            if got != want {
                return Err(format!("{}: pids {got:?}, /proc says {want:?}", e.name).into());
            }
        }
    }
    // The shared modes really share.
    let ino_of = |tool: &str, name: &str| -> Result<u64, Failed> {
        let pid: u64 = ok(&[tool, "inspect", "-f", "{{.State.Pid}}", name])?
            .trim()
            .parse()?;
        Ok(netns_ino(pid).ok_or("pid vanished")?)
    };
    assert_eq!(
        ino_of("docker", "rnt-d-shared")?,
        ino_of("docker", "rnt-d-bridge")?
    );
    assert_eq!(
        ino_of("podman", "rnt-p-shared")?,
        ino_of("podman", "rnt-p-bridge")?
    );

    // References: exec, pids, identify --all-runtimes, attach.
    let ip = ok(&[
        "docker",
        "inspect",
        "-f",
        "{{.NetworkSettings.IPAddress}}",
        "rnt-d-bridge",
    ])?;
    let addr = ok(&[RNETNS, "exec", "docker:rnt-d-bridge", "ip", "addr"])?;
    if !addr.contains(ip.trim()) {
        return Err(format!("exec docker:rnt-d-bridge ip addr lacks {ip}: {addr}").into());
    }
    let ino = ino_of("docker", "rnt-d-bridge")?;
    let pids = ok(&[RNETNS, "pids", "docker:rnt-d-bridge"])?;
    let want: String = pids_in(ino).iter().map(|p| format!("{p}\n")).collect();
    assert_eq!(pids, want, "pids docker:rnt-d-bridge");
    let pid = ok(&["podman", "inspect", "-f", "{{.State.Pid}}", "rnt-p-inpod"])?;
    let who = ok(&[RNETNS, "identify", "--all-runtimes", pid.trim()])?;
    if !who.contains("rnt-p-inpod (") || !who.contains("pod rnt-pod") || !who.contains(" podman ") {
        return Err(format!("identify --all-runtimes {pid}: {who}").into());
    }
    // A tmpfs over all of /run, not just the run dir: attach makes
    // rnetns's own lock, /run/rnetns.lock, which must not reach the host's
    // /run. docker's exec root and pidfile are bound back from the host's.
    let old_run = state_dir().join("host-run");
    std::fs::create_dir_all(&old_run)?;
    let attach = format!(
        "mount --rbind /run {o} && mount -t tmpfs rnt-run /run && mkdir /run/docker /run/netns && mount --rbind {o}/docker /run/docker && cp {o}/docker.pid /run/ && mount -t tmpfs rnt-run /run/netns && {r} attach web docker:rnt-d-bridge && {r} identify {pid} && grep -c ' /run/netns/web ' /proc/self/mountinfo && test ! -L /run/netns/web",
        o = old_run.display(),
        r = RNETNS,
        pid = ok(&["docker", "inspect", "-f", "{{.State.Pid}}", "rnt-d-bridge"])?.trim()
    );
    let out = ok(&[
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        &attach,
    ])?;
    assert_eq!(out, "web\n1\n", "attach web docker:rnt-d-bridge");

    // Everything is up and checked: held here while hold.rs says so.
    hold::hold();

    // doctor (README "Diagnose and repair") on real state: stop the owner of rnt-d-shared's
    // namespace (--net=container:rnt-d-bridge); the dependant runs on.
    ok(&["docker", "stop", "-t", "0", "rnt-d-bridge"])?;
    let doc = cmd(&[RNETNS, "doctor"]);
    let text = String::from_utf8_lossy(&doc.stdout).into_owned();
    println!("--- rnetns doctor after stopping rnt-d-bridge\n{text}");
    if doc.status.code() != Some(1)
        || !text.contains("problem: network-owner-gone: /var/lib/docker/containers/")
        || !text.contains("docker container rnt-d-shared (")
        || !text.contains(", which is not running")
    {
        return Err(format!("doctor did not report rnt-d-shared's gone owner: {text}").into());
    }
    Ok(())
}
