//! README "Trust" (and README "Bounded reads"): names a user controls never steer
//! root. In a throwaway sandbox (tests/support/sandbox.rs, with private
//! copies of /etc, /run, /var/lib and /home), an unprivileged user,
//! mallory (uid 1001), writes rootless podman state the way a hostile user
//! would: a container `web` whose pidfile names a root process in the root
//! namespace `prod` (sitting in a cgroup whose path holds web's id, as a
//! docker container's process would), a container `db` whose spec path is
//! that process's `/proc/PID/ns/net`, a container `kt` whose pidfile names
//! a root process in root cgroups only (what a kernel thread such as PID 2
//! looks like), and a bind of the host's own namespace into her netns dir.
//! Her real rootless namespace, made by her as an unprivileged user
//! (`setpriv --reuid 1001 unshare -Urm`, then `unshare -n`), holds her
//! containers `mine` and `dup`; rootful podman has a `dup` too. Names with
//! control bytes are planted in the table's every column a user writes.
//! The cgroups are the host's (cgroupfs is not namespaced here): they
//! carry this test's PID in their names and are removed at the end.

#[path = "support/rng.rs"]
mod rng;
#[path = "support/sandbox.rs"]
mod sandbox;
#[path = "support/skip.rs"]
mod skip;

use serde_json::Value;
use std::collections::HashMap;

const RNETNS: &str = env!("CARGO_BIN_EXE_rnetns");

const WEB: &str = "a0a0000000000000000000000000000000000000000000000000000000000001";
const DB: &str = "b0b0000000000000000000000000000000000000000000000000000000000002";
const KT: &str = "c0c0000000000000000000000000000000000000000000000000000000000003";
const MINE: &str = "d0d0000000000000000000000000000000000000000000000000000000000004";
const DUP_ROOT: &str = "e0e0000000000000000000000000000000000000000000000000000000000005";
const DUP_USER: &str = "f0f0000000000000000000000000000000000000000000000000000000000006";
const ESC: &str = "1e1e000000000000000000000000000000000000000000000000000000000007";
const EVIL: &str = "2e2e000000000000000000000000000000000000000000000000000000000008";
const CACHE: &str = "3c3c000000000000000000000000000000000000000000000000000000000009";
const CACHE_USER: &str = "4c4c00000000000000000000000000000000000000000000000000000000000a";

fn script() -> String {
    sandbox::with_vars(
        &[
            ("RNETNS", RNETNS),
            ("WEB", WEB),
            ("DB", DB),
            ("KT", KT),
            ("MINE", MINE),
            ("DUP_ROOT", DUP_ROOT),
            ("DUP_USER", DUP_USER),
            ("ESC", ESC),
            ("EVIL", EVIL),
            ("CACHE", CACHE),
            ("CACHE_USER", CACHE_USER),
        ],
        &[
            include_str!("scripts/cgroup_hierarchy.sh"),
            include_str!("scripts/trust.sh"),
        ]
        .concat(),
    )
}

struct Run {
    facts: HashMap<String, String>,
    sections: HashMap<String, String>,
    views: std::path::PathBuf,
}

fn run() -> Run {
    let text = sandbox::run_checked("trust", &script()).expect(skip::IN_PRIVILEGED);
    let sandbox::Report { facts, sections } = sandbox::Report::parse(&text);
    let views = sandbox::scratch_root().join("trust").join("views");
    Run {
        facts,
        sections,
        views,
    }
}

fn ns<'a>(list: &'a [Value], ino: &str) -> &'a Value {
    let ino: u64 = ino.parse().unwrap();
    list.iter()
        .find(|n| n["inode"].as_u64() == Some(ino))
        .unwrap_or_else(|| panic!("no namespace {ino} in {list:?}"))
}

