//! A rootful docker with a non-default `data-root`/`exec-root` (README
//! "Every network namespace on the host", Docker row): found from the
//! running dockerd's arguments, else its daemon.json, never by assuming
//! `/var/lib/docker` and `/run/docker`.
//!
//! The argument forms, with a fake dockerd: in a sandbox
//! (tests/support/sandbox.rs, tmpfs over `/srv` and `/var/lib`, `/etc`
//! an overlay), a copy of bash named `dockerd` (so its comm is `dockerd`,
//! with the flags in its command line) stands for the daemon, and the
//! script builds docker's state under `/srv/docker` and `/srv/docker-run`
//! with the container's namespace bind-mounted as its sandbox file. Each
//! step changes only how the daemon is configured. The script runs once;
//! three tests read its output. rnetns's own lock must not appear in the
//! sandbox's /run (nothing here changes a run dir). Without a sandbox they
//! are ignored with "SKIP: ..." (tests/support/skip.rs); under `CI=true`
//! that is a failure.
//!
//! The config file, with a real dockerd
//! (`a_real_dockerd_with_roots_from_its_config_file`, in the host mount
//! namespace: run it under `flock /tmp/rnetns-host.lock`): a daemon.json
//! in the test's state dir names new roots,
//! `/var/lib/rnetns-test-docker-TAG` and `/run/rnetns-test-docker-TAG`,
//! and the test starts `dockerd --config-file` it, with no root on its
//! command line (tests/support/dockerd.rs), imports a busybox image built
//! here (no registry) and runs a labelled container on the default
//! bridge. `list --all-runtimes` must list the container's namespace as
//! docker's, with its name, id and sandbox file under the configured exec
//! root; `exec docker:NAME` must enter it; a name no container has must
//! be reported against the configured data root; `doctor` must find
//! nothing wrong. A guard removes the container (by label), stops the
//! daemon (by PID), unmounts what is left under the roots and removes
//! them; then the host must be as before (nsfs mounts, /run/netns, links,
//! `/run/docker.pid`, and no `/var/lib/docker` where there was none). It
//! runs only where no dockerd answers `docker info`; without root,
//! docker.io or busybox, or beside a running dockerd, it is ignored with
//! "SKIP: ..." (a failure under `CI=true`); inside host_guard's sandbox
//! (`RNETNS_IN_HOST_GUARD`) it is ignored too.

#[path = "support/dockerd.rs"]
mod dockerd;
#[path = "support/run.rs"]
mod run;
#[path = "support/runtime_host.rs"]
mod runtime_host;
#[path = "support/sandbox.rs"]
mod sandbox;
#[path = "support/skip.rs"]
mod skip;

use libtest_mimic::{Arguments, Failed, Trial};
use runtime_host::{cmd, enters, has, list_all, listed, netns_ino, ok, pids_match, quiet};
use sandbox::Report;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

const RNETNS: &str = env!("CARGO_BIN_EXE_rnetns");
const ID: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";

