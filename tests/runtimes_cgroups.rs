//! `list --all-runtimes` places processes in containers by their cgroup
//! (spec: netns-locations 2.3). rnetns walks the container hierarchy (the
//! one a process's `0::` or `name=systemd` line names) and reads
//! `cgroup.procs` in the directories a pattern matches; where that
//! hierarchy is not mounted it reads each `/proc/PID/cgroup` instead. This
//! test builds real cgroups with container names in that hierarchy (an LXC
//! payload with a nested child, a docker scope beneath a slice, a conmon
//! scope that must be skipped), moves processes with their own network
//! namespaces into them, and checks that both ways give the same bytes and
//! the expected owners. Then docker's own state is added for the docker
//! scope's container: its cgroup must be read while some namespace is
//! explained by no runtime's state, and only then (strace shows which). The
//! cgroups are the host's (cgroupfs is not
//! namespaced here): they carry this test's PID in their names and are
//! removed when the sandbox ends.

#[path = "support/sandbox.rs"]
mod sandbox;
#[path = "support/skip.rs"]
mod skip;

const RNETNS: &str = env!("CARGO_BIN_EXE_rnetns");
const DOCKER_ID: &str = "d0c0000000000000000000000000000000000000000000000000000000000001";
const CONMON_ID: &str = "c0c0000000000000000000000000000000000000000000000000000000000003";

fn script() -> String {
    format!(
        r#"
R={rnetns}
T=rnetns-test-{me}
mount -t tmpfs sbx-varlib /var/lib || exit 89
# The hierarchy rnetns walks: the first `0::` or `name=systemd` line of our
# cgroup file (else the first line), mounted at its root.
ctl=$(awk -F: '$2=="" || $2=="name=systemd" {{print $2; exit}}' /proc/self/cgroup)
mnt=$(awk -v want="$ctl" '{{
  for (i = 7; i <= NF && $i != "-"; i++) ;
  t = $(i+1); o = "," $(i+3) ",";
  if ($4 != "/") next;
  if (want == "" && t == "cgroup2") {{ print $5; exit }}
  if (want != "" && t == "cgroup" && index(o, "," want ",")) {{ print $5; exit }}
}}' /proc/self/mountinfo)
[ -n "$mnt" ] && [ -d "$mnt" ] || {{ echo "no container hierarchy (ctl=$ctl)" >&2; exit 80; }}
echo "FACT mnt $mnt"
cd "$mnt" || exit 80
dirs=("lxc.payload.$T/sub" "lxc.payload.$T" "$T.slice/docker-{docker}.scope" "$T.slice/libpod-conmon-{conmon}.scope" "$T.slice")
pids=()
cleanup() {{
  kill "${{pids[@]}}" 2>/dev/null; wait 2>/dev/null
  for d in "${{dirs[@]}}"; do rmdir "$d" || echo "cannot remove cgroup $d" >&2; done
}}
trap cleanup EXIT
# hold DIR: a process with its own netns, moved into cgroup DIR.
hold() {{
  mkdir -p "$1" || exit 81
  unshare -n sleep 1000 >/dev/null 2>&1 &
  pids+=($!)
  echo $! >"$1/cgroup.procs" || exit 82
  echo "FACT $2 $!"
  eval "pid_$2=$!"
}}
hold "lxc.payload.$T" lxc
hold "lxc.payload.$T/sub" lxcsub
hold "$T.slice/docker-{docker}.scope" docker
hold "$T.slice/libpod-conmon-{conmon}.scope" conmon
sleep 0.3
for p in "${{pids[@]}}"; do echo "FACT ino$p $(stat -L -c %i /proc/$p/ns/net)"; done
echo "=== walk"; $R -j list --all-runtimes; echo "rc=$?"
echo "=== walk-trace"; strace -f -e trace=openat -o "$SBX/trace" $R list --all-runtimes >/dev/null 2>&1
grep -c 'cgroup.procs' "$SBX/trace"; grep -cE '"[0-9]+/cgroup"' "$SBX/trace"
# Without the hierarchy (unmounted in a mount namespace of its own, so
# that this script keeps it): each /proc/PID/cgroup is read instead.
unshare -m --propagation private bash -c '
umount -l "$1" || exit 83
echo "=== procs"; "$2" -j list --all-runtimes; echo "rc=$?"
echo "=== procs-trace"; strace -f -e trace=openat -o "$3/trace" "$2" list --all-runtimes >/dev/null 2>&1
grep -c cgroup.procs "$3/trace"; grep -cE "\"[0-9]+/cgroup\"" "$3/trace"' - "$mnt" "$R" "$SBX" || exit 83
# Docker's own state for the docker scope's container: its sandbox file
# and PID agree, so its cgroup need not be read unless some process is in
# a namespace no runtime's state explains.
mkdir -p /run/docker/netns /var/lib/docker/containers/{docker} || exit 84
touch /run/docker/netns/abcdef123456 && mount --bind /proc/$pid_docker/ns/net /run/docker/netns/abcdef123456 || exit 84
printf '{{"ID":"{docker}","Name":"/dk","State":{{"Running":true,"Pid":%s}},"NetworkSettings":{{"SandboxKey":"/var/run/docker/netns/abcdef123456"}}}}' $pid_docker >/var/lib/docker/containers/{docker}/config.v2.json
docker_read() {{
  echo "=== $1"; strace -f -e trace=openat -o "$SBX/trace" $R -j list --all-runtimes; echo "rc=$?"
  grep -c 'docker-{docker}.scope/cgroup.procs' "$SBX/trace"
}}
docker_read unexplained  # the lxc and conmon processes' namespaces
kill $pid_lxc $pid_lxcsub $pid_conmon; wait $pid_lxc $pid_lxcsub $pid_conmon 2>/dev/null
docker_read explained
hold "$T.slice/docker-{docker}.scope" nested
sleep 0.3
echo "FACT ino$pid_nested $(stat -L -c %i /proc/$pid_nested/ns/net)"
docker_read nested
echo "=== end"
"#,
        rnetns = sandbox::shell_quote(RNETNS),
        me = std::process::id(),
        docker = DOCKER_ID,
        conmon = CONMON_ID,
    )
}

