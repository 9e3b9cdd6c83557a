//! Docker (moby): sandbox namespaces are bind-mounted in
//! `/run/docker/netns/` (12-character sandbox keys, `default` for the host),
//! and each container's `/var/lib/docker/containers/ID/config.v2.json`
//! holds its name, state, PID and sandbox key. A running container is
//! placed by its PID (which covers host, none and `container:X` modes) and
//! else by its sandbox key; the empty files Docker leaves behind for a
//! while after a container stops are stale. Rootless daemons are read
//! through their own mount namespace (see [`scan_rootless`]). A rootful
//! daemon's exec and data roots come from its arguments and its
//! daemon.json ([`roots`]), not assumed. Read-only: no API socket.

use super::procs::Procs;
use super::state::{self, is_hex_id, str_at, Root};
use super::{Container, Evidence, Rank};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// dockerd's default roots, and the configuration it reads by default.
pub const EXEC_ROOT: &str = "/run/docker";
pub const DATA_ROOT: &str = "/var/lib/docker";
pub const CONFIG: &str = "/etc/docker/daemon.json";

/// Every rootful daemon's containers, each tree read as its owner's
/// (README "Trust"), then the rootless daemons'.
pub fn scan(ev: &mut Evidence, procs: &Procs) {
    for r in roots(&mut ev.notes) {
        let tree = [r.exec.as_path(), r.data.as_path()];
        super::trust::scan_tree(ev, procs, &tree, "docker", |ev, procs| {
            let exec_root = Root::open(&r.exec, &mut ev.notes);
            scan_daemon(ev, procs, exec_root, &r.data);
        });
    }
    scan_rootless(ev, procs);
}

/// Where one rootful dockerd keeps its sandbox mounts and its containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roots {
    pub exec: PathBuf,
    pub data: PathBuf,
}

/// What a dockerd's command line sets (pure; the last of a flag wins, as
/// in dockerd's own flag parsing).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Args {
    pub data: Option<PathBuf>,
    pub exec: Option<PathBuf>,
    pub config: Option<PathBuf>,
}

/// `--data-root X`/`--data-root=X` (and the legacy `-g`/`--graph`),
/// `--exec-root` and `--config-file` from `/proc/PID/cmdline` bytes.
pub fn args_of(cmdline: &[u8]) -> Args {
    use std::os::unix::ffi::OsStrExt;
    let mut args = cmdline.split(|&b| b == 0).skip(1);
    let mut out = Args::default();
    while let Some(arg) = args.next() {
        if arg == b"--" {
            break;
        }
        let (flag, inline) = match arg.iter().position(|&b| b == b'=') {
            Some(i) if arg.starts_with(b"-") => (&arg[..i], Some(&arg[i + 1..])),
            _ => (arg, None),
        };
        let slot = match flag {
            b"--data-root" | b"--graph" | b"-g" => &mut out.data,
            b"--exec-root" => &mut out.exec,
            b"--config-file" => &mut out.config,
            _ => continue,
        };
        let Some(value) = inline.or_else(|| args.next()) else {
            break;
        };
        *slot = Some(PathBuf::from(std::ffi::OsStr::from_bytes(value)));
    }
    out
}

/// What a daemon.json sets: `data-root` (or the legacy `graph`) and
/// `exec-root`; `Err` when the bytes are not a JSON object. A key of
/// another type is named in `bad`.
pub fn config_roots(bytes: &[u8], bad: &mut Vec<&'static str>) -> Result<Args, Malformed> {
    let v = state::parse_json(bytes).ok_or(Malformed)?;
    let obj = v.as_object().ok_or(Malformed)?;
    let mut get = |key: &'static str| match obj.get(key) {
        None => None,
        Some(serde_json::Value::String(s)) => Some(PathBuf::from(s)),
        Some(_) => {
            bad.push(key);
            None
        }
    };
    let data = get("data-root").or_else(|| get("graph"));
    Ok(Args {
        data,
        exec: get("exec-root"),
        config: None,
    })
}