fn script() -> String {
    format!(
        r#"
R={rnetns}
mount -t tmpfs sbx-varlib /var/lib || exit 89
mount -t tmpfs sbx-srv /srv || exit 88
rm -rf /etc/docker
fact() {{ echo "FACT $1 $2"; }}
# Waits until process $1 has exec'd $2 (under load 0.2 s was not enough).
settle() {{ for _ in $(seq 200); do [ "$(cat /proc/$1/comm 2>/dev/null)" = "$2" ] && return; sleep 0.05; done; }}
# Stops a fake dockerd as dockerd exits: its pidfile goes first (the
# process is not this shell's child, so it cannot be waited for).
stop() {{ rm -f /run/docker.pid; kill $1; }}
D=$(unshare -n sleep 1000 >/dev/null 2>&1 & echo $!); settle $D sleep
fact dpid $D; fact dnet "$(readlink /proc/$D/ns/net)"
fact dino "$(stat -L -c %i /proc/$D/ns/net)"
mkdir -p /srv/docker/containers/{id} /srv/docker-run/netns
touch /srv/docker-run/netns/0123456789ab
mount --bind /proc/$D/ns/net /srv/docker-run/netns/0123456789ab
echo '{{"ID":"{id}","Name":"/web","State":{{"Running":true,"Pid":'$D'}},"NetworkSettings":{{"SandboxKey":"/srv/docker-run/netns/0123456789ab"}}}}' >/srv/docker/containers/{id}/config.v2.json
cp "$(command -v bash)" /tmp/dockerd
# A dockerd: comm `dockerd`, the daemon's flags after its argv[0].
dockerd() {{ /tmp/dockerd -c 'sleep 1000; :' "$@" >/dev/null 2>&1 & echo $! | tee /run/docker.pid; }}
step() {{
  echo "=== $1 json"; $R -j list --all-runtimes 2>/dev/null; echo "rc=$?"
  echo "=== $1 notes"; $R list --all-runtimes 2>&1 >/dev/null | grep -v '(-q silences notes)'
  echo "=== $1 exec"; $R exec docker:web readlink /proc/self/ns/net 2>&1; echo "rc=$?"
  echo "=== $1 miss"; $R exec docker:nothere true 2>&1; echo "rc=$?"
}}

P=$(dockerd dockerd -H fd:// --data-root /srv/docker --exec-root=/srv/docker-run); settle $P dockerd
step args
stop $P

mkdir -p /etc/docker
echo '{{"data-root": "/srv/docker", "exec-root": "/srv/docker-run"}}' >/etc/docker/daemon.json
step file

# The file names other roots; the arguments win, each for what it sets,
# and --config-file names the file read.
echo '{{"data-root": "/srv/elsewhere", "exec-root": "/srv/elsewhere-run"}}' >/etc/docker/daemon.json
echo '{{"data-root": "/srv/other", "exec-root": "/srv/docker-run"}}' >/srv/other.json
P=$(dockerd dockerd -g /srv/docker --config-file /srv/other.json); settle $P dockerd
step mixed
stop $P

printf '{{"data-root": "/srv/docker",' >/etc/docker/daemon.json
step malformed

rm /etc/docker/daemon.json
P=$(dockerd dockerd --data-root srv/docker --exec-root /srv/../srv/docker-run); settle $P dockerd
fact relpid $P
step relative
stop $P

# A dockerd that is not root's (rootless dockers have their own reader).
P=$(setpriv --reuid 1002 --regid 1002 --clear-groups /tmp/dockerd -c 'sleep 1000; :' dockerd --data-root /srv/docker --exec-root /srv/docker-run >/dev/null 2>&1 & echo $! | tee /run/docker.pid); settle $P dockerd
step nonroot
stop $P

# Configured roots a user owns speak only for what that user owns.
echo '{{"data-root": "/srv/docker", "exec-root": "/srv/docker-run"}}' >/etc/docker/daemon.json
chown 1001 /srv/docker
step owned
fact lock "$([ -e /run/rnetns.lock ] && echo left || echo none)"
"#,
        rnetns = sandbox::shell_quote(RNETNS),
        id = ID,
    )
}

/// The script's output, run once (both tests read it).
fn run() -> &'static Report {
    static RUN: OnceLock<Report> = OnceLock::new();
    RUN.get_or_init(|| {
        let text = sandbox::run_checked("docker-root", &script()).expect(skip::IN_PRIVILEGED);
        Report::parse(&text)
    })
}

/// The row of namespace `ino` in a `-j list --all-runtimes` section.
fn row(json: &str, ino: &str) -> Option<serde_json::Value> {
    let body = json.strip_suffix("rc=0\n").expect(json);
    let rows: serde_json::Value = serde_json::from_str(body).expect(body);
    let ino: u64 = ino.parse().unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["inode"] == ino)
        .cloned()
}

/// The step found the container under the configured roots and entered it.
fn found(r: &Report, step: &str) {
    let f = &r.facts;
    let json = &r.sections[&format!("{step} json")];
    let want = serde_json::json!({
        "inode": f["dino"].parse::<u64>().unwrap(),
        "paths": ["/srv/docker-run/netns/0123456789ab"],
        "runtime": "docker",
        "containers": [{"id": ID, "name": "web", "runtime": "docker"}],
        "pids": [f["dpid"].parse::<u64>().unwrap()],
        "stale": false,
    });
    assert_eq!(row(json, &f["dino"]), Some(want), "{step}: {json}");
    let exec = &r.sections[&format!("{step} exec")];
    assert_eq!(*exec, format!("{}\nrc=0\n", f["dnet"]), "{step}");
    let miss = &r.sections[&format!("{step} miss")];
    assert_eq!(
        *miss,
        "rnetns: no docker container named \"nothere\" (1 container in /srv/docker; none matches)\nrc=255\n",
        "{step}"
    );
}