fn cgroup_walk_and_per_process_reads_place_the_same_containers() {
    let text = sandbox::run_checked("runtimes-cgroups", &script()).expect(skip::IN_PRIVILEGED);
    let fact = |k: &str| -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("FACT {k} ")))
            .unwrap_or_else(|| panic!("no fact {k}:\n{text}"))
            .to_string()
    };
    let section = |name: &str| -> String {
        let start = text.find(&format!("=== {name}\n")).expect(name) + name.len() + 5;
        let end = text[start..].find("=== ").map_or(text.len(), |e| start + e);
        text[start..end].to_string()
    };
    // The host's pids differ by the shell that runs the second way.
    let hostless = |s: &str| -> String {
        let key = r#""runtime":"host","pids":["#;
        let at = s.find(key).expect("host entry") + key.len();
        let end = at + s[at..].find(']').expect("pids end");
        format!("{}{}", &s[..at], &s[end..])
    };
    let walk = section("walk");
    let procs = section("procs");
    assert_eq!(
        hostless(&walk),
        hostless(&procs),
        "the walk and the per-process reads differ"
    );
    // The walk read cgroup.procs (one per container cgroup) and no
    // /proc/PID/cgroup; without the hierarchy, the other way round.
    let counts = |s: &str| -> Vec<u32> { s.lines().map(|l| l.trim().parse().unwrap()).collect() };
    let walked = counts(&section("walk-trace"));
    assert!(walked[0] >= 3 && walked[1] == 0, "walk trace: {walked:?}");
    let read = counts(&section("procs-trace"));
    assert!(read[0] == 0 && read[1] > 0, "per-process trace: {read:?}");

    let me = std::process::id();
    let entry = |who: &str, containers: &str| {
        let pid = fact(who);
        let ino = fact(&format!("ino{pid}"));
        format!(r#"{{"inode":{ino},{containers}"pids":[{pid}],"stale":false}}"#)
    };
    let name = format!("rnetns-test-{me}");
    let lxc = format!(
        r#""runtime":"lxc","containers":[{{"id":"{name}","name":"{name}","runtime":"lxc"}}],"#
    );
    let docker =
        format!(r#""runtime":"docker","containers":[{{"id":"{DOCKER_ID}","runtime":"docker"}}],"#);
    for (who, containers) in [
        ("lxc", lxc.as_str()),
        ("lxcsub", lxc.as_str()),
        ("docker", docker.as_str()),
        ("conmon", r#""runtime":"process","#),
    ] {
        let want = entry(who, containers);
        assert!(walk.contains(&want), "missing {want}\nin {walk}");
    }
    assert!(walk.ends_with("]\nrc=0\n"), "{walk}");

    // Docker's state places the docker scope's container; its cgroup is
    // read only while some namespace is unexplained (the lxc ones, then a
    // second process of the container in a namespace of its own).
    let dk = format!(r#""containers":[{{"id":"{DOCKER_ID}","name":"dk","runtime":"docker"}}],"#);
    let sandbox = format!(
        r#"{{"inode":{},"paths":["/run/docker/netns/abcdef123456"],"runtime":"docker",{dk}"pids":[{}],"stale":false}}"#,
        fact(&format!("ino{}", fact("docker"))),
        fact("docker")
    );
    for (part, reads) in [
        ("unexplained", true),
        ("explained", false),
        ("nested", true),
    ] {
        let out = section(part);
        let (json, count) = out
            .split_once("rc=0\n")
            .unwrap_or_else(|| panic!("{part}: {out}"));
        assert!(
            json.contains(&sandbox),
            "{part}: missing {sandbox}\nin {json}"
        );
        let count: u32 = count
            .lines()
            .next()
            .and_then(|l| l.parse().ok())
            .expect(part);
        assert_eq!(
            count > 0,
            reads,
            "{part}: docker scope's cgroup.procs read {count} times"
        );
    }
    let nested = fact("nested");
    let want = format!(
        r#"{{"inode":{},"runtime":"docker",{dk}"pids":[{nested}],"stale":false}}"#,
        fact(&format!("ino{nested}"))
    );
    assert!(
        section("nested").contains(&want),
        "missing {want}\nin {}",
        section("nested")
    );
}

/// Each privileged test is reported as ignored where no sandbox can be
/// built (a failure under `CI=true`): tests/support/skip.rs.
fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let trials = skip::privileged_all(&named![
        cgroup_walk_and_per_process_reads_place_the_same_containers,
    ]);
    libtest_mimic::run(&args, trials).exit();
}
