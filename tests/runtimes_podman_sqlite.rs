//! Podman's SQLite state (podman >= 4.8, `database_backend = "sqlite"`):
//! a container's pod and the pod's name come from `db.sql` when there is
//! no bolt database, for root's storage and a rootless user's. In a
//! sandbox (tests/support/sandbox.rs, tmpfs over /var/lib and /home), the
//! script lays out podman's storage as in tests/runtimes_sandbox.rs and
//! builds each `db.sql` with the sqlite3 CLI in podman's schema
//! (`ContainerConfig(ID, Name, PodID, JSON)`, `PodConfig(ID, Name, JSON)`,
//! `PodState`, `ContainerState`, `IDNamespace`, `DBConfig`). Root's
//! database is in WAL mode and copied while its log still holds every
//! row (nothing checkpointed), with JSON long enough to overflow pages
//! and 300 filler rows, so interior pages, overflow chains and the log
//! are all read. The user's database also claims root's container for a
//! pod of hers: a user's database speaks only for her own containers
//! (README "Trust"). Pods are entered by name, `podman:[USER/]POD`, with
//! the owner rules of container names.

#[path = "support/sandbox.rs"]
mod sandbox;
#[path = "support/skip.rs"]
mod skip;

use libtest_mimic::{Arguments, Failed};
use sandbox::Report;
use serde_json::Value;

const RNETNS: &str = env!("CARGO_BIN_EXE_rnetns");
/// Root's container in a pod its cgroup path names.
const WEB: &str = "5e1a000000000000000000000000000000000000000000000000000000000001";
const POD1: &str = "9d01000000000000000000000000000000000000000000000000000000000001";
/// Root's pod member without a cgroup path (its pod only in the database).
const SIDE: &str = "5e1a000000000000000000000000000000000000000000000000000000000002";
const POD2: &str = "9d02000000000000000000000000000000000000000000000000000000000002";
const INFRA2: &str = "1f02000000000000000000000000000000000000000000000000000000000002";
/// The user's pod member, and her pod.
const UM: &str = "5e1a000000000000000000000000000000000000000000000000000000000003";
const UPOD: &str = "9d03000000000000000000000000000000000000000000000000000000000003";
const UINFRA: &str = "1f03000000000000000000000000000000000000000000000000000000000003";
const EVILPOD: &str = "9d04000000000000000000000000000000000000000000000000000000000004";