/// A root rnetns will read: absolute, no `..`, not `/`, shorter than
/// PATH_MAX.
fn usable(p: &Path) -> bool {
    p.is_absolute()
        && p.parent().is_some()
        && !p.components().any(|c| c == Component::ParentDir)
        && p.as_os_str().len() < 4096
}

/// Keeps `p` if usable, else notes it (`what`: where it was set).
fn checked(p: Option<PathBuf>, key: &str, what: &str, notes: &mut state::Notes) -> Option<PathBuf> {
    let p = p?;
    if usable(&p) {
        return Some(p);
    }
    notes.add(format!(
        "ignoring {key} \"{}\" of {what}: not an absolute path to a directory",
        crate::output::escape::escape_os(p.as_os_str())
    ));
    None
}

/// The roots of each running rootful dockerd (a `dockerd` process of
/// real uid 0): its arguments, else the daemon.json it reads (its
/// `--config-file`, else [`CONFIG`]), else the defaults. With no such
/// daemon, [`CONFIG`]'s roots or the defaults. Bounded reads through
/// [`Root`] (README "Bounded reads"); relative or absurd paths are
/// ignored with a note.
pub fn roots(notes: &mut state::Notes) -> Vec<Roots> {
    let mut out = Vec::new();
    for pid in rootful_dockerds() {
        let Some(cmdline) = Root::open("/proc", &mut Default::default()).and_then(|p| {
            p.read(
                Path::new(&format!("{pid}/cmdline")),
                &mut Default::default(),
            )
        }) else {
            continue; // exited
        };
        let what = format!("dockerd (PID {pid})");
        let args = args_of(&cmdline);
        let data = checked(args.data, "--data-root", &what, notes);
        let exec = checked(args.exec, "--exec-root", &what, notes);
        let config = checked(args.config, "--config-file", &what, notes);
        let config = config.unwrap_or_else(|| PathBuf::from(CONFIG));
        let r = resolve(data, exec, &config, notes);
        if !out.contains(&r) {
            out.push(r);
        }
    }
    if out.is_empty() {
        out.push(resolve(None, None, Path::new(CONFIG), notes));
    }
    out
}

/// Arguments over the file over the defaults.
fn resolve(
    data: Option<PathBuf>,
    exec: Option<PathBuf>,
    config: &Path,
    notes: &mut state::Notes,
) -> Roots {
    let file = if data.is_some() && exec.is_some() {
        Args::default()
    } else {
        read_config(config, notes)
    };
    let shown = config.display().to_string();
    let data = data.or_else(|| checked(file.data, "data-root", &shown, notes));
    let exec = exec.or_else(|| checked(file.exec, "exec-root", &shown, notes));
    Roots {
        exec: exec.unwrap_or_else(|| PathBuf::from(EXEC_ROOT)),
        data: data.unwrap_or_else(|| PathBuf::from(DATA_ROOT)),
    }
}

/// A daemon.json's roots; nothing (with a note) when it is not root's
/// file or not a JSON object, nothing when it is missing.
fn read_config(path: &Path, notes: &mut state::Notes) -> Args {
    use std::os::unix::fs::MetadataExt;
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Args::default();
    };
    let Some(root) = Root::open(dir, &mut Default::default()) else {
        return Args::default();
    };
    let Some(bytes) = root.read(Path::new(name), notes) else {
        return Args::default();
    };
    let owner = std::fs::symlink_metadata(path).map(|m| m.uid()).ok();
    if owner != Some(0) {
        notes.add(format!(
            "ignoring {}: not root's file; docker's default roots are used",
            path.display()
        ));
        return Args::default();
    }
    let mut bad = Vec::new();
    match config_roots(&bytes, &mut bad) {
        Ok(args) => {
            for key in bad {
                notes.add(format!(
                    "ignoring {key} of {}: not a string",
                    path.display()
                ));
            }
            args
        }
        Err(Malformed) => {
            notes.add(format!(
                "skipping {}: malformed JSON; docker's default roots are used",
                path.display()
            ));
            Args::default()
        }
    }
}

