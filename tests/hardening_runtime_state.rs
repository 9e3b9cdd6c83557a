//! Hostile runtime state files: a table of rows, each in its own
//! sandbox (tests/support/sandbox.rs, plus a tmpfs over /var/lib) holding
//! one good container per runtime and one state file replaced by something
//! hostile: truncated, 100 MiB (sparse), wrongly typed, 100,000 nested
//! arrays, non-UTF-8, a symlink out of its root (to /etc/shadow, into
//! /proc/self, a relative `../..` escape), a FIFO, a directory or a
//! character device. For each row `list --all-runtimes` and its `-j` form
//! exit 0 within a bound, never panic, note the skipped file on stderr,
//! still place every good container with its runtime, never name the
//! hostile file's container or put it in the wrong namespace, and leave the
//! runtime roots exactly as they were (discovery never writes).

#[path = "support/sandbox.rs"]
mod sandbox;
#[path = "support/skip.rs"]
mod skip;

use serde_json::Value;

const RNETNS: &str = env!("CARGO_BIN_EXE_rnetns");

const D_GOOD: &str = "d0000000000000000000000000000000000000000000000000000000000000d1";
const D_EVIL: &str = "d0000000000000000000000000000000000000000000000000000000000000e1";
const P_GOOD: &str = "a0000000000000000000000000000000000000000000000000000000000000d2";
const P_POD: &str = "e0000000000000000000000000000000000000000000000000000000000000d6";
const P_EVIL: &str = "a0000000000000000000000000000000000000000000000000000000000000e2";
const C_GOOD: &str = "c0000000000000000000000000000000000000000000000000000000000000d3";
const O_GOOD: &str = "b0000000000000000000000000000000000000000000000000000000000000d4";
const O_EVIL: &str = "b0000000000000000000000000000000000000000000000000000000000000e4";
const CRIO_NS: &str = "5b1a2c3d-0000-4000-8000-00000000abcd";
const PODMAN_NS: &str = "netns-b78918e6-6381-c330-b870-4a88b0047acb";
const CNI_NS: &str = "cni-04cec250-78f9-8bce-c762-43fc60d4f87c";

/// A state file a row replaces, and a well-formed hostile version of it
/// (which, if it were trusted, would put "evil" somewhere it must not be).
struct Target {
    tag: &'static str,
    path: String,
    evil: String,
    wrong_types: Vec<String>,
}

