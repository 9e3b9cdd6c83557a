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

#[path = "support/daemons.rs"]
mod daemons;
#[path = "support/dockerd.rs"]
mod dockerd;
#[path = "support/hold.rs"]
mod hold;
#[path = "support/proc_netns.rs"]
mod proc_netns;
#[path = "support/run.rs"]
mod run;

use daemons::{
    cmd, import_busybox, in_ci, ok, podman_conf, state_dir, undo_run_dir, Guard, HostState, IMG,
};
use libtest_mimic::{Arguments, Failed, Trial};
use proc_netns::{has, listed, netns_ino, pids_in, pids_match};
use serde_json::Value;
use std::path::Path;
use std::time::Instant;

const RNETNS: &str = env!("CARGO_BIN_EXE_rnetns");
const LABEL: &str = "rnetns-test=1";
/// This test's directory under `CARGO_TARGET_TMPDIR` (daemons.rs).
const STATE: &str = "rnetns-daemons";
/// rnetns's own lock (ARCHITECTURE.md "Locks"): nothing here may leave it.
const OWN_LOCK: &str = "/run/rnetns.lock";

fn main() {
    let args = Arguments::from_args();
    let trial = match daemons::missing(&["docker", "dockerd", "podman", "busybox"]) {
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

fn setup(guard: &mut Guard) -> Result<(), Failed> {
    podman_conf()?;
    guard.dockerd = Some(dockerd::Dockerd::ensure(&state_dir())?);
    let pimg = import_busybox(&["sh", "sleep", "ip", "cat"])?;
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

fn real_daemons() -> Result<(), Failed> {
    let t0 = Instant::now();
    let before = HostState::now();
    let run_dir_existed = Path::new("/run/netns").exists();
    let own_lock_existed = Path::new(OWN_LOCK).exists();
    let mut guard = Guard {
        dockerd: None,
        label: LABEL,
        pod: "rnt-pod",
        podman_net: None,
        docker_net: "rnt-net",
    };
    let result = setup(&mut guard).and_then(|()| check());
    drop(guard);
    if !run_dir_existed {
        undo_run_dir();
    }
    let left = before.left_behind();
    result?;
    if !own_lock_existed && Path::new(OWN_LOCK).exists() {
        return Err(format!("{OWN_LOCK} appeared during the test (not removed here)").into());
    }
    if !left.is_empty() {
        return Err(format!("left behind: {left}").into());
    }
    println!("real-daemon test took {:?}", t0.elapsed());
    Ok(())
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
        let ns = listed(spaces, ino, e.name)?;
        let owner = ns["runtime"].as_str();
        if owner != Some(e.owner) {
            return Err(format!("{}: owner {owner:?}, want {}", e.name, e.owner).into());
        }
        if !has(ns, e.tool, id, e.name, None) {
            return Err(format!("{}: not among the containers of {ns}", e.name).into());
        }
        if e.owner != "host" {
            pids_match(ns, ino, &[], e.name)?;
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
