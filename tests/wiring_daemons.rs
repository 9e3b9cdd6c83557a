//! `list --all-runtimes --links`, `identify --iface` and `graph --dot`
//! (README "See the wiring") against REAL dockerd and podman. Runs in the
//! host mount and network namespaces, because the daemons cannot run in
//! the sandbox; run it under `flock /tmp/rnetns-host.lock` beside other
//! daemon users.
//!
//! It starts dockerd when none is running (tests/support/dockerd.rs: an
//! existing daemon is used and never stopped), and starts, labelled
//! `rnetns-wiring-test=1`: a docker container on the default bridge that is
//! also connected to a user-defined network, one sharing its namespace
//! (`--net=container:`), one with `--net=host`; a podman container on a
//! netavark bridge network of its own, and a pod with a container. For
//! every container, the interfaces rnetns reports (`-j list --all-runtimes
//! --links`, `-j identify --iface HOSTVETH`) must match `ip -j -d link` and
//! `ip -j addr` run in the container's namespace (`nsenter -t PID -n`),
//! and its host-side ends the MACs, addresses and bridges that `docker
//! inspect` / `podman inspect` and their `network inspect` give; the host's
//! own interfaces must match `ip` run here. `graph --dot` must render with
//! Graphviz `dot -Tsvg`.
//!
//! A guard removes exactly what the test created, even when an assertion
//! fails, and the test then checks that no link, nsfs mount, run-dir entry
//! or container cgroup of its own is left. With RNETNS_TOPOLOGY_OUT=DIR it
//! also writes the rendered picture and the plain views there
//! (docs/topology.sh, for the README).
//!
//! Without root, docker, podman, busybox, nsenter or dot, or when dockerd
//! will not start, it is reported as ignored with the reason; under
//! `CI=true` each of these is a failure (with dockerd's log).

#[path = "support/addrs.rs"]
mod addrs;
#[path = "support/daemons.rs"]
mod daemons;
#[path = "support/dockerd.rs"]
mod dockerd;
#[path = "support/run.rs"]
mod run;

use addrs::addr_set;
use daemons::{
    import_busybox, in_ci, ok, podman_conf, state_dir, undo_run_dir, Guard, HostState, IMG,
};
use libtest_mimic::{Arguments, Completion, Failed, Trial};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};

const RNETNS: &str = env!("CARGO_BIN_EXE_rnetns");
const LABEL: &str = "rnetns-wiring-test=1";
const NAME: &str = "docker_and_podman_wiring_matches_inspect_and_ip";
/// This test's directory under `CARGO_TARGET_TMPDIR` (daemons.rs).
const STATE: &str = "rnetns-wiring-daemons";

fn main() {
    let args = Arguments::from_args();
    let trial =
        match daemons::missing(&["docker", "dockerd", "podman", "busybox", "nsenter", "dot"]) {
            Some(why) if in_ci() => {
                Trial::test(NAME, move || Err(format!("CI=true but {why}").into()))
            }
            Some(why) => {
                eprintln!("skipped: {why}");
                Trial::ignorable_test(NAME, move || {
                    Ok(Completion::ignored_with(format!("SKIP: {why}")))
                })
            }
            None => Trial::ignorable_test(NAME, real_daemons),
        };
    libtest_mimic::run(&args, vec![trial]).exit();
}

fn json_of(argv: &[&str]) -> Result<Value, Failed> {
    let text = ok(argv)?;
    serde_json::from_str(&text).map_err(|e| format!("{argv:?}: invalid JSON ({e}): {text}").into())
}

fn ensure(cond: bool, msg: impl FnOnce() -> String) -> Result<(), Failed> {
    if cond {
        Ok(())
    } else {
        Err(msg().into())
    }
}

