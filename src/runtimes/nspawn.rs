//! systemd-nspawn machines, by name. Where systemd-machined runs, each
//! machine has `/run/systemd/machines/NAME`, an env-style file whose
//! `LEADER=` is the machine's init (systemd `machine.c`). Without machined
//! (`--register=no`, hosts where PID 1 is not systemd) nspawn still keeps
//! `/run/systemd/nspawn/propagate/NAME/` while the machine runs; its leader
//! is then the child of the `systemd-nspawn` process whose arguments name
//! that machine (`-M NAME`, `--machine=NAME`, else the basename of its
//! `-D`/`--directory` tree, as nspawn defaults it). The leader's netns is
//! the machine's (its own with `--network-veth`/`--private-network`, else
//! the host's). On systemd hosts the payload's cgroup
//! (`systemd-nspawn@NAME.service/payload`, see [`super::cgroups`]) names
//! the machine too.
//! Syscalls: openat2/getdents/read beneath those dirs; read of
//! `/proc/PID/comm`, `cmdline` and `task/PID/children` of nspawn
//! processes only when a propagate entry is left to explain.

use super::procs::Procs;
use super::state::{Notes, Root};
use super::{Container, Evidence};
use std::collections::HashSet;
use std::path::Path;

pub const MACHINES: &str = "/run/systemd/machines";
pub const PROPAGATE: &str = "/run/systemd/nspawn/propagate";
pub const RUNTIME: &str = "nspawn";

fn machine(name: &str) -> Container {
    Container {
        id: name.to_string(),
        name: Some(name.to_string()),
        runtime: RUNTIME,
        pod: None,
        owner: None,
    }
}

pub fn scan(ev: &mut Evidence, procs: &Procs) {
    let mut seen = HashSet::new();
    if let Some(root) = Root::open(MACHINES, &mut Notes::default()) {
        let mut names = root.list(Path::new("."), &mut ev.notes);
        names.sort();
        for name in names.iter().filter_map(|n| n.to_str()) {
            // `unit:UNIT` entries are symlinks to the machine's name.
            if name.starts_with("unit:") || name.starts_with('.') {
                continue;
            }
            let Some(text) = root.read(Path::new(name), &mut ev.notes) else {
                continue;
            };
            let Some(leader) = leader_of(&text) else {
                continue;
            };
            if let Some(key) = procs.by_pid.get(&leader) {
                ev.catalog.push(machine(name));
                ev.members.push((*key, machine(name)));
                seen.insert(name.to_string());
            }
        }
    }
    let Some(root) = Root::open(PROPAGATE, &mut Notes::default()) else {
        return;
    };
    let mut left: Vec<String> = root
        .list(Path::new("."), &mut Notes::default())
        .into_iter()
        .filter_map(|n| n.into_string().ok())
        .filter(|n| !seen.contains(n))
        .collect();
    if left.is_empty() {
        return;
    }
    left.sort();
    let mut pids: Vec<u32> = procs.by_pid.keys().copied().collect();
    pids.sort_unstable();
    for pid in pids {
        let Ok(comm) = std::fs::read(format!("/proc/{pid}/comm")) else {
            continue;
        };
        if comm.strip_suffix(b"\n").unwrap_or(&comm) != b"systemd-nspawn" {
            continue;
        }
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let Some(name) = machine_of_args(&cmdline) else {
            continue;
        };
        if !left.contains(&name) {
            continue;
        }
        let children =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        let leader = children
            .split_whitespace()
            .filter_map(|c| c.parse::<u32>().ok())
            .find_map(|c| procs.by_pid.get(&c));
        if let Some(key) = leader {
            ev.catalog.push(machine(&name));
            ev.members.push((*key, machine(&name)));
        }
    }
}

/// `LEADER=` of a machined state file (pure).
pub fn leader_of(text: &[u8]) -> Option<u32> {
    std::str::from_utf8(text)
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("LEADER="))?
        .trim()
        .parse()
        .ok()
        .filter(|&p| p > 0)
}

/// The machine name a `systemd-nspawn` command line gives (pure; NUL-
/// separated as in /proc/PID/cmdline): `-M`/`--machine`, else the
/// basename of `-D`/`--directory`. Options end at the first non-option
/// word (the command run inside) or `--`.
pub fn machine_of_args(cmdline: &[u8]) -> Option<String> {
    let args: Vec<&str> = cmdline
        .split(|&b| b == 0)
        .skip(1)
        .filter_map(|a| std::str::from_utf8(a).ok())
        .collect();
    let mut machine = None;
    let mut dir = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i];
        let mut value = |short: &str, long: &str| -> Option<String> {
            if a == short || a == long {
                i += 1;
                return args.get(i).map(|v| v.to_string());
            }
            if let Some(v) = a.strip_prefix(long).and_then(|v| v.strip_prefix('=')) {
                return Some(v.to_string());
            }
            a.strip_prefix(short)
                .filter(|v| !v.is_empty() && !a.starts_with("--"))
                .map(str::to_string)
        };
        if let Some(v) = value("-M", "--machine") {
            machine = Some(v);
        } else if let Some(v) = value("-D", "--directory") {
            dir = Some(v);
        } else if a == "--" || !a.starts_with('-') {
            break;
        }
        i += 1;
    }
    machine.filter(|m| !m.is_empty()).or_else(|| {
        let d = dir?;
        let base = d.trim_end_matches('/').rsplit('/').next()?.to_string();
        (!base.is_empty()).then_some(base)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<u8> {
        let mut v = b"systemd-nspawn".to_vec();
        for x in a {
            v.push(0);
            v.extend_from_slice(x.as_bytes());
        }
        v.push(0);
        v
    }

    #[test]
    fn machine_name_from_nspawn_arguments() {
        let m = |a: &[&str]| machine_of_args(&args(a));
        assert_eq!(
            m(&[
                "-q",
                "-D",
                "/srv/t",
                "--network-veth",
                "-M",
                "web",
                "/bin/sleep",
                "9"
            ]),
            Some("web".into())
        );
        assert_eq!(m(&["--machine=db", "-D/srv/t"]), Some("db".into()));
        assert_eq!(m(&["-Mx", "--directory", "/srv/t"]), Some("x".into()));
        assert_eq!(m(&["-D", "/var/lib/machines/deb/"]), Some("deb".into()));
        assert_eq!(m(&["--directory=/srv/box"]), Some("box".into()));
        // After the command, words belong to it.
        assert_eq!(m(&["-D", "/srv/t", "sh", "-M", "no"]), Some("t".into()));
        assert_eq!(m(&["-q"]), None);
        assert_eq!(m(&["-M"]), None);
    }

    #[test]
    fn machined_leader() {
        let f = b"# This is private data. Do not parse.\nNAME=web\nSCOPE=machine-web.scope\nCLASS=container\nLEADER=4242\n";
        assert_eq!(leader_of(f), Some(4242));
        assert_eq!(leader_of(b"LEADER=0\n"), None);
        assert_eq!(leader_of(b"NAME=x\n"), None);
        assert_eq!(leader_of(b"LEADER=x\n"), None);
    }
}
