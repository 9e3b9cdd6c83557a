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
    sandbox::with_vars(
        &[
            ("RNETNS", RNETNS),
            ("ME", &std::process::id().to_string()),
            ("DOCKER_ID", DOCKER_ID),
            ("CONMON_ID", CONMON_ID),
        ],
        &[
            include_str!("scripts/cgroup_hierarchy.sh"),
            include_str!("scripts/runtimes_cgroups.sh"),
        ]
        .concat(),
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
    skip::main_privileged(&named![
        cgroup_walk_and_per_process_reads_place_the_same_containers,
    ]);
}