fn script() -> String {
    format!(
        r#"
R={rnetns}
mount -t tmpfs sbx-varlib /var/lib || exit 89
mount -t tmpfs sbx-home /home || exit 89
ino() {{ stat -L -c %i "$1"; }}
fact() {{ echo "FACT $1 $2"; }}
echo 'sqlu:x:1001:1001::/home/sqlu:/bin/sh' >>/etc/passwd
echo 'sqlu:200000:65536' >/etc/subuid
schema='CREATE TABLE DBConfig(ID INTEGER PRIMARY KEY NOT NULL, SchemaVersion INTEGER NOT NULL, OS TEXT NOT NULL, StaticDir TEXT NOT NULL, TmpDir TEXT NOT NULL, GraphRoot TEXT NOT NULL, RunRoot TEXT NOT NULL, GraphDriver TEXT NOT NULL, VolumeDir TEXT NOT NULL, CHECK (ID IN (1)));
CREATE TABLE IDNamespace(ID TEXT PRIMARY KEY NOT NULL);
CREATE TABLE ContainerConfig(ID TEXT PRIMARY KEY NOT NULL, Name TEXT UNIQUE NOT NULL, PodID TEXT, JSON TEXT NOT NULL);
CREATE TABLE ContainerState(ID TEXT PRIMARY KEY NOT NULL, State INTEGER NOT NULL, ExitCode INTEGER, JSON TEXT NOT NULL);
CREATE TABLE PodConfig(ID TEXT PRIMARY KEY NOT NULL, Name TEXT UNIQUE NOT NULL, JSON TEXT NOT NULL);
CREATE TABLE PodState(ID TEXT PRIMARY KEY NOT NULL, InfraContainerID TEXT, JSON TEXT NOT NULL);
INSERT INTO DBConfig VALUES (1, 1, "linux", "", "", "", "", "overlay", "");'
# A row like podman's: its JSON is the container's config, spec first.
big="'{{\"spec\":{{\"ociVersion\":\"1.0.2\",\"pad\":\"' || hex(zeroblob(3000)) || '\"}}}}'"

# Root: WEB (pod from its cgroup path) and SIDE (pod only in the database).
ip netns add sqweb; fact webino "$(ino /run/netns/sqweb)"
ip netns add sqside; fact sideino "$(ino /run/netns/sqside)"
G=/var/lib/containers/storage
S=$G/overlay-containers
mkdir -p $S/{web}/userdata $S/{side}/userdata
echo '[{{"id":"{web}","names":["sq-web"]}},{{"id":"{side}","names":["sq-side"]}}]' >$S/containers.json
echo '{{"annotations":{{"io.container.manager":"libpod"}},"linux":{{"cgroupsPath":"/libpod_parent/{pod1}/libpod-{web}","namespaces":[{{"type":"network","path":"/run/netns/sqweb"}}]}}}}' >$S/{web}/userdata/config.json
echo '{{"annotations":{{"io.container.manager":"libpod","io.kubernetes.cri-o.SandboxID":"{infra2}"}},"linux":{{"namespaces":[{{"type":"network","path":"/run/netns/sqside"}}]}}}}' >$S/{side}/userdata/config.json
mkdir -p $SBX/db && rm -f $SBX/db/*
sqlite3 $SBX/db/db.sql >/dev/null <<EOF || exit 70
PRAGMA journal_mode=WAL;
PRAGMA wal_autocheckpoint=0;
$schema
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
  INSERT INTO ContainerConfig SELECT printf('%064x', i), 'filler' || i, NULL, $big FROM n;
INSERT INTO PodConfig VALUES ('{pod1}', 'sqpod', '{{}}'), ('{pod2}', 'sqpod2', '{{}}');
INSERT INTO ContainerConfig VALUES ('{web}', 'sq-web', '{pod1}', $big), ('{side}', 'sq-side', '{pod2}', $big),
  ('{infra2}', '9d02-infra', '{pod2}', $big);
.shell cp $SBX/db/db.sql $SBX/db/db.sql-wal $G/
EOF
[ -s $G/db.sql-wal ] || {{ echo "no log copied" >&2; exit 71; }}
fact walbytes "$(stat -c %s $G/db.sql-wal)"

# The user: her pause process (her own user, mount and net namespaces),
# a pod member whose process is her pause process, her database (no log)
# naming her pod, and claiming root's SIDE for a pod of hers.
roots=$(awk '{{ for (i = 7; i <= NF && $i != "-"; i++) ; t = $(i+1);
  if ($4 == "/" && (t == "cgroup" || t == "cgroup2")) print $5 }}' /proc/self/mountinfo)
toroot() {{ for m in $roots; do echo $1 >"$m/cgroup.procs" 2>/dev/null; done; }}
U=/run/user/1001
mkdir -p $U/netns $U/libpod/tmp $U/containers/overlay-containers/{um}/userdata $U/containers/overlay-containers/{uinfra}/userdata
touch $U/netns/netns-sq
chown -R 1001:1001 $U; chmod 700 $U
setpriv --reuid 1001 --regid 1001 --clear-groups unshare -Urm --propagation private sh -c 'exec unshare -n sh -c "mount --bind /proc/self/ns/net /run/user/1001/netns/netns-sq && exec sleep 1000"' >/dev/null 2>&1 &
PAUSE=$!
for i in $(seq 50); do [ "$(readlink /proc/$PAUSE/exe)" = "$(command -v sleep)" ] && break; sleep 0.1; done
trap 'kill $PAUSE 2>/dev/null; wait 2>/dev/null' EXIT
toroot $PAUSE
echo $PAUSE >$U/libpod/tmp/pause.pid
echo $PAUSE >$U/containers/overlay-containers/{um}/userdata/pidfile
echo $PAUSE >$U/containers/overlay-containers/{uinfra}/userdata/pidfile
fact uino "$(ino /proc/$PAUSE/ns/net)"
H=/home/sqlu/.local/share/containers/storage
mkdir -p $H/overlay-containers/{um}/userdata $H/overlay-containers/{uinfra}/userdata
echo '[{{"id":"{um}","names":["sq-um"]}},{{"id":"{uinfra}","names":["9d03-infra"]}}]' >$H/overlay-containers/containers.json
# Her pod's infra names no sandbox (as podman writes it).
echo '{{"annotations":{{"io.container.manager":"libpod"}}}}' >$H/overlay-containers/{uinfra}/userdata/config.json
echo '{{"annotations":{{"io.container.manager":"libpod","io.kubernetes.cri-o.SandboxID":"{uinfra}"}}}}' >$H/overlay-containers/{um}/userdata/config.json
sqlite3 $H/db.sql >/dev/null <<EOF || exit 72
$schema
INSERT INTO PodConfig VALUES ('{upod}', 'upod', '{{}}'), ('{evilpod}', 'evil', '{{}}'), ('{pod2}', 'evil2', '{{}}');
INSERT INTO ContainerConfig VALUES ('{um}', 'sq-um', '{upod}', $big), ('{uinfra}', '9d03-infra', '{upod}', $big),
  ('{side}', 'sq-side', '{evilpod}', '{{}}');
EOF
chown -R 1001:1001 /home/sqlu

echo "=== json"; $R -j list --all-runtimes 2>$SBX/json.err; echo "rc=$?"
echo "=== notes"; cat $SBX/json.err
echo "=== plain"; $R list --all-runtimes 2>/dev/null
echo "=== exec-user"; $R exec podman:sqlu/sq-um sh -c 'stat -L -c %i /proc/self/ns/net' 2>&1; echo "rc=$?"
echo "=== exec-side"; $R exec podman:sq-side sh -c 'stat -L -c %i /proc/self/ns/net' 2>&1; echo "rc=$?"
# Pods by name, root's and the user's alike (no container has those names).
echo "=== exec-pod"; $R exec podman:sqpod2 sh -c 'stat -L -c %i /proc/self/ns/net' 2>&1; echo "rc=$?"
echo "=== exec-user-pod"; $R exec podman:sqlu/upod sh -c 'stat -L -c %i /proc/self/ns/net' 2>&1; echo "rc=$?"
echo "=== exec-upod"; $R exec podman:upod sh -c 'stat -L -c %i /proc/self/ns/net' 2>&1; echo "rc=$?"
echo "=== exec-root-upod"; $R exec podman:root/upod true 2>&1; echo "rc=$?"
# A database that is not one: noted, the pod shown by its short id.
echo garbage >$G/db.sql; rm -f $G/db.sql-wal
echo "=== garbage"; $R -j list --all-runtimes 2>$SBX/garbage.err; echo "rc=$?"
echo "=== garbage-notes"; cat $SBX/garbage.err
# A real database cut short (its pages past 6000 bytes missing).
head -c 6000 $H/db.sql >$G/db.sql
echo "=== cut"; $R -j list --all-runtimes 2>$SBX/cut.err; echo "rc=$?"
echo "=== cut-notes"; cat $SBX/cut.err
"#,
        rnetns = sandbox::shell_quote(RNETNS),
        web = WEB,
        pod1 = POD1,
        side = SIDE,
        pod2 = POD2,
        infra2 = INFRA2,
        um = UM,
        upod = UPOD,
        uinfra = UINFRA,
        evilpod = EVILPOD,
    )
}

fn run() -> Result<Report, Failed> {
    // `main` only runs this where a sandbox can be built.
    let text = sandbox::run_checked("podman-sqlite", &script())
        .ok_or("run_checked found no sandbox, which main had found")?;
    Ok(Report::parse(&text))
}

/// The containers listed in namespace `ino` of a `-j` section.
fn containers(json: &str, ino: &str) -> Result<Vec<Value>, Failed> {
    let body = json
        .strip_suffix("rc=0\n")
        .ok_or_else(|| format!("list failed: {json}"))?;
    let rows: Value = serde_json::from_str(body)?;
    let ino: u64 = ino.parse()?;
    let row = rows
        .as_array()
        .ok_or("not an array")?
        .iter()
        .find(|r| r["inode"] == ino)
        .ok_or_else(|| format!("netns {ino} not listed: {body}"))?;
    Ok(row["containers"].as_array().cloned().unwrap_or_default())
}

fn member(list: &[Value], id: &str, name: &str, pod: &str) -> bool {
    list.iter()
        .any(|c| c["id"] == id && c["name"] == name && c["runtime"] == "podman" && c["pod"] == pod)
}

fn sqlite_pods() -> Result<(), Failed> {
    let r = run()?;
    let f = &r.facts;
    let json = &r.sections["json"];
    println!("log: {} bytes\n{}", f["walbytes"], r.sections["plain"]);
    let web = containers(json, &f["webino"])?;
    if !member(&web, WEB, "sq-web", "sqpod") {
        return Err(format!("root's pod from its cgroup path, named by db.sql: {web:?}").into());
    }
    // Not the user's claim (evil) for root's container.
    let side = containers(json, &f["sideino"])?;
    if !member(&side, SIDE, "sq-side", "sqpod2") {
        return Err(format!("root's pod only in db.sql's log: {side:?}").into());
    }
    let user = containers(json, &f["uino"])?;
    if !member(&user, UM, "sq-um", "upod") || !member(&user, UINFRA, "9d03-infra", "upod") {
        return Err(format!("the user's pod from her db.sql: {user:?}").into());
    }
    if json.contains("evil") {
        return Err(format!("the user's database named root's pod: {json}").into());
    }
    if !r.sections["notes"].is_empty() {
        return Err(format!("notes: {}", r.sections["notes"]).into());
    }
    for (section, ino) in [
        ("exec-user", "uino"),
        ("exec-side", "sideino"),
        ("exec-pod", "sideino"),
        ("exec-user-pod", "uino"),
        ("exec-upod", "uino"),
    ] {
        let want = format!("{}\nrc=0\n", f[ino]);
        if r.sections[section] != want {
            return Err(format!("{section}: {:?}, want {want:?}", r.sections[section]).into());
        }
    }
    // Root has no pod of that name: the user's is not taken for root's.
    let want = "rnetns: no podman container named \"upod\" (2 containers in /var/lib/containers/storage; none matches)\nrc=255\n";
    if r.sections["exec-root-upod"] != want {
        return Err(format!("exec podman:root/upod: {:?}", r.sections["exec-root-upod"]).into());
    }
    // A garbage or truncated db.sql: noted, the pod shown by its short id.
    let want =
        "rnetns: note: skipping /var/lib/containers/storage/db.sql: not a libpod SQLite database\n";
    for case in ["garbage", "cut"] {
        let list = containers(&r.sections[case], &f["webino"])?;
        if !member(&list, WEB, "sq-web", &POD1[..12]) {
            return Err(format!("{case} db.sql: {list:?}").into());
        }
        let notes = &r.sections[&format!("{case}-notes")];
        if !notes.starts_with(want) {
            return Err(format!("{case} notes: {notes:?}").into());
        }
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    // The sandbox, and the sqlite3 CLI that builds the databases.
    let sqlite3 = std::process::Command::new("sqlite3")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    let missing = sandbox::unavailable()
        .map(|why| format!("needs root or user namespaces ({why})"))
        .or_else(|| (!sqlite3).then(|| "sqlite3 is not installed (.ci/run installs it)".into()));
    let trials = vec![skip::requires("sqlite_pods", missing, sqlite_pods)];
    libtest_mimic::run(&args, trials).exit();
}