/// The step read docker's default roots (empty here): the container is
/// not found and its namespace is only a process's.
fn defaults(r: &Report, step: &str) {
    let f = &r.facts;
    let json = &r.sections[&format!("{step} json")];
    let got = row(json, &f["dino"]).expect(json);
    assert_eq!(got["runtime"], "process", "{step}: {json}");
    assert!(got.get("containers").is_none(), "{step}: {json}");
    // (The notes of the scan come first.)
    let miss: String = r.sections[&format!("{step} miss")]
        .lines()
        .filter(|l| !l.starts_with("rnetns: note:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        miss,
        "rnetns: docker state not found at /var/lib/docker (is docker installed here?)\nrc=255\n",
        "{step}"
    );
}

fn main() {
    let args = Arguments::from_args();
    let trials: Vec<Trial> = vec![
        skip::privileged_fn("configured_roots_are_read", configured_roots_are_read),
        skip::privileged_fn(
            "configured_roots_keep_the_trust_rule",
            configured_roots_keep_the_trust_rule,
        ),
        skip::privileged("no_own_lock_left", no_own_lock_left),
        real_trial(),
    ];
    libtest_mimic::run(&args, trials).exit();
}

/// Reading runtime state takes no lock file: `list` and failed `exec`s
/// leave none in /run.
fn no_own_lock_left() -> Result<(), Failed> {
    match run().facts["lock"].as_str() {
        "none" => Ok(()),
        got => Err(format!("/run/rnetns.lock: {got} (rnetns made it)").into()),
    }
}

fn configured_roots_are_read() {
    let r = run();
    for step in ["args", "file", "mixed"] {
        found(r, step);
        assert_eq!(r.sections[&format!("{step} notes")], "", "{step}");
    }

    defaults(r, "malformed");
    assert_eq!(
        r.sections["malformed notes"],
        "rnetns: note: skipping /etc/docker/daemon.json: malformed JSON; docker's default roots are used\n"
    );

    defaults(r, "relative");
    let p = &r.facts["relpid"];
    assert_eq!(
        r.sections["relative notes"],
        format!(
            "rnetns: note: ignoring --data-root \"srv/docker\" of dockerd (PID {p}): not an absolute path to a directory\n\
             rnetns: note: ignoring --exec-root \"/srv/../srv/docker-run\" of dockerd (PID {p}): not an absolute path to a directory\n"
        )
    );

    defaults(r, "nonroot");
    assert_eq!(r.sections["nonroot notes"], "");
}

fn configured_roots_keep_the_trust_rule() {
    let r = run();
    let f = &r.facts;
    // /srv/docker is uid 1001's: root's namespace is not believed to be
    // that user's container.
    let json = &r.sections["owned json"];
    let got = row(json, &f["dino"]).expect(json);
    assert!(got.get("containers").is_none(), "{json}");
    let exec = &r.sections["owned exec"];
    assert!(
        exec.contains("docker container \"web\" of uid 1001") && exec.contains("is not believed"),
        "{exec}"
    );
    assert!(exec.ends_with("rc=255\n"), "{exec}");
}

// A real dockerd whose roots come from its --config-file.

const LABEL: &str = "rnetns-test-docker-root=1";
const IMG: &str = "rnetns-busybox:latest";
const NAME: &str = "rnt-root-web";

/// The real-daemon test, which host_guard's sandbox does not run: it
/// starts a daemon on the host (host_guard leaves out whole targets that
/// do; this one's other tests run there).
fn real_trial() -> Trial {
    let name = "a_real_dockerd_with_roots_from_its_config_file";
    if std::env::var_os("RNETNS_IN_HOST_GUARD").is_some() {
        return skip::ignored(name, "starts a real dockerd on the host: not in host_guard");
    }
    runtime_host::trial(
        name,
        real_missing(),
        a_real_dockerd_with_roots_from_its_config_file,
    )
}

/// What this host lacks for the real daemon: root and the packages, and
/// no dockerd of anyone else's (this test starts its own).
fn real_missing() -> Option<String> {
    runtime_host::missing(&["docker", "dockerd", "busybox"], &[]).or_else(|| {
        cmd(&["docker", "info"]).status.success().then(|| {
            "a dockerd already answers `docker info` (this test starts its own, with roots from its config file)".into()
        })
    })
}

fn state_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("rnetns-docker-root");
    let _ = std::fs::create_dir_all(&d);
    d
}