/// Whether process `pid`'s comm is `dockerd`: one openat beneath the
/// open /proc and one read of at most 16 bytes.
fn is_dockerd(proc_dir: &nix::dir::Dir, pid: u32) -> bool {
    use nix::fcntl::{openat, OFlag};
    use nix::sys::stat::Mode;
    let flags = OFlag::O_RDONLY | OFlag::O_CLOEXEC;
    let Ok(fd) = openat(
        proc_dir,
        format!("{pid}/comm").as_str(),
        flags,
        Mode::empty(),
    ) else {
        return false;
    };
    let mut buf = [0u8; 16];
    let n = nix::unistd::read(&fd, &mut buf).unwrap_or(0);
    buf[..n] == *b"dockerd\n"
}

/// The rootful dockerd, from its pidfile (`/run/docker.pid`, dockerd's
/// default `--pidfile`) when that names a live process called `dockerd`
/// whose real uid is root's. One small read per scan instead of one per
/// process; a daemon started with another `--pidfile` is read with
/// daemon.json's roots or the defaults.
fn rootful_dockerds() -> Vec<u32> {
    use nix::fcntl::OFlag;
    let Some(pid) = Root::open("/run", &mut Default::default())
        .and_then(|r| r.pid(Path::new("docker.pid"), &mut Default::default()))
    else {
        return Vec::new();
    };
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let Ok(dir) = nix::dir::Dir::open("/proc", flags, nix::sys::stat::Mode::empty()) else {
        return Vec::new();
    };
    let ok = is_dockerd(&dir, pid) && super::trust::real_uid(pid) == Some(0);
    if ok {
        vec![pid]
    } else {
        Vec::new()
    }
}

/// Rootless dockers (`dockerd-rootless.sh` under rootlesskit): each
/// `/run/user/UID/docker.pid` naming a live dockerd owned by UID. Its exec
/// root, `/run/user/UID/docker`, holds the sandbox mounts only in the
/// daemon's own mount namespace, so it is read through
/// `/proc/PID/root/run/user/UID/docker`; its data root is
/// `~/.local/share/docker`. The netns the daemon runs in (rootlesskit's,
/// with `docker0` and the user's uplink) is docker's too, when it is a
/// namespace that user made: a pidfile naming their process in the host's
/// netns, or in one they did not make, claims nothing.
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
        if let Some(&key) = procs.by_pid.get(&pid) {
            if user.owns(pid, key) {
                ev.daemons.push((key, "docker", uid));
            }
        }
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
        let exec_path = exec_root.as_ref().map(Root::path);
        let rel = config.sandbox_key.as_deref().zip(exec_path);
        let by_key = rel.and_then(|(k, at)| sandbox_rel(k, at)).and_then(|rel| {
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
    /// The sandbox key as docker wrote it (`EXEC_ROOT/netns/KEY`).
    pub sandbox_key: Option<String>,
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
        sandbox_key: sandbox_key.map(str::to_string),
    })
}

