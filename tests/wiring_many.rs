//! `list --all-runtimes --links` on a host with many namespaces (README
//! "See the wiring"), where crate::wiring shares the namespaces among a
//! few workers: 80 namespaces, each with a veth to one host bridge.
//! Every pair's two ends are checked against what the fixture built (the
//! names, and the inodes `stat` gives), and the listing is byte for byte
//! the one a single worker gives (`taskset -c 0`: one CPU, one worker).
//! With one CPU only both runs take the single-worker path; the test says
//! so.

#[path = "support/sandbox.rs"]
mod sandbox;
#[path = "support/skip.rs"]
mod skip;

use serde_json::Value;
use std::collections::HashMap;

const RNETNS: &str = env!("CARGO_BIN_EXE_rnetns");
const N: usize = 80;

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let trials = vec![skip::privileged_fn(
        "many_namespaces_on_several_workers_match_one_worker_and_the_fixture",
        many_namespaces_on_several_workers_match_one_worker_and_the_fixture,
    )];
    libtest_mimic::run(&args, trials).exit();
}

fn many_namespaces_on_several_workers_match_one_worker_and_the_fixture() {
    let body = format!(
        r#"
R={rnetns}
set -e
ip link add br0 type bridge; ip link set br0 up
for i in $(seq {n}); do echo "netns add n$i"; done >$SBX/b1
ip -b $SBX/b1
for i in $(seq {n}); do echo "link add h$i type veth peer name eth0 netns n$i"; echo "link set h$i master br0 up"; done >$SBX/b2
ip -b $SBX/b2
for i in $(seq {n}); do ip -n n$i link set eth0 up; echo "ino n$i $(stat -L -c %i /run/netns/n$i)"; done
echo "ino host $(stat -L -c %i /proc/self/ns/net)"
echo "cpus $(nproc)"
echo "=== one"; taskset -c 0 $R -j list --all-runtimes --links
echo "=== many"; $R -j list --all-runtimes --links
"#,
        rnetns = sandbox::shell_quote(RNETNS),
        n = N,
    );
    let Some(text) = sandbox::run_checked("wiring-many", &body) else {
        return;
    };
    let mut ino: HashMap<String, u64> = HashMap::new();
    let mut sections: HashMap<&str, String> = HashMap::new();
    let mut current = None;
    let mut cpus = 0;
    for line in text.lines() {
        if let Some(s) = line.strip_prefix("=== ") {
            current = Some(s);
        } else if let Some(c) = current {
            sections.entry(c).or_default().push_str(line);
        } else if let Some(rest) = line.strip_prefix("ino ") {
            let (n, i) = rest.split_once(' ').unwrap();
            ino.insert(n.into(), i.parse().unwrap());
        } else if let Some(c) = line.strip_prefix("cpus ") {
            cpus = c.parse().unwrap();
        }
    }
    if cpus < 2 {
        eprintln!("note: one CPU: both runs took the single-worker path");
    }
    assert_eq!(
        sections["one"], sections["many"],
        "one worker and several differ"
    );
    let v: Value = serde_json::from_str(&sections["many"]).unwrap();
    let by_ino: HashMap<u64, &Value> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["inode"].as_u64().unwrap(), o))
        .collect();
    let iface = |ns: u64, name: &str| -> Value {
        by_ino[&ns]["interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["ifname"] == name)
            .unwrap_or_else(|| panic!("{ns} has no {name}"))
            .clone()
    };
    let host = ino["host"];
    for i in 1..=N {
        let ns = ino[&format!("n{i}")];
        let (h, e) = (iface(host, &format!("h{i}")), iface(ns, "eth0"));
        assert_eq!(h["master"], "br0", "h{i}");
        assert_eq!(h["peer"]["inode"].as_u64(), Some(ns), "h{i}");
        assert_eq!(h["peer"]["ifname"], "eth0", "h{i}");
        assert_eq!(h["peer"]["ifindex"], e["ifindex"], "h{i}");
        assert_eq!(e["peer"]["inode"].as_u64(), Some(host), "n{i}");
        assert_eq!(e["peer"]["ifname"], format!("h{i}").as_str(), "n{i}");
        assert_eq!(e["peer"]["ifindex"], h["ifindex"], "n{i}");
    }
}