/// The last lines of dockerd's log, for a failure under CI.
fn dockerd_log() -> String {
    let text = std::fs::read_to_string(state_dir().join("dockerd.err")).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Imports the busybox image into both runtimes and starts the containers.
fn setup() -> Result<(), Failed> {
    podman_conf()?;
    let pimg = import_busybox(&["sh", "sleep"])?;
    let l = ["--label", LABEL];
    ok(&["docker", "network", "create", l[0], l[1], "rnw-net"])?;
    let drun = |name: &str, net: &str| {
        ok(&[
            "docker", "run", "-d", "--init", l[0], l[1], "--name", name, "--net", net, IMG,
        ])
    };
    drun("rnw-d-both", "bridge")?;
    ok(&["docker", "network", "connect", "rnw-net", "rnw-d-both"])?;
    drun("rnw-d-shared", "container:rnw-d-both")?;
    drun("rnw-d-host", "host")?;
    ok(&["podman", "network", "create", l[0], l[1], "rnw-pnet"])?;
    let prun = |name: &str, net: &[&str]| {
        let mut a = vec!["podman", "run", "-d", l[0], l[1], "--name", name];
        a.extend_from_slice(net);
        a.push(&pimg);
        ok(&a)
    };
    prun("rnw-p-net", &["--network", "rnw-pnet"])?;
    ok(&["podman", "pod", "create", l[0], l[1], "--name", "rnw-pod"])?;
    prun("rnw-p-inpod", &["--pod", "rnw-pod"])?;
    Ok(())
}

fn real_daemons() -> Result<Completion, Failed> {
    let before = HostState::now();
    let run_dir_existed = Path::new("/run/netns").exists();
    let mut guard = Guard {
        dockerd: None,
        label: LABEL,
        pod: "rnw-pod",
        podman_net: Some("rnw-pnet"),
        docker_net: "rnw-net",
    };
    match dockerd::Dockerd::ensure(&state_dir()) {
        Ok(d) => guard.dockerd = Some(d),
        Err(e) if in_ci() => {
            return Err(format!("CI=true but {e}:\n{}", dockerd_log()).into());
        }
        Err(e) => {
            eprintln!("skipped: {e}:\n{}", dockerd_log());
            return Ok(Completion::ignored_with(format!("SKIP: {e}")));
        }
    }
    let result = setup().and_then(|()| check());
    drop(guard);
    if !run_dir_existed {
        undo_run_dir();
    }
    let left = before.left_behind();
    result?;
    ensure(left.is_empty(), || format!("left behind: {left}"))?;
    Ok(Completion::Completed)
}

// ------------------------------------------------------------ the checks

/// One container and what its runtime says about it.
struct Ctr {
    tool: &'static str,
    name: &'static str,
    pid: u64,
    ino: u64,
    /// (MAC, IPv4 address, prefix length, host bridge) per network.
    nets: Vec<(String, String, i64, String)>,
}

fn netns_ino(pid: u64) -> Result<u64, Failed> {
    std::fs::metadata(format!("/proc/{pid}/ns/net"))
        .map(|m| m.ino())
        .map_err(|e| format!("/proc/{pid}/ns/net: {e}").into())
}

/// The host bridge of a docker or podman network.
fn bridge_of(tool: &str, net: &str) -> Result<String, Failed> {
    let v = json_of(&[tool, "network", "inspect", net])?;
    let v = &v[0];
    if tool == "podman" {
        return Ok(v["network_interface"]
            .as_str()
            .ok_or_else(|| format!("podman network {net}: no network_interface: {v}"))?
            .into());
    }
    match v["Options"]["com.docker.network.bridge.name"].as_str() {
        Some(b) if !b.is_empty() => Ok(b.into()),
        _ => {
            let id = v["Id"].as_str().ok_or("docker network without Id")?;
            Ok(format!("br-{}", &id[..12]))
        }
    }
}

fn inspect(tool: &'static str, name: &'static str) -> Result<Ctr, Failed> {
    let v = json_of(&[tool, "inspect", name])?;
    let pid = v[0]["State"]["Pid"].as_u64().ok_or("no pid")?;
    let mut nets = Vec::new();
    // A container in a pod has its network through the pod's infra.
    let settings = if tool == "podman" && v[0]["Pod"].as_str().is_some_and(|p| !p.is_empty()) {
        let pod = json_of(&["podman", "pod", "inspect", v[0]["Pod"].as_str().unwrap()])?;
        // podman 4 prints one object, podman 5 an array.
        let pod = if pod.is_array() { pod[0].clone() } else { pod };
        let infra = pod["InfraContainerID"]
            .as_str()
            .ok_or("pod without infra")?;
        json_of(&["podman", "inspect", infra])?[0]["NetworkSettings"].clone()
    } else {
        v[0]["NetworkSettings"].clone()
    };
    if let Some(map) = settings["Networks"].as_object() {
        for (net, n) in map {
            nets.push((
                n["MacAddress"].as_str().unwrap_or_default().to_string(),
                n["IPAddress"].as_str().unwrap_or_default().to_string(),
                n["IPPrefixLen"].as_i64().unwrap_or(-1),
                bridge_of(tool, net)?,
            ));
        }
    }
    Ok(Ctr {
        tool,
        name,
        pid,
        ino: netns_ino(pid)?,
        nets,
    })
}

/// `ip -j -d link` and `ip -j addr`, here (`pid` None) or in the netns
/// of `pid`.
fn oracle(pid: Option<u64>) -> Result<(Value, Value), Failed> {
    let run = |what: &[&str]| {
        let mut argv: Vec<String> = Vec::new();
        if let Some(p) = pid {
            argv.extend(["nsenter", "-t", &p.to_string(), "-n"].map(String::from));
        }
        argv.extend(what.iter().map(|s| s.to_string()));
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        json_of(&argv)
    };
    Ok((
        run(&["ip", "-j", "-d", "link", "show"])?,
        run(&["ip", "-j", "addr", "show"])?,
    ))
}

/// Checks namespace object `obj`'s interfaces against the oracle's: the
/// same ifindexes, every field `ip` shows, the addresses, and where a link
/// leads (its ifindex, and the name of a same-namespace one).
fn same_as_ip(what: &str, obj: &Value, links: &Value, addrs: &Value) -> Result<(), Failed> {
    let got: HashMap<i64, &Value> = obj["interfaces"]
        .as_array()
        .ok_or_else(|| format!("{what}: no interfaces array: {obj}"))?
        .iter()
        .map(|i| (i["ifindex"].as_i64().unwrap_or(-1), i))
        .collect();
    let links = links.as_array().ok_or("ip link: not an array")?;
    ensure(got.len() == links.len(), || {
        format!(
            "{what}: {} interfaces, ip shows {}: {obj}",
            got.len(),
            links.len()
        )
    })?;
    for l in links {
        let idx = l["ifindex"].as_i64().unwrap_or(-2);
        let g = got
            .get(&idx)
            .ok_or_else(|| format!("{what}: no ifindex {idx}"))?;
        let what = format!("{what} {}", l["ifname"]);
        for f in [
            "ifname",
            "mtu",
            "operstate",
            "address",
            "master",
            "link_type",
        ] {
            ensure(g[f] == l[f], || {
                format!("{what}: {f} {} != ip's {}", g[f], l[f])
            })?;
        }
        let (gk, lk) = (&g["linkinfo"]["info_kind"], &l["linkinfo"]["info_kind"]);
        ensure(gk == lk, || format!("{what}: kind {gk} != ip's {lk}"))?;
        let want = addrs
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["ifindex"] == l["ifindex"])
            .map(|a| addr_set(&a["addr_info"]))
            .unwrap_or_default();
        let have = addr_set(&g["addr_info"]);
        ensure(have == want, || {
            format!("{what}: addresses {have:?} != ip's {want:?}")
        })?;
        if l["link_netnsid"].is_i64() {
            ensure(g["peer"]["ifindex"] == l["link_index"], || {
                format!(
                    "{what}: peer {} but ip says link_index {}",
                    g["peer"], l["link_index"]
                )
            })?;
        } else if let Some(n) = l["link"].as_str() {
            ensure(g["link"].as_str() == Some(n), || {
                format!("{what}: link {} != ip's {n}", g["link"])
            })?;
        }
    }
    Ok(())
}