/// A sandbox key's path beneath the exec root (`netns/KEY`): the
/// daemon's configured `exec_root`, else docker's default or a rootless
/// daemon's.
fn sandbox_rel<'a>(key: &'a str, exec_root: &Path) -> Option<&'a str> {
    let configured = || {
        let rest = key.strip_prefix(exec_root.to_str()?)?;
        rest.strip_prefix('/')
    };
    // A rootless daemon's exec root is /run/user/UID/docker.
    let rootless = || {
        let rest = key.strip_prefix("/run/user/")?;
        let (uid, rel) = rest.split_once('/')?;
        uid.bytes().all(|b| b.is_ascii_digit()).then_some(())?;
        rel.strip_prefix("docker/")
    };
    let rel = configured()
        .or_else(|| key.strip_prefix("/var/run/docker/"))
        .or_else(|| key.strip_prefix("/run/docker/"))
        .or_else(rootless)?;
    (rel.starts_with("netns/") && !rel.contains("..")).then_some(rel)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sandbox_keys_stay_beneath_the_exec_root() {
        let d = std::path::Path::new(super::EXEC_ROOT);
        assert_eq!(
            super::sandbox_rel("/var/run/docker/netns/c68ed5e6536b", d),
            Some("netns/c68ed5e6536b")
        );
        assert_eq!(
            super::sandbox_rel("/run/docker/netns/default", d),
            Some("netns/default")
        );
        assert_eq!(super::sandbox_rel("/run/docker/netns/../../etc", d), None);
        assert_eq!(super::sandbox_rel("/run/netns/x", d), None);
        assert_eq!(
            super::sandbox_rel("/run/user/4711/docker/netns/140052ccafb8", d),
            Some("netns/140052ccafb8")
        );
        assert_eq!(super::sandbox_rel("/run/user/x/docker/netns/a", d), None);
        assert_eq!(
            super::sandbox_rel("/run/user/1/docker/netns/../../a", d),
            None
        );
        assert_eq!(super::sandbox_rel("", d), None);
        let srv = std::path::Path::new("/srv/docker-run");
        let key = "/srv/docker-run/netns/c68ed5e6536b";
        assert_eq!(super::sandbox_rel(key, srv), Some("netns/c68ed5e6536b"));
        assert_eq!(super::sandbox_rel(key, d), None);
        assert_eq!(super::sandbox_rel("/srv/docker-runx/netns/a", srv), None);
        assert_eq!(super::sandbox_rel("/srv/docker-run/netns/../a", srv), None);
    }

    #[test]
    fn daemon_roots_from_arguments() {
        use std::path::PathBuf;
        let args = |s: &str| super::args_of(s.replace(' ', "\0").as_bytes());
        let p = |s: &str| Some(PathBuf::from(s));
        let a = args("/usr/sbin/dockerd -H fd:// --data-root /srv/d --exec-root=/srv/r");
        assert_eq!((a.data, a.exec, a.config), (p("/srv/d"), p("/srv/r"), None));
        let a = args("dockerd -g /old --config-file=/etc/d.json --data-root=/new");
        assert_eq!((a.data, a.config), (p("/new"), p("/etc/d.json")));
        assert_eq!(args("dockerd -g=/g").data, p("/g"));
        assert_eq!(args("dockerd --data-root").data, None);
        assert_eq!(args("dockerd -- --data-root /x").data, None);
        assert_eq!(args("--data-root /argv0-is-not-a-flag").data, None);
        assert_eq!(args("dockerd --data-rootx /x").data, None);
    }

    #[test]
    fn daemon_roots_from_daemon_json() {
        use std::path::PathBuf;
        let mut bad = Vec::new();
        let a = super::config_roots(br#"{"data-root":"/srv/d","exec-root":"/srv/r"}"#, &mut bad);
        let a = a.ok().unwrap();
        assert_eq!(a.data, Some(PathBuf::from("/srv/d")));
        assert_eq!(a.exec, Some(PathBuf::from("/srv/r")));
        let a = super::config_roots(br#"{"graph":"/g","exec-root":7}"#, &mut bad);
        assert_eq!(a.ok().unwrap().data, Some(PathBuf::from("/g")));
        assert_eq!(bad, ["exec-root"]);
        assert!(super::config_roots(b"{\"data-root\":", &mut bad).is_err());
        assert!(super::config_roots(b"[]", &mut bad).is_err());
    }

    #[test]
    fn absurd_roots_are_not_used() {
        use std::path::Path;
        for bad in ["srv/docker", "", "/", "/srv/../etc", "./x"] {
            assert!(!super::usable(Path::new(bad)), "{bad}");
        }
        assert!(!super::usable(Path::new(&format!("/{}", "a".repeat(5000)))));
        assert!(super::usable(Path::new("/srv/docker")));
    }
}
