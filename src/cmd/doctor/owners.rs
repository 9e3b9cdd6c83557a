//! Containers whose network namespace owner is gone: a Docker container
//! started with `--net=container:X` that still runs after X stopped or was
//! removed, and a podman container that still runs after its namespace
//! file (owned by another container, removed by conmon when that one
//! exited) disappeared. Read-only, from the runtimes' on-disk state, with
//! the same bounded, beneath-the-root readers as runtime discovery.

use super::{Finding, Repair, Severity};
use crate::runtimes::podman::{self, Stored};
use crate::runtimes::state::{is_hex_id, oci_netns_path, str_at, Notes, Root};
use std::path::Path;

const DOCKER_DATA: &str = "/var/lib/docker";

fn pid_alive(pid: u64) -> bool {
    pid > 0 && Path::new(&format!("/proc/{pid}")).exists()
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// Docker: running `container:X` dependants of a stopped or removed X.
pub fn docker(out: &mut Vec<Finding>) {
    let mut notes = Notes::default();
    let Some(data) = Root::open(DOCKER_DATA, &mut notes) else {
        return;
    };
    let mut ids = data.list(Path::new("containers"), &mut notes);
    ids.sort();
    for id in ids
        .iter()
        .filter_map(|i| i.to_str())
        .filter(|i| is_hex_id(i))
    {
        let dir = Path::new("containers").join(id);
        let Some(cfg) = data.json(&dir.join("config.v2.json"), &mut notes) else {
            continue;
        };
        let running = cfg.pointer("/State/Running").and_then(|v| v.as_bool()) == Some(true)
            && pid_alive(
                cfg.pointer("/State/Pid")
                    .and_then(|v| v.as_u64())
                    .unwrap_or(0),
            );
        if !running {
            continue;
        }
        let Some(host) = data.json(&dir.join("hostconfig.json"), &mut notes) else {
            continue;
        };
        let Some(owner) = str_at(&host, "/NetworkMode").and_then(|m| m.strip_prefix("container:"))
        else {
            continue;
        };
        let owner_cfg = is_hex_id(owner)
            .then(|| {
                data.json(
                    &Path::new("containers").join(owner).join("config.v2.json"),
                    &mut notes,
                )
            })
            .flatten();
        let owner_state = match &owner_cfg {
            None => "was removed",
            Some(c) if c.pointer("/State/Running").and_then(|v| v.as_bool()) == Some(true) => {
                continue
            }
            Some(_) => "is not running",
        };
        let name = str_at(&cfg, "/Name").unwrap_or("").trim_start_matches('/');
        out.push(Finding {
            check: "network-owner-gone",
            severity: Severity::Problem,
            path: dir_display(DOCKER_DATA, &dir),
            what: format!(
                "docker container {name} ({}) shares the network namespace of container {}, which {owner_state}",
                short(id),
                short(owner)
            ),
            why: "it keeps the old namespace alive on its own; when the owner starts again it gets a new namespace and the two no longer share a network".into(),
            fix: format!("docker restart {name}  (after the owner is running again)"),
            repair: Repair::None,
        });
    }
}

/// Podman: running containers whose spec's netns file no longer exists.
pub fn podman(out: &mut Vec<Finding>) {
    let mut notes = Notes::default();
    let Some(store) = Root::open(podman::STORAGE, &mut notes) else {
        return;
    };
    let run = Root::open(podman::RUN_ROOT, &mut notes);
    for driver in podman::DRIVERS {
        for Stored {
            id,
            userdata: rel,
            spec,
        } in podman::stored(&store, driver, &mut notes)
        {
            // Only podman's own containers (CRI-O shares this storage).
            if podman::libpod_pod(&spec).is_none() {
                continue;
            }
            let Some(path) = oci_netns_path(&spec) else {
                continue;
            };
            if !(path.starts_with("/run/netns/") || path.starts_with("/var/run/netns/")) {
                continue;
            }
            let pid = run
                .as_ref()
                .and_then(|r| r.pid(&rel.join("pidfile"), &mut notes));
            if !pid.is_some_and(|p| pid_alive(p.into())) || Path::new(path).exists() {
                continue;
            }
            out.push(Finding {
                check: "network-owner-gone",
                severity: Severity::Problem,
                path: path.as_bytes().to_vec(),
                what: format!(
                    "podman container {} still runs, but its network namespace file {path} was removed",
                    short(&id)
                ),
                why: "podman removes a namespace when the container that owns it exits, even while others (--network container:X, pod members) still use it: they are left with only lo".into(),
                fix: format!("podman restart {}  (or recreate it with its own network)", short(&id)),
                repair: Repair::None,
            });
        }
    }
}

fn dir_display(root: &str, rel: &Path) -> Vec<u8> {
    Path::new(root)
        .join(rel)
        .as_os_str()
        .as_encoded_bytes()
        .to_vec()
}