/// The daemon's roots: new, unique paths beside docker's defaults.
struct Roots {
    data: PathBuf,
    exec: PathBuf,
}

impl Roots {
    fn new() -> Roots {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let tag = format!("{:x}{:05x}", std::process::id(), nanos & 0xfffff);
        Roots {
            data: PathBuf::from(format!("/var/lib/rnetns-test-docker-{tag}")),
            exec: PathBuf::from(format!("/run/rnetns-test-docker-{tag}")),
        }
    }
}

/// Undoes what the test made, in Drop, so a failed check still cleans
/// up: its container (by label), the dockerd it started (by PID; see
/// tests/support/dockerd.rs), mounts left under its roots, the roots.
struct Guard {
    dockerd: Option<dockerd::Dockerd>,
    roots: Roots,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.dockerd.is_some() {
            let ids = cmd(&["docker", "ps", "-aq", "--filter", &format!("label={LABEL}")]);
            for id in String::from_utf8_lossy(&ids.stdout).split_whitespace() {
                quiet(&["docker", "rm", "-f", id]);
            }
        }
        drop(self.dockerd.take());
        for root in [&self.roots.data, &self.roots.exec] {
            for _ in 0..8 {
                let mounts = mounts_under(root);
                if mounts.is_empty() {
                    break;
                }
                // Deepest first.
                for m in mounts.iter().rev() {
                    let _ = nix::mount::umount2(m.as_str(), nix::mount::MntFlags::MNT_DETACH);
                }
            }
            // Never recurse into a mount: what cannot be unmounted stays,
            // and the test reports it.
            if mounts_under(root).is_empty() {
                let _ = std::fs::remove_dir_all(root);
            }
        }
    }
}

/// Mount points at or below `root`, sorted (a parent before its children).
fn mounts_under(root: &Path) -> BTreeSet<String> {
    let root = root.display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| *m == root || m.starts_with(&format!("{root}/")))
        .map(str::to_string)
        .collect()
}

fn a_real_dockerd_with_roots_from_its_config_file() -> Result<(), Failed> {
    let t0 = Instant::now();
    let before = runtime_host::host();
    let links_before = runtime_host::names_in("/sys/class/net");
    let pidfile_before = Path::new("/run/docker.pid").exists();
    let default_root_before = Path::new("/var/lib/docker").exists();
    let roots = Roots::new();
    for r in [&roots.data, &roots.exec] {
        if r.exists() {
            return Err(format!("{} exists already (not ours)", r.display()).into());
        }
    }
    let mut guard = Guard {
        dockerd: None,
        roots,
    };
    let result = setup(&mut guard).and_then(|()| check(&guard));
    let (data, exec) = (guard.roots.data.clone(), guard.roots.exec.clone());
    drop(guard);
    result?;
    runtime_host::unchanged(&before)?;
    let mut left = Vec::new();
    for r in [&data, &exec] {
        if r.exists() {
            left.push(format!("{} ({:?})", r.display(), mounts_under(r)));
        }
    }
    if Path::new("/run/docker.pid").exists() != pidfile_before {
        left.push("/run/docker.pid".into());
    }
    // The daemon, configured elsewhere, never made docker's default root.
    if Path::new("/var/lib/docker").exists() != default_root_before {
        left.push("/var/lib/docker (made by this run)".into());
    }
    let links = runtime_host::names_in("/sys/class/net");
    if links != links_before {
        left.push(format!("links {:?}", links.difference(&links_before)));
    }
    if !left.is_empty() {
        return Err(format!("left behind: {left:?}").into());
    }
    println!("real dockerd with configured roots: {:?}", t0.elapsed());
    Ok(())
}