fn iface<'a>(obj: &'a Value, ifindex: &Value) -> Option<&'a Value> {
    obj["interfaces"]
        .as_array()?
        .iter()
        .find(|i| i["ifindex"] == *ifindex)
}

fn listed_names(obj: &Value) -> BTreeSet<String> {
    obj["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str().map(String::from))
        .collect()
}

fn check() -> Result<(), Failed> {
    let host_ino = netns_ino(u64::from(std::process::id()))?;
    let ctrs = [
        inspect("docker", "rnw-d-both")?,
        inspect("docker", "rnw-d-shared")?,
        inspect("docker", "rnw-d-host")?,
        inspect("podman", "rnw-p-net")?,
        inspect("podman", "rnw-p-inpod")?,
    ];
    let listing = json_of(&[RNETNS, "-j", "list", "--all-runtimes", "--links"])?;
    let plain = ok(&[RNETNS, "list", "--all-runtimes", "--links"])?;
    println!("--- rnetns list --all-runtimes --links\n{plain}");
    let spaces = listing.as_array().ok_or("listing: not an array")?;
    let by_ino = |ino: u64| {
        spaces
            .iter()
            .find(|n| n["inode"].as_u64() == Some(ino))
            .ok_or_else(|| Failed::from(format!("netns {ino} not listed")))
    };
    // The host: every interface as `ip` here shows it; every veth's peer
    // is a listed namespace whose interface points back.
    let host = by_ino(host_ino)?;
    let (hl, ha) = oracle(None)?;
    same_as_ip("host", host, &hl, &ha)?;
    for i in host["interfaces"].as_array().into_iter().flatten() {
        if let Some(far) = i["peer"]["inode"].as_u64() {
            let back = iface(by_ino(far)?, &i["peer"]["ifindex"]).map(|f| &f["peer"]);
            ensure(
                back.is_some_and(|b| {
                    b["inode"].as_u64() == Some(host_ino) && b["ifindex"] == i["ifindex"]
                }),
                || format!("host {}: far end {back:?} does not point back", i["ifname"]),
            )?;
        }
    }
    ensure(ctrs[2].ino == host_ino, || {
        "--net=host is not the host's netns".into()
    })?;
    ensure(listed_names(host).contains("rnw-d-host"), || {
        format!("rnw-d-host not among the host's containers: {host}")
    })?;
    ensure(ctrs[1].ino == ctrs[0].ino, || {
        "--net=container: does not share".into()
    })?;
    let mut veths = 0;
    let mut seen = BTreeSet::new();
    for c in ctrs.iter().filter(|c| c.ino != host_ino) {
        let what = format!("{}:{}", c.tool, c.name);
        let obj = by_ino(c.ino)?;
        ensure(listed_names(obj).contains(c.name), || {
            format!("{what}: not among its namespace's containers: {obj}")
        })?;
        // A namespace shared with one checked before (`--net=container:`,
        // whose inspect shows no network) is that one's.
        if !seen.insert(c.ino) {
            continue;
        }
        let (cl, ca) = oracle(Some(c.pid))?;
        same_as_ip(&what, obj, &cl, &ca)?;
        let peered: Vec<&Value> = obj["interfaces"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|i| i["peer"].is_object())
            .collect();
        ensure(peered.len() == c.nets.len(), || {
            format!(
                "{what}: {} cross-namespace links, {} networks",
                peered.len(),
                c.nets.len()
            )
        })?;
        for (mac, ip, prefix, bridge) in &c.nets {
            let i = peered
                .iter()
                .find(|i| i["address"].as_str() == Some(mac))
                .ok_or_else(|| format!("{what}: no interface with MAC {mac}"))?;
            let inet = ("inet".to_string(), ip.clone(), *prefix);
            ensure(addr_set(&i["addr_info"]).contains(&inet), || {
                format!("{what}: {} lacks {ip}/{prefix}", i["ifname"])
            })?;
            let p = &i["peer"];
            ensure(p["inode"].as_u64() == Some(host_ino), || {
                format!("{what}: {} leads to {p}, not the host", i["ifname"])
            })?;
            let h = hl
                .as_array()
                .into_iter()
                .flatten()
                .find(|h| h["ifindex"] == p["ifindex"])
                .ok_or_else(|| format!("{what}: the host has no ifindex {}", p["ifindex"]))?;
            ensure(
                p["ifname"] == h["ifname"]
                    && h["master"].as_str() == Some(bridge)
                    && h["link_index"] == i["ifindex"],
                || format!("{what}: peer {p}, the host's {h}, want master {bridge}"),
            )?;
            let (ifname, hostveth) = (
                i["ifname"].as_str().unwrap_or_default(),
                h["ifname"].as_str().unwrap_or_default(),
            );
            let line = format!("{ifname} veth UP <-> {hostveth} (host) master {bridge}");
            ensure(plain.contains(&line), || {
                format!("plain listing lacks {line:?}")
            })?;
            // The host end names the container's namespace by its
            // runtime's reference (a pod by its pod), one `rnetns exec`
            // takes to that namespace.
            let head = format!(": {hostveth} veth UP master {bridge} <-> {ifname} (");
            let label = plain
                .lines()
                .find_map(|l| l.split_once(&head))
                .and_then(|(_, rest)| rest.split_once(')'))
                .map(|(label, _)| label.to_string())
                .ok_or_else(|| format!("plain listing lacks a host line with {head:?}"))?;
            ensure(label.starts_with(&format!("{}:", c.tool)), || {
                format!(
                    "{hostveth}'s far end is labelled {label:?}, not by {}",
                    c.tool
                )
            })?;
            let here = ok(&[
                RNETNS,
                "exec",
                &label,
                "stat",
                "-L",
                "-c",
                "%i",
                "/proc/self/ns/net",
            ])?;
            ensure(here.trim() == c.ino.to_string(), || {
                format!("rnetns exec {label} entered {here}, not {}", c.ino)
            })?;
            // From the host end to the container, and back.
            let id = json_of(&[RNETNS, "-j", "identify", "--iface", hostveth])?;
            ensure(
                id.as_array().is_some_and(|a| a.len() == 1)
                    && id[0]["inode"].as_u64() == Some(c.ino),
                || format!("identify --iface {hostveth}: {id}"),
            )?;
            ensure(listed_names(&id[0]).contains(c.name), || {
                format!("identify --iface {hostveth}: {} not listed", c.name)
            })?;
            ensure(id[0]["interfaces"] == obj["interfaces"], || {
                format!("identify --iface {hostveth}: interfaces differ from the listing's")
            })?;
            same_as_ip(&format!("identify --iface {hostveth}"), &id[0], &cl, &ca)?;
            let reference = format!("{}:{}", c.tool, c.name);
            let back = json_of(&[RNETNS, "-j", "identify", "--iface", ifname, &reference])?;
            ensure(back[0]["inode"].as_u64() == Some(host_ino), || {
                format!("identify --iface {ifname} {reference}: {back}")
            })?;
            veths += 1;
        }
    }
    ensure(veths == 4, || {
        format!("{veths} container veths checked, want 4")
    })?;
    // Both shared namespaces list every container in them.
    let both = listed_names(by_ino(ctrs[0].ino)?);
    ensure(both.contains("rnw-d-shared"), || format!("{both:?}"))?;
    let pod = &by_ino(ctrs[4].ino)?["containers"];
    ensure(pod.as_array().is_some_and(|a| a.len() == 2), || {
        format!("the pod's netns holds its infra and rnw-p-inpod: {pod}")
    })?;
    graph(host_ino, &ctrs)?;
    if let Some(dir) = std::env::var_os("RNETNS_TOPOLOGY_OUT") {
        artefacts(Path::new(&dir), &plain, &ctrs)?;
    }
    Ok(())
}

/// `graph --dot` renders, with a cluster per container namespace and a
/// veth edge from each container to the host.
fn graph(host_ino: u64, ctrs: &[Ctr]) -> Result<(), Failed> {
    let dot = ok(&[RNETNS, "graph", "--dot"])?;
    let svg = render(&dot)?;
    ensure(svg.contains("<svg"), || "dot -Tsvg made no SVG".into())?;
    let host = format!("\"if_{host_ino}_");
    for c in ctrs.iter().filter(|c| c.ino != host_ino) {
        let cluster = format!("subgraph \"cluster_{}\"", c.ino);
        ensure(dot.contains(&cluster), || format!("DOT lacks {cluster}"))?;
        let ours = format!("\"if_{}_", c.ino);
        let edge = dot
            .lines()
            .filter(|l| l.contains("label=\"veth\""))
            .any(|l| l.contains(&ours) && l.contains(&host));
        ensure(edge, || {
            format!("DOT has no veth edge from {} to the host", c.name)
        })?;
    }
    Ok(())
}

/// `dot -Tsvg` of `dot`.
fn render(dot: &str) -> Result<String, Failed> {
    use std::io::Write;
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(dot.as_bytes())?;
    let out = child.wait_with_output()?;
    ensure(out.status.success(), || {
        format!("dot -Tsvg failed: {}", String::from_utf8_lossy(&out.stderr))
    })?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The README's picture and excerpts, from this real run.
fn artefacts(dir: &Path, plain: &str, ctrs: &[Ctr]) -> Result<(), Failed> {
    std::fs::create_dir_all(dir)?;
    let dot = ok(&[RNETNS, "graph", "--dot"])?;
    std::fs::write(dir.join("topology.svg"), render(&dot)?)?;
    std::fs::write(dir.join("topology.dot"), &dot)?;
    std::fs::write(dir.join("listing.txt"), plain)?;
    std::fs::write(dir.join("graph.txt"), ok(&[RNETNS, "graph"])?)?;
    let obj = json_of(&[RNETNS, "-j", "list", "--all-runtimes", "--links"])?;
    let c = &ctrs[0];
    let veth = obj
        .as_array()
        .into_iter()
        .flatten()
        .find(|n| n["inode"].as_u64() == Some(c.ino))
        .and_then(|n| n["interfaces"].as_array())
        .into_iter()
        .flatten()
        .find_map(|i| i["peer"]["ifname"].as_str().map(String::from))
        .ok_or("no host veth")?;
    let id = ok(&[RNETNS, "identify", "--iface", &veth])?;
    std::fs::write(
        dir.join("identify.txt"),
        format!("$ rnetns identify --iface {veth}\n{id}"),
    )?;
    Ok(())
}
