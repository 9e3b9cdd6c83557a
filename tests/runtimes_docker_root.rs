//! A rootful docker with a non-default `data-root`/`exec-root` (README
//! "Every network namespace on the host", Docker row): found from the
//! running dockerd's arguments, else its daemon.json, never by assuming
//! `/var/lib/docker` and `/run/docker`. No daemon runs: in a sandbox
//! (tests/support/sandbox.rs, tmpfs over `/srv` and `/var/lib`, `/etc`
//! an overlay), a fake dockerd (a copy of bash named `dockerd`, so its
//! comm is `dockerd`, with the flags in its command line) stands for the
//! daemon, and the script builds docker's state under `/srv/docker` and
//! `/srv/docker-run` with the container's namespace bind-mounted as its
//! sandbox file. Each step changes only how the daemon is configured.
//! The script runs once; both tests read its output. rnetns's own lock
//! must not appear in the sandbox's /run (nothing here changes a run dir).
//! Without a sandbox both are ignored with "SKIP: ..."
//! (tests/support/skip.rs); under `CI=true` that is a failure.

#[path = "support/sandbox.rs"]
mod sandbox;
#[path = "support/skip.rs"]
mod skip;

use libtest_mimic::{Arguments, Failed, Trial};
use std::collections::HashMap;
use std::sync::OnceLock;

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

struct Run {
    facts: HashMap<String, String>,
    sections: HashMap<String, String>,
}

/// The script's output, run once (both tests read it).
fn run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = sandbox::scratch_root().join("docker-root");
        let _ = std::fs::create_dir_all(&dir);
        let out = sandbox::run_script(&dir, &script()).expect("run sandbox");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "script failed: {:?}\n{text}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        parse(&text)
    })
}

fn parse(text: &str) -> Run {
    let mut facts = HashMap::new();
    let mut sections = HashMap::new();
    let mut current: Option<String> = None;
    for line in text.split_inclusive('\n') {
        if let Some(f) = line.strip_prefix("FACT ") {
            let (k, v) = f.trim_end().split_once(' ').unwrap();
            facts.insert(k.to_string(), v.to_string());
        } else if let Some(name) = line.strip_prefix("=== ") {
            current = Some(name.trim_end().to_string());
            sections.insert(name.trim_end().to_string(), String::new());
        } else if let Some(c) = &current {
            sections.get_mut(c).unwrap().push_str(line);
        }
    }
    Run { facts, sections }
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
fn found(r: &Run, step: &str) {
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
fn defaults(r: &Run, step: &str) {
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