/// The daemon, from a daemon.json naming its roots; the busybox image,
/// built here (no registry); one labelled container on the default
/// bridge.
fn setup(guard: &mut Guard) -> Result<(), Failed> {
    let state = state_dir();
    let config = state.join("daemon.json");
    let body = serde_json::json!({
        "data-root": guard.roots.data,
        "exec-root": guard.roots.exec,
    });
    std::fs::write(&config, body.to_string())?;
    let config = config.display().to_string();
    guard.dockerd = Some(dockerd::Dockerd::start(
        &state,
        &["--config-file", &config],
        &guard.roots.exec,
    )?);

    let root = state.join("rootfs");
    let _ = std::fs::remove_dir_all(&root);
    for d in ["bin", "proc", "sys", "dev", "etc", "tmp", "run"] {
        std::fs::create_dir_all(root.join(d))?;
    }
    let busybox = ok(&["sh", "-c", "command -v busybox"])?;
    std::fs::copy(busybox.trim(), root.join("bin/busybox"))?;
    for a in ["sh", "sleep", "readlink"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(a))?;
    }
    let tar = state.join("rootfs.tar");
    let (r, t) = (root.display().to_string(), tar.display().to_string());
    ok(&["tar", "-C", &r, "-cf", &t, "."])?;
    ok(&[
        "docker",
        "import",
        "-c",
        "CMD [\"/bin/sleep\",\"100000\"]",
        &t,
        IMG,
    ])?;
    ok(&[
        "docker", "run", "-d", "--label", LABEL, "--name", NAME, "--net", "bridge", IMG,
    ])?;
    Ok(())
}

fn check(guard: &Guard) -> Result<(), Failed> {
    let (data, exec) = (&guard.roots.data, &guard.roots.exec);
    // The roots come from the file alone: none is on the command line.
    let dpid = guard
        .dockerd
        .as_ref()
        .and_then(|d| d.pid())
        .ok_or("no dockerd of ours")?;
    let argv = std::fs::read(format!("/proc/{dpid}/cmdline"))?;
    let argv: Vec<String> = argv
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    if argv.iter().any(|a| {
        a.starts_with("--data-root")
            || a.starts_with("--exec-root")
            || a.starts_with("--graph")
            || a == "-g"
    }) {
        return Err(format!("dockerd's argv names a root: {argv:?}").into());
    }
    let pidfile = std::fs::read_to_string("/run/docker.pid")?;
    if pidfile.trim() != dpid.to_string() {
        return Err(format!("/run/docker.pid says {pidfile:?}, our dockerd is {dpid}").into());
    }

    let inspect: serde_json::Value = serde_json::from_str(&ok(&["docker", "inspect", NAME])?)?;
    let c = &inspect[0];
    let pid = c["State"]["Pid"].as_u64().ok_or("no pid")?;
    let id = c["Id"].as_str().ok_or("no id")?;
    let key = c["NetworkSettings"]["SandboxKey"]
        .as_str()
        .ok_or("no SandboxKey")?;
    // docker's own word that it uses the configured roots.
    if !Path::new(key).starts_with(exec.join("netns")) || !data.join("containers").join(id).is_dir()
    {
        return Err(format!(
            "docker ignored its config: SandboxKey {key}, data root {}",
            data.display()
        )
        .into());
    }
    let ino = netns_ino(pid).ok_or("container pid vanished")?;

    let spaces = list_all("dockerd with roots from its config file")?;
    let ns = listed(&spaces, ino, NAME)?;
    // Its name comes only from DATA-ROOT/containers/ID/config.v2.json:
    // read with docker's default roots instead, the namespace is still
    // listed (its mount, its cgroup) but nameless.
    if ns["runtime"] != "docker" || !has(ns, "docker", id, NAME, None) {
        return Err(format!("{NAME}: not listed as docker's container {id}: {ns}").into());
    }
    // The sandbox file under the configured exec root.
    if ns["paths"] != serde_json::json!([key]) {
        return Err(format!("{NAME}: paths {}, want [{key}]", ns["paths"]).into());
    }
    pids_match(ns, ino, &[pid], NAME)?;
    enters(&format!("docker:{NAME}"), pid)?;

    // A name no container has: rnetns says which data root it searched.
    let miss = cmd(&[
        runtime_host::RNETNS,
        "exec",
        "docker:rnt-root-nothere",
        "true",
    ]);
    let err = String::from_utf8_lossy(&miss.stderr);
    let want = format!(
        "rnetns: no docker container named \"rnt-root-nothere\" (1 container in {}; none matches)",
        data.display()
    );
    if miss.status.code() != Some(255) || err.lines().last() != Some(want.as_str()) {
        return Err(format!(
            "exec docker:rnt-root-nothere ({:?}): {err}want: {want}",
            miss.status
        )
        .into());
    }
    if let Some(note) = err
        .lines()
        .find(|l| l.contains("docker") && l.starts_with("rnetns: note:"))
    {
        return Err(format!("a note about docker: {note}").into());
    }
    runtime_host::doctor()?;
    Ok(())
}