fn targets() -> Vec<Target> {
    let victim = r#"[{"type":"network","path":"/run/netns/victim"}]"#;
    vec![
        Target {
            tag: "docker config.v2.json",
            path: format!("/var/lib/docker/containers/{D_EVIL}/config.v2.json"),
            evil: format!(
                r#"{{"ID":"{D_EVIL}","Name":"/evil","State":{{"Running":true,"Pid":1}},"NetworkSettings":{{"SandboxKey":"/var/run/docker/netns/0123456789ab"}}}}"#
            ),
            wrong_types: vec![
                format!(r#"{{"ID":"{D_EVIL}","Name":"/evil","State":"yes","NetworkSettings":{{"SandboxKey":"/var/run/docker/netns/0123456789ab"}}}}"#),
                format!(r#"{{"ID":"{D_EVIL}","Name":"/evil","State":{{"Running":"true","Pid":"12"}},"NetworkSettings":{{"SandboxKey":"/var/run/docker/netns/0123456789ab"}}}}"#),
                // Another container's id: never this directory's container.
                format!(r#"{{"ID":"{D_GOOD}","Name":"/evil","State":{{"Running":true,"Pid":0}},"NetworkSettings":{{"SandboxKey":"/var/run/docker/netns/0123456789ab"}}}}"#),
                format!(r#"{{"ID":["{D_EVIL}"],"Name":{{"evil":1}},"State":{{"Running":true,"Pid":1.5}},"NetworkSettings":[]}}"#),
            ],
        },
        Target {
            tag: "podman userdata/config.json",
            path: format!(
                "/var/lib/containers/storage/overlay-containers/{P_EVIL}/userdata/config.json"
            ),
            evil: format!(
                r#"{{"annotations":{{"io.container.manager":"libpod"}},"linux":{{"cgroupsPath":"/libpod_parent/evil/libpod-{P_EVIL}","namespaces":{victim}}}}}"#
            ),
            wrong_types: vec![
                r#"{"annotations":{"io.container.manager":"libpod"},"linux":{"namespaces":{}}}"#.into(),
                format!(r#"{{"annotations":{{"io.container.manager":["libpod"]}},"linux":{{"namespaces":{victim}}}}}"#),
                r#"{"annotations":{"io.container.manager":"libpod"},"linux":{"cgroupsPath":7,"namespaces":[{"type":"network","path":12}]}}"#.into(),
                // A spec path that climbs out of the run dir.
                r#"{"annotations":{"io.container.manager":"libpod"},"linux":{"namespaces":[{"type":"network","path":"/run/netns/../../proc/1/ns/net"}]}}"#.into(),
            ],
        },
        Target {
            tag: "podman containers.json",
            path: "/var/lib/containers/storage/overlay-containers/containers.json".into(),
            evil: format!(r#"[{{"id":"{P_GOOD}","names":["evil"]}}]"#),
            wrong_types: vec![
                format!(r#"{{"id":"{P_GOOD}","names":["evil"]}}"#),
                format!(r#"[{{"id":"{P_GOOD}","names":"evil"}},{{"id":7,"names":["evil"]}},"evil",null]"#),
            ],
        },
        Target {
            tag: "containerd task config.json",
            path: "/run/containerd/io.containerd.runtime.v2.task/k8s.io/evil/config.json".into(),
            evil: format!(
                r#"{{"annotations":{{"io.kubernetes.cri.container-type":"sandbox","io.kubernetes.cri.sandbox-name":"evil"}},"linux":{{"namespaces":{victim}}}}}"#
            ),
            wrong_types: vec![
                r#"{"annotations":"evil","linux":{"namespaces":{}}}"#.into(),
                r#"{"annotations":{"io.kubernetes.cri.sandbox-name":["evil"]},"linux":{"namespaces":[{"type":"network","path":["/run/netns/victim"]}]}}"#.into(),
            ],
        },
        Target {
            tag: "CRI-O config.json",
            path: format!("/run/containers/storage/overlay-containers/{O_EVIL}/userdata/config.json"),
            evil: format!(
                r#"{{"annotations":{{"io.kubernetes.cri-o.ContainerType":"sandbox","io.kubernetes.pod.name":"evil"}},"linux":{{"namespaces":{victim}}}}}"#
            ),
            wrong_types: vec![
                r#"{"annotations":{"io.kubernetes.cri-o.ContainerType":"sandbox","io.kubernetes.pod.name":7},"linux":{"namespaces":{}}}"#.into(),
                format!(r#"{{"annotations":{{"io.kubernetes.cri-o.ContainerType":1,"io.kubernetes.pod.name":"evil"}},"linux":{{"namespaces":{victim}}}}}"#),
            ],
        },
    ]
}

/// What a row does to its target and the note it must cause.
struct Row {
    what: String,
    path: String,
    /// Bytes written to $SBX/payload for the setup to copy.
    payload: Vec<u8>,
    setup: String,
    note: Option<&'static str>,
}

const MALFORMED: Option<&str> = Some("malformed JSON");
const OUTSIDE: Option<&str> = Some("it leads outside its runtime's directory");
const NOT_FILE: Option<&str> = Some("not a regular file");

fn table() -> Vec<Row> {
    let mut rows = Vec::new();
    for t in targets() {
        let p = sandbox::shell_quote(&t.path);
        let mut add = |what: &str, payload: Vec<u8>, setup: String, note| {
            rows.push(Row {
                what: format!("{}: {what}", t.tag),
                path: t.path.clone(),
                payload,
                setup,
                note,
            })
        };
        let cp = format!(r#"cp "$SBX/payload" {p}"#);
        let half = t.evil.as_bytes()[..t.evil.len() / 2].to_vec();
        add("truncated", half, cp.clone(), MALFORMED);
        add("empty", Vec::new(), cp.clone(), MALFORMED);
        add(
            "100 MiB sparse",
            Vec::new(),
            format!("truncate -s 100M {p}"),
            Some("larger than 16777216 bytes"),
        );
        let deep = [vec![b'['; 100_000], vec![b']'; 100_000]].concat();
        add("100,000 nested arrays", deep, cp.clone(), MALFORMED);
        let bad = t.evil.replace("evil", "ev\u{1}il").into_bytes();
        let bad: Vec<u8> = bad.iter().map(|&b| if b == 1 { 0xff } else { b }).collect();
        add("non-UTF-8 bytes", bad, cp.clone(), MALFORMED);
        for (i, w) in t.wrong_types.iter().enumerate() {
            add(
                &format!("wrong types {i}"),
                w.clone().into_bytes(),
                cp.clone(),
                None,
            );
        }
        add(
            "symlink to /etc/shadow",
            Vec::new(),
            format!("ln -s /etc/shadow {p}"),
            OUTSIDE,
        );
        add(
            "symlink to /proc/self/environ",
            Vec::new(),
            format!("ln -s /proc/self/environ {p}"),
            OUTSIDE,
        );
        add(
            "relative symlink out of the root",
            Vec::new(),
            format!("ln -s ../../../../../../../../etc/passwd {p}"),
            OUTSIDE,
        );
        add("FIFO", Vec::new(), format!("mkfifo {p}"), NOT_FILE);
        add("directory", Vec::new(), format!("mkdir {p}"), NOT_FILE);
        add(
            "character device (/dev/zero)",
            Vec::new(),
            format!("mknod {p} c 1 5"),
            NOT_FILE,
        );
    }
    // Files discovery does not read: nothing to note, nothing changes.
    let hc = format!("/var/lib/docker/containers/{D_GOOD}/hostconfig.json");
    for (what, setup) in [
        ("100 MiB sparse", format!("truncate -s 100M {hc}")),
        ("FIFO", format!("mkfifo {hc}")),
        ("symlink to /etc/shadow", format!("ln -s /etc/shadow {hc}")),
    ] {
        rows.push(Row {
            what: format!("docker hostconfig.json: {what}"),
            path: hc.clone(),
            payload: Vec::new(),
            setup,
            note: None,
        });
    }
    let bolt = "/var/lib/containers/storage/libpod/bolt_state.db";
    let escapes = [
        (
            "docker container directory: symlink to /",
            format!("/var/lib/docker/containers/{D_EVIL}/config.v2.json"),
            format!("rm -r /var/lib/docker/containers/{D_EVIL} && ln -s / /var/lib/docker/containers/{D_EVIL}"),
            OUTSIDE,
        ),
        (
            "containerd namespace directory: symlink to /etc",
            "/run/containerd/io.containerd.runtime.v2.task/evilns".into(),
            "ln -s /etc /run/containerd/io.containerd.runtime.v2.task/evilns".into(),
            OUTSIDE,
        ),
        (
            "podman bolt_state.db: FIFO",
            bolt.into(),
            format!("rm -f {bolt} && mkfifo {bolt}"),
            NOT_FILE,
        ),
        (
            "podman bolt_state.db: 100 MiB sparse",
            bolt.into(),
            format!("mkdir -p /var/lib/containers/storage/libpod && truncate -s 100M {bolt}"),
            Some("larger than 16777216 bytes"),
        ),
        (
            // Podman's pidfile is a hint (the spec's path places the
            // container); a bad one is passed over without a note.
            "podman pidfile: FIFO",
            format!("/run/containers/storage/overlay-containers/{P_GOOD}/userdata/pidfile"),
            format!("mkdir -p /run/containers/storage/overlay-containers/{P_GOOD}/userdata && mkfifo /run/containers/storage/overlay-containers/{P_GOOD}/userdata/pidfile"),
            None,
        ),
    ];
    for (what, path, setup, note) in escapes {
        rows.push(Row {
            what: what.into(),
            path,
            payload: Vec::new(),
            setup,
            note,
        });
    }
    let pid = format!("/run/containerd/io.containerd.runtime.v2.task/k8s.io/{C_GOOD}/init.pid");
    rows.push(Row {
        what: "containerd init.pid: FIFO".into(),
        path: pid.clone(),
        payload: Vec::new(),
        setup: format!("mkfifo {pid}"),
        note: NOT_FILE,
    });
    rows
}

/// The good containers every row must still find, and the victim
/// namespace the hostile files point at, which must stay unowned.
fn baseline() -> String {
    sandbox::with_vars(
        &[
            ("CNI_NS", CNI_NS),
            ("CRIO_NS", CRIO_NS),
            ("C_GOOD", C_GOOD),
            ("D_EVIL", D_EVIL),
            ("D_GOOD", D_GOOD),
            ("O_EVIL", O_EVIL),
            ("O_GOOD", O_GOOD),
            ("PODMAN_NS", PODMAN_NS),
            ("P_EVIL", P_EVIL),
            ("P_GOOD", P_GOOD),
            ("P_POD", P_POD),
        ],
        include_str!("scripts/runtime_state_baseline.sh"),
    )
}

fn script(row: &Row) -> String {
    format!(
        r#"{base}
rm -f {path}
{setup} || exit 88
R={rnetns}
snap() {{ find /run /var/lib -printf '%p %y %s %T@ %m %l\n' | LC_ALL=C sort; }}
snap >"$SBX/before"
timeout -k 2 20 $R list --all-runtimes >"$SBX/plain.out" 2>"$SBX/plain.err"; echo "plain rc=$?"
timeout -k 2 20 $R -j list --all-runtimes >"$SBX/json.out" 2>"$SBX/json.err"; echo "json rc=$?"
snap >"$SBX/after"
diff "$SBX/before" "$SBX/after" && echo unchanged
"#,
        base = baseline(),
        setup = row.setup,
        path = sandbox::shell_quote(&row.path),
        rnetns = sandbox::shell_quote(RNETNS),
    )
}

/// The namespace whose run-dir names include `name`.
fn ns_named<'a>(list: &'a [Value], name: &str) -> Option<&'a Value> {
    list.iter().find(|n| {
        n["names"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == name))
    })
}

fn check(i: usize, row: &Row) -> Result<(), String> {
    let dir = sandbox::scratch_root()
        .join("runtime-state")
        .join(i.to_string());
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("payload"), &row.payload).map_err(|e| e.to_string())?;
    let out = sandbox::run_script(&dir, &script(row)).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let read = |f: &str| {
        String::from_utf8_lossy(&std::fs::read(dir.join(f)).unwrap_or_default()).into_owned()
    };
    let ctx = || {
        format!(
            "{text}{}\nplain:\n{}{}\njson:\n{}{}",
            String::from_utf8_lossy(&out.stderr),
            read("plain.out"),
            read("plain.err"),
            read("json.out"),
            read("json.err")
        )
    };
    let fail = |why: &str| Err(format!("{why}\n{}", ctx()));
    if !out.status.success() {
        return fail("script failed");
    }
    if !text.contains("plain rc=0\n") || !text.contains("json rc=0\n") {
        return fail("not exit 0 within the bound");
    }
    if !text.contains("unchanged\n") {
        return fail("the runtime roots changed");
    }
    let want = row
        .note
        .map(|n| format!("rnetns: note: skipping {}: {n}", row.path));
    for err in [read("plain.err"), read("json.err")] {
        if err.lines().any(|l| !l.starts_with("rnetns: note: ")) {
            return fail("stderr holds more than notes");
        }
        match &want {
            Some(w) if !err.lines().any(|l| l == w) => return fail(&format!("no note `{w}`")),
            None if err.contains(&row.path) => return fail("a note for a file not skipped"),
            _ => {}
        }
    }
    for o in [read("plain.out"), read("json.out")] {
        for bad in ["evil", D_EVIL, P_EVIL, O_EVIL] {
            if o.contains(bad) {
                return fail(&format!("output names {bad}"));
            }
        }
    }
    let json = read("json.out");
    let list: Vec<Value> = match serde_json::from_str(&json) {
        Ok(v) => v,
        Err(e) => return fail(&format!("-j output is not JSON: {e}")),
    };
    for (name, runtime, id) in [
        ("dgood", "docker", D_GOOD),
        (PODMAN_NS, "podman", P_GOOD),
        (CNI_NS, "containerd", C_GOOD),
        (CRIO_NS, "cri-o", O_GOOD),
    ] {
        let Some(ns) = ns_named(&list, name) else {
            return fail(&format!("{name} not listed"));
        };
        let ids: Vec<&str> = ns["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["id"].as_str())
            .collect();
        if ns["runtime"] != runtime || ids != [id] {
            return fail(&format!("{name}: want {runtime} with {id}"));
        }
    }
    // The pod's name comes from bolt_state.db, unless a row broke that file.
    let pod = ns_named(&list, PODMAN_NS).map(|ns| ns["containers"][0]["pod"].clone());
    let want = if row.path.ends_with("bolt_state.db") {
        Value::from(&P_POD[..12])
    } else {
        Value::from("goodpod")
    };
    if pod != Some(want.clone()) {
        return fail(&format!("{PODMAN_NS}: want pod {want}, got {pod:?}"));
    }
    match ns_named(&list, "victim") {
        Some(v) if v["runtime"] == "iproute2" && v.get("containers").is_none() => Ok(()),
        _ => fail("the victim namespace gained an owner"),
    }
}

fn hostile_runtime_state_files_are_skipped_with_a_note() {
    let rows = table();
    assert!(rows.len() >= 20, "only {} rows", rows.len());
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = rows
            .chunks(rows.len().div_ceil(8))
            .enumerate()
            .map(|(c, chunk)| {
                let base = c * rows.len().div_ceil(8);
                s.spawn(move || {
                    chunk
                        .iter()
                        .enumerate()
                        .filter_map(|(j, r)| {
                            check(base + j, r)
                                .err()
                                .map(|e| format!("row {} ({}): {e}", base + j, r.what))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    eprintln!("{} rows tried, {} failed", rows.len(), failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Each privileged test is reported as ignored where no sandbox can be
/// built (a failure under `CI=true`): tests/support/skip.rs.
fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let trials =
        skip::privileged_all(&named![hostile_runtime_state_files_are_skipped_with_a_note,]);
    libtest_mimic::run(&args, trials).exit();
}
