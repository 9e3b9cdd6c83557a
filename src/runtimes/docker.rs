//! Docker (moby): sandbox namespaces are bind-mounted in
//! `/run/docker/netns/` (12-character sandbox keys, `default` for the host),
//! and each container's `/var/lib/docker/containers/ID/config.v2.json`
//! holds its name, state, PID and sandbox key. A running container is
//! placed by its PID (which covers host, none and `container:X` modes) and
//! else by its sandbox key; the empty files Docker leaves behind for a
//! while after a container stops are stale. Rootless daemons are read
//! through their own mount namespace (see [`scan_rootless`]). Read-only:
//! no API socket.

use super::procs::Procs;
use super::state::{self, is_hex_id, str_at, Root};
use super::{Container, Evidence, Rank};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

pub const EXEC_ROOT: &str = "/run/docker";
pub const DATA_ROOT: &str = "/var/lib/docker";

pub fn scan(ev: &mut Evidence, procs: &Procs) {
    let exec_root = Root::open(EXEC_ROOT, &mut ev.notes);
    scan_daemon(ev, procs, exec_root, Path::new(DATA_ROOT));
    scan_rootless(ev, procs);
}

/// Rootless dockers (`dockerd-rootless.sh` under rootlesskit): each
/// `/run/user/UID/docker.pid` naming a live dockerd owned by UID. Its exec
/// root, `/run/user/UID/docker`, holds the sandbox mounts only in the
/// daemon's own mount namespace, so it is read through
/// `/proc/PID/root/run/user/UID/docker`; its data root is
/// `~/.local/share/docker`.
fn scan_rootless(ev: &mut Evidence, procs: &Procs) {
    let Some(users) = Root::open("/run/user", &mut Default::default()) else {
        return;
    };
    let mut uids: Vec<u32> = users
        .list(Path::new("."), &mut Default::default())
        .iter()
        .filter_map(|u| u.to_str()?.parse().ok())
        .collect();
    uids.sort_unstable();
    for uid in uids {
        let rel = std::path::PathBuf::from(format!("{uid}/docker.pid"));
        let Some(pid) = users.pid(&rel, &mut Default::default()) else {
            continue;
        };
        if super::trust::real_uid(pid) != Some(uid) {
            continue; // stale or planted pidfile: the PID is someone else's
        }
        let Some(home) = super::podman::home_of(uid) else {
            continue;
        };
        let view = format!("/proc/{pid}/root/run/user/{uid}/docker");
        let exec_root = Root::open(view, &mut ev.notes);
        // The user writes all of this: it speaks only for what they own
        // (README "Trust").
        let mut sub = Evidence::default();
        scan_daemon(
            &mut sub,
            procs,
            exec_root,
            &home.join(".local/share/docker"),
        );
        let mut user = super::trust::User::new(uid);
        super::trust::admit(&mut user, sub, ev, procs);
        user.note("docker", &mut ev.notes);
    }
}

/// One daemon's containers: its exec root (sandbox mounts) and data root.
fn scan_daemon(ev: &mut Evidence, procs: &Procs, exec_root: Option<Root>, data_root: &Path) {
    // Sandbox name -> namespace, as listed (not opened twice).
    let mut listed = HashMap::new();
    if let Some(root) = &exec_root {
        for name in root.list(Path::new("netns"), &mut ev.notes) {
            let rel = Path::new("netns").join(&name);
            let owner = if name == "default" {
                ("host", Rank::Host)
            } else {
                ("docker", Rank::Runtime)
            };
            match root.netns_file(&rel) {
                Ok(found) => {
                    let key = found.map(|(k, f)| {
                        ev.hold(k, f);
                        k
                    });
                    listed.insert(name.clone(), key);
                    let path = root.path().join(&rel).as_os_str().as_bytes().to_vec();
                    ev.path(path, key, Some(owner));
                }
                Err(e) => ev.notes.errno(&root.path().join(&rel), e),
            }
        }
    }
    let Some(data) = Root::open(data_root, &mut ev.notes) else {
        return;
    };
    let mut ids = data.list(Path::new("containers"), &mut ev.notes);
    ids.sort();
    for id in ids {
        let Some(id) = id.to_str().filter(|i| is_hex_id(i)) else {
            continue;
        };
        let rel = Path::new("containers").join(id).join("config.v2.json");
        let Some(bytes) = data.read(&rel, &mut ev.notes) else {
            continue;
        };
        let config = match parse_config(id, &bytes) {
            Ok(Some(config)) => config,
            Ok(None) => continue,
            Err(Malformed) => {
                data.note_malformed(&rel, &mut ev.notes);
                continue;
            }
        };
        let c = config.container;
        ev.catalog.push(c.clone());
        if !config.running {
            continue;
        }
        let by_key = config.sandbox.as_deref().and_then(|rel| {
            let name = rel.strip_prefix("netns/").map(std::ffi::OsStr::new);
            match name.and_then(|n| listed.get(n)) {
                Some(key) => *key,
                None => exec_root.as_ref()?.netns(Path::new(rel)).ok().flatten(),
            }
        });
        // The PID in its sandbox: placed, whoever the PID now is. Else the
        // PID counts only if its cgroup names the container.
        let by_pid = config.pid.and_then(|p| procs.by_pid.get(&p));
        let key = if by_key.is_some() && by_pid == by_key.as_ref() {
            ev.settled.push(("docker", id.to_string()));
            by_key
        } else {
            config.pid.and_then(|p| procs.pid_runs(p, id)).or(by_key)
        };
        if let Some(key) = key {
            ev.members.push((key, c));
        }
    }
}