fn names(n: &Value) -> Vec<String> {
    n["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| Some(c.get("name")?.as_str()?.to_string()))
        .collect()
}

fn trust_a_users_state_speaks_only_for_that_user() {
    let r = run();
    let f = &r.facts;
    let s = &r.sections;
    let json = s["json"].strip_suffix("rc=0\n").expect(&s["json"]);
    let list: Vec<Value> = serde_json::from_str(json).unwrap();

    // The plants attach nothing to root's namespaces.
    let prod = ns(&list, &f["prodino"]);
    let host = ns(&list, &f["hostino"]);
    for n in [prod, host] {
        for planted in ["web", "db", "kt", "dup", "mine"] {
            assert!(!names(n).iter().any(|x| x.starts_with(planted)), "{n}");
        }
        assert!(n.get("owner_uid").is_none(), "{n}");
        // The host's namespace bound into mallory's netns dir does not
        // relabel it (README "Bounded reads").
        assert!(!n.to_string().contains("netns-host"), "{n}");
    }
    assert_eq!(host["runtime"], "host");
    assert_eq!(prod["runtime"], "iproute2");
    // Her docker.pid names a process of hers in a netns root made: that
    // does not make root's namespace her rootless docker's (only a netns
    // she made is).
    let rooted = ns(&list, &f["mhino"]);
    assert_eq!(rooted["runtime"], "process", "{rooted}");
    assert!(rooted.get("owner_uid").is_none(), "{rooted}");
    let pids = rooted["pids"].as_array().unwrap();
    let mh: u64 = f["mh"].parse().unwrap();
    assert!(pids.iter().any(|p| p.as_u64() == Some(mh)), "{rooted}");
    assert!(!list.iter().any(|n| n["runtime"] == "docker"), "{json}");
    assert!(!json.contains("netns-host"), "{json}");

    // Positive control: her real rootless namespace is found and named,
    // and labelled as hers.
    let mine = ns(&list, &f["mineino"]);
    assert_eq!(mine["runtime"], "podman", "{mine}");
    assert_eq!(mine["owner_uid"], 1001, "{mine}");
    let mut got = names(mine);
    got.sort();
    assert_eq!(got, ["\u{1b}[2Jx", "cache", "dup", "mine"], "{mine}");
    let pause = &f["pause"];
    assert!(
        mine["paths"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == &format!("/proc/{pause}/root/run/user/1001/netns/netns-mine")),
        "{mine}"
    );
    // A process of hers in a cgroup named after root's stopped `cache`
    // is hers: not named `cache`, and `podman:cache` does not enter it.
    let m2 = ns(&list, &f["m2ino"]);
    assert_eq!(m2["owner_uid"], 1001, "{m2}");
    assert_eq!(m2["containers"][0]["id"], CACHE, "{m2}");
    assert!(names(m2).is_empty(), "{m2}");
    // Her running `cache` is not taken for root's stopped one.
    assert_eq!(
        s["exec-cache"],
        format!(
            "rnetns: podman:cache is ambiguous: it matches 2 containers: cache ({}, root, stopped), cache ({}, uid 1001 (mallory)); name one as podman:USER/NAME\nrc=1\n",
            &CACHE[..12],
            &CACHE_USER[..12]
        )
    );
    let rootdup = ns(&list, &f["rootdupino"]);
    assert_eq!(names(rootdup), ["dup"]);
    assert!(rootdup.get("owner_uid").is_none());

    // One specific note for what was ignored.
    let err = &s["json-err"];
    assert!(
        err.contains(
            "rnetns: note: ignoring uid 1001's podman state for 4 containers (evil\\x1b]0;pwned\\x07, web, db, kt) and 1 namespace path: their processes or namespaces are not that user's\n"
        ),
        "{err}"
    );

    // Root's references never enter what a plant points at.
    for planted in ["web", "db", "kt"] {
        let out = &s[&format!("exec-{planted}")];
        assert!(!out.contains("RAN"), "{planted}: {out}");
        assert!(out.ends_with("rc=255\n"), "{planted}: {out}");
        assert!(
            out.contains(&format!("rnetns: podman container \"{planted}")),
            "{planted}: {out}"
        );
        assert!(
            out.contains("of uid 1001 (mallory) is not believed"),
            "{out}"
        );
    }
    assert!(s["attach-web"].contains("rc=1\n"), "{}", s["attach-web"]);
    assert!(!s["attach-web"].contains("stolen"), "{}", s["attach-web"]);
    assert_eq!(s["exec-mine"], format!("{}\nrc=0\n", f["mineino"]));

    // The same name rootful and rootless: an error listing both owners.
    let dup = &s["exec-dup"];
    assert!(!dup.contains("RAN"), "{dup}");
    assert!(
        dup.ends_with(&format!(
            "rnetns: podman:dup is ambiguous: it matches 2 containers: dup ({}, uid 1001 (mallory)), dup ({}, root); name one as podman:USER/NAME\nrc=1\n",
            &DUP_USER[..12],
            &DUP_ROOT[..12]
        )) || dup.ends_with(&format!(
            "rnetns: podman:dup is ambiguous: it matches 2 containers: dup ({}, root), dup ({}, uid 1001 (mallory)); name one as podman:USER/NAME\nrc=1\n",
            &DUP_ROOT[..12],
            &DUP_USER[..12]
        )),
        "{dup}"
    );
    assert!(s["pids-dup"].ends_with("rc=1\n"), "{}", s["pids-dup"]);
    assert_eq!(s["exec-user-dup"], format!("{}\nrc=0\n", f["mineino"]));
    assert_eq!(s["exec-uid-dup"], format!("{}\nrc=0\n", f["mineino"]));
    assert_eq!(s["exec-root-dup"], format!("{}\nrc=0\n", f["rootdupino"]));
    // As `ip`, a name with `/` stays invalid (spec 3.3).
    assert_eq!(
        s["ip-qualified"],
        "Invalid netns name \"podman:mallory/dup\"\nrc=255\n"
    );

    // The plain table says whose it is, escaped.
    let plain = &s["plain"];
    let row = plain
        .lines()
        .find(|l| l.starts_with(&f["mineino"]))
        .expect(plain);
    assert!(row.contains("podman (uid 1001)"), "{row}");
    assert!(row.contains("\\x1b[2Jx ("), "{row}");
    assert!(row.contains("/netns/x\\x1b[2J\\x07"), "{row}");
    // Widths are those of the escaped text: every row's CONTAINERS column
    // starts where the header's does.
    let header = plain.lines().next().unwrap();
    let col = header.find("CONTAINERS").unwrap();
    for l in plain.lines().skip(1) {
        assert_eq!(&l[col - 2..col], "  ", "{l}");
        assert_ne!(l.as_bytes()[col], b' ', "{l}");
    }
    assert!(
        s["near"].contains("did you mean \"mallory/\\x1b[2Jx\"?"),
        "{}",
        s["near"]
    );

    // No control byte but \t and \n reaches stdout or stderr of a plain
    // view.
    let mut seen = 0;
    for e in std::fs::read_dir(&r.views).unwrap() {
        let p = e.unwrap().path();
        let bytes = std::fs::read(&p).unwrap();
        seen += 1;
        assert!(
            !bytes
                .iter()
                .any(|&b| (b < 0x20 && b != b'\t' && b != b'\n') || b == 0x7f),
            "{}: {}",
            p.display(),
            String::from_utf8_lossy(&bytes).escape_debug()
        );
    }
    assert_eq!(seen, 12);
}

/// README "Tests": a docker/podman reference that matches nothing says
/// why, with the exit status `ip netns` gives a missing name.
fn trust_references_that_match_nothing_say_why() {
    let body = format!(
        r#"
R={rnetns}
mount -t tmpfs sbx-varlib /var/lib || exit 89
echo "=== nodocker"; $R exec docker:foo true 2>&1; echo "rc=$?"
echo "=== nopodman"; $R pids podman:foo 2>&1; echo "rc=$?"
C=/var/lib/docker/containers
mkdir -p $C/{web} $C/{old}
unshare -n sleep 1000 & D=$!; sleep 0.2
mkdir -p /run/docker/netns && touch /run/docker/netns/0123456789ab
mount --bind /proc/$D/ns/net /run/docker/netns/0123456789ab
echo '{{"ID":"{web}","Name":"/web","State":{{"Running":true,"Pid":'$D'}},"NetworkSettings":{{"SandboxKey":"/var/run/docker/netns/0123456789ab"}}}}' >$C/{web}/config.v2.json
echo '{{"ID":"{old}","Name":"/old","State":{{"Running":false,"Pid":0}}}}' >$C/{old}/config.v2.json
echo "=== foo"; $R exec docker:foo true 2>&1; echo "rc=$?"
echo "=== near"; $R pids docker:wbe 2>&1; echo "rc=$?"
echo "=== stopped"; $R exec docker:old true 2>&1; echo "rc=$?"
echo "=== set"; $R set docker:old 5 2>&1; echo "rc=$?"
echo "=== identify"; $R identify docker:foo 2>&1; echo "rc=$?"
echo "=== found"; $R exec docker:web true 2>&1; echo "rc=$?"
kill $D
"#,
        rnetns = sandbox::shell_quote(RNETNS),
        web = WEB,
        old = DB,
    );
    let text = sandbox::run_checked("trust-refs", &body).expect(skip::IN_PRIVILEGED);
    let want = "\
=== nodocker
rnetns: docker state not found at /var/lib/docker (is docker installed here?)
rc=255
=== nopodman
rnetns: podman state not found at /var/lib/containers/storage (is podman installed here?)
rc=1
=== foo
rnetns: no docker container named \"foo\" (2 containers in /var/lib/docker; none matches)
rc=255
=== near
rnetns: no docker container named \"wbe\" (2 containers in /var/lib/docker; none matches); did you mean \"web\"?
rc=1
=== stopped
rnetns: docker container \"old\" is stopped: it has no network namespace
rc=255
=== set
rnetns: docker container \"old\" is stopped: it has no network namespace
rc=1
=== identify
rnetns: no docker container named \"foo\" (2 containers in /var/lib/docker; none matches)
rc=1
=== found
rc=0
";
    assert_eq!(text, want);
}

/// README "Trust", fuzzing: the `runtime_state` seeds with hostile names (and
/// seeded mutations of every seed) render a plain table with no control
/// byte, as the fuzz target asserts for any input.
fn trust_hostile_state_names_render_escaped() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/runtime_state");
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (p.display().to_string(), std::fs::read(&p).unwrap())
        })
        .collect();
    seeds.sort();
    let hostile: Vec<_> = seeds
        .iter()
        .filter(|(p, _)| p.ends_with("-hostile"))
        .collect();
    assert_eq!(hostile.len(), 3);
    for (p, s) in &hostile {
        // Each hostile seed really names something with control bytes.
        assert!(rnetns::runtimes::parse_state_bytes(s) > 0, "{p}");
        assert!(
            rnetns::cmd::discover::table_of_state_bytes_is_clean(s),
            "{p}"
        );
    }
    // Control bytes spliced into JSON strings of every seed.
    let mut rng = rng::Rng::new(0x7275_7374);
    let pieces: [&[u8]; 6] = [
        b"\\u001b", b"\\u0007", b"\\u007f", b"\\n", b"\\u0000", b"\x1b",
    ];
    for i in 0..3000 {
        let (_, s) = &seeds[i % seeds.len()];
        let mut text = s.clone();
        for _ in 0..4 {
            let quotes: Vec<usize> = (0..text.len()).filter(|&j| text[j] == b'"').collect();
            if quotes.is_empty() {
                break;
            }
            let at = quotes[rng.index(quotes.len())] + 1;
            let p = pieces[rng.index(pieces.len())];
            text.splice(at..at, p.iter().copied()).for_each(drop);
        }
        assert!(
            rnetns::cmd::discover::table_of_state_bytes_is_clean(&text),
            "{}",
            String::from_utf8_lossy(&text).escape_debug()
        );
    }
}