/// What discovery takes from a container's `config.v2.json`.
#[derive(Debug, PartialEq, Eq)]
pub struct Config {
    pub container: Container,
    pub running: bool,
    pub pid: Option<u32>,
    /// The sandbox key beneath the exec root (`netns/KEY`).
    pub sandbox: Option<String>,
}

/// The bytes were not JSON.
pub struct Malformed;

/// Container `id`'s config from the bytes of its `config.v2.json` (pure).
/// The fields discovery needs are read straight from the bytes, the rest
/// skipped unparsed (docker's files are a few KiB of other settings);
/// a file that does not fit that shape (a field of another type, a
/// duplicate key, not an object) is read as a whole `serde_json::Value`
/// by [`config_of`] instead, so the answer never depends on which way ran.
pub fn parse_config(id: &str, bytes: &[u8]) -> Result<Option<Config>, Malformed> {
    // Skipped strings are not checked for UTF-8 (the whole parse checks
    // every string), so the bytes are checked first.
    let text = std::str::from_utf8(bytes).ok();
    let object = text.filter(|t| t.trim_start().starts_with('{'));
    if let Some(Ok(f)) = object.map(serde_json::from_str::<Fields>) {
        return Ok(f.config(id));
    }
    let v = state::parse_json(bytes).ok_or(Malformed)?;
    Ok(config_of(id, &v))
}

/// The fields of `config.v2.json` discovery reads.
#[derive(Deserialize)]
struct Fields<'a> {
    #[serde(rename = "ID", borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(rename = "Name", borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(rename = "State")]
    state: Option<StateFields>,
    #[serde(rename = "NetworkSettings", borrow)]
    network: Option<NetworkFields<'a>>,
}

#[derive(Deserialize)]
struct StateFields {
    #[serde(rename = "Running")]
    running: Option<bool>,
    #[serde(rename = "Pid")]
    pid: Option<u64>,
}

#[derive(Deserialize)]
struct NetworkFields<'a> {
    #[serde(rename = "SandboxKey", borrow)]
    sandbox_key: Option<Cow<'a, str>>,
}

impl Fields<'_> {
    fn config(&self, id: &str) -> Option<Config> {
        let state = self.state.as_ref();
        let key = self.network.as_ref().and_then(|n| n.sandbox_key.as_deref());
        let (running, pid) = (state.and_then(|s| s.running), state.and_then(|s| s.pid));
        config(
            id,
            self.id.as_deref(),
            self.name.as_deref(),
            running,
            pid,
            key,
        )
    }
}

/// Container `id`'s config from the whole parsed file (pure: the reader
/// and the fuzz target share it).
pub fn config_of(id: &str, cfg: &serde_json::Value) -> Option<Config> {
    let running = cfg.pointer("/State/Running").and_then(|v| v.as_bool());
    let pid = cfg.pointer("/State/Pid").and_then(|v| v.as_u64());
    let key = str_at(cfg, "/NetworkSettings/SandboxKey");
    config(
        id,
        str_at(cfg, "/ID"),
        str_at(cfg, "/Name"),
        running,
        pid,
        key,
    )
}

/// The config the fields describe, however they were read; `None` when the
/// file names another id than its directory, so never a wrong owner.
fn config(
    id: &str,
    file_id: Option<&str>,
    name: Option<&str>,
    running: Option<bool>,
    pid: Option<u64>,
    sandbox_key: Option<&str>,
) -> Option<Config> {
    (file_id == Some(id)).then(|| Config {
        container: Container {
            id: id.to_string(),
            name: name.map(|n| n.trim_start_matches('/').to_string()),
            runtime: "docker",
            pod: None,
            owner: None,
        },
        running: running == Some(true),
        pid: pid.and_then(|p| u32::try_from(p).ok()),
        sandbox: sandbox_key.and_then(sandbox_rel).map(str::to_string),
    })
}

/// A sandbox key's path beneath the exec root (`netns/KEY`).
fn sandbox_rel(key: &str) -> Option<&str> {
    // A rootless daemon's exec root is /run/user/UID/docker.
    let rootless = || {
        let rest = key.strip_prefix("/run/user/")?;
        let (uid, rel) = rest.split_once('/')?;
        uid.bytes().all(|b| b.is_ascii_digit()).then_some(())?;
        rel.strip_prefix("docker/")
    };
    let rel = key
        .strip_prefix("/var/run/docker/")
        .or_else(|| key.strip_prefix("/run/docker/"))
        .or_else(rootless)?;
    (rel.starts_with("netns/") && !rel.contains("..")).then_some(rel)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sandbox_keys_stay_beneath_the_exec_root() {
        assert_eq!(
            super::sandbox_rel("/var/run/docker/netns/c68ed5e6536b"),
            Some("netns/c68ed5e6536b")
        );
        assert_eq!(
            super::sandbox_rel("/run/docker/netns/default"),
            Some("netns/default")
        );
        assert_eq!(super::sandbox_rel("/run/docker/netns/../../etc"), None);
        assert_eq!(super::sandbox_rel("/run/netns/x"), None);
        assert_eq!(
            super::sandbox_rel("/run/user/4711/docker/netns/140052ccafb8"),
            Some("netns/140052ccafb8")
        );
        assert_eq!(super::sandbox_rel("/run/user/x/docker/netns/a"), None);
        assert_eq!(super::sandbox_rel("/run/user/1/docker/netns/../../a"), None);
        assert_eq!(super::sandbox_rel(""), None);
    }
}