/// Ownership follows the tree's owner, not its path: docker state in a
/// `/var/lib/docker` that a user owns (the first owner other than root on
/// the way there) speaks only for that user, so its container placed on a
/// root namespace is ignored, with a note, and `exec docker:web` refuses.
fn trust_a_root_path_that_a_user_owns_is_that_users() {
    let body = format!(
        r#"
R={rnetns}
mount -t tmpfs sbx-varlib /var/lib || exit 89
echo 'mallory:x:1001:1001::/home/mallory:/bin/sh' >>/etc/passwd
ip netns add prod
C=/var/lib/docker/containers
mkdir -p $C/{web} /run/docker/netns
touch /run/docker/netns/0123456789ab /run/docker/netns/default
mount --bind /run/netns/prod /run/docker/netns/0123456789ab
mount --bind /proc/self/ns/net /run/docker/netns/default
echo '{{"ID":"{web}","Name":"/web","State":{{"Running":true,"Pid":1}},"NetworkSettings":{{"SandboxKey":"/var/run/docker/netns/0123456789ab"}}}}' >$C/{web}/config.v2.json
echo "=== root"; $R -j list --all-runtimes 2>&1 | grep -c '"name":"web"'
chown 1001 /var/lib/docker
echo "=== user"; $R -j list --all-runtimes 2>$SBX/err | grep -c '"name":"web"'; cat $SBX/err
echo "=== exec"; $R exec docker:web echo RAN 2>&1; echo "rc=$?"
"#,
        rnetns = sandbox::shell_quote(RNETNS),
        web = WEB,
    );
    let text = sandbox::run_checked("trust-tree", &body).expect(skip::IN_PRIVILEGED);
    let want = "\
=== root
1
=== user
0
rnetns: note: ignoring uid 1001's docker state for 1 container (web) and 2 namespace paths: their processes or namespaces are not that user's
rnetns: note: notes name what could not be read; the rest of the answer is complete and the exit status unchanged (-q silences notes)
=== exec
rnetns: note: ignoring uid 1001's docker state for 1 container (web) and 2 namespace paths: their processes or namespaces are not that user's
rnetns: docker container \"web\" of uid 1001 (mallory) is not believed: its process or namespace is not that user's
rc=255
";
    assert_eq!(text, want);
}

/// Each privileged test is reported as ignored where no sandbox can be
/// built (a failure under `CI=true`): tests/support/skip.rs.
fn main() {
    let args = libtest_mimic::Arguments::from_args();
    #[allow(unused_mut)]
    let mut trials = skip::privileged_all(&named![
        trust_a_users_state_speaks_only_for_that_user,
        trust_references_that_match_nothing_say_why,
        trust_a_root_path_that_a_user_owns_is_that_users,
    ]);
    trials.push(libtest_mimic::Trial::test(
        "trust_hostile_state_names_render_escaped",
        || {
            trust_hostile_state_names_render_escaped();
            Ok(())
        },
    ));
    libtest_mimic::run(&args, trials).exit();
}
