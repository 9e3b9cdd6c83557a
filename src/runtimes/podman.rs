//! Podman, rootful and rootless. Rootful namespaces are `netns-…` entries of
//! the iproute2 run dir; each container's OCI spec
//! (`<storage>/{overlay,vfs}-containers/ID/userdata/config.json`) names its
//! netns path, pod (from the cgroup path) and, with the storage's
//! `containers.json`, its name; its PID is in the run root's `pidfile`.
//! Pod names come from a best-effort scan of libpod's `bolt_state.db`,
//! read only when a container is in a pod.
//! Rootless namespaces are mounted only in the rootless pause process's
//! mount namespace (PID in `/run/user/UID/libpod/tmp/pause.pid`), so they
//! are read through `/proc/PAUSE/root/run/user/UID/netns/`.
//! A user's state (and a rootful store a user owns) is believed only for
//! that user's processes and namespaces ([`super::trust`]).

use super::procs::Procs;
use super::state::{annotation, is_hex_id, oci_netns_path, str_at, Root};
use super::{trust, Container, Evidence, Key};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

pub const STORAGE: &str = "/var/lib/containers/storage";
pub const RUN_ROOT: &str = "/run/containers/storage";
const USER_RUN: &str = "/run/user";

pub fn scan(ev: &mut Evidence, procs: &Procs) {
    let netns = Root::open(crate::store::RUN_DIR, &mut super::state::Notes::default());
    // Ownership by the tree's owner, not its path (README "Trust"): a
    // rootful store that a user owns speaks only for that user.
    let owner = trust::tree_owner(Path::new(STORAGE)).max(trust::tree_owner(Path::new(RUN_ROOT)));
    let mut user = (owner != 0).then(|| trust::User::new(owner));
    scan_store(
        ev,
        procs,
        Path::new(STORAGE),
        Path::new(RUN_ROOT),
        netns.as_ref(),
        user.as_mut(),
        None,
    );
    if let Some(u) = user {
        u.note("podman", &mut ev.notes);
    }
    scan_rootless(ev, procs);
}

/// Rootful or one user's storage: containers and their namespaces. With
/// `user`, the store is that user's: its containers are theirs, and one
/// counts only if its process and namespace are theirs ([`trust`]).
fn scan_store(
    ev: &mut Evidence,
    procs: &Procs,
    storage: &Path,
    run: &Path,
    netns: Option<&Root>,
    mut user: Option<&mut trust::User>,
    view: Option<&UserView>,
) {
    let Some(store) = Root::open(storage, &mut ev.notes) else {
        return;
    };
    let run = Root::open(run, &mut ev.notes);
    let mut pods = Pods::default();
    for driver in DRIVERS {
        let names = names(&store, driver, ev);
        for Stored {
            id,
            userdata: rel,
            spec,
        } in stored(&store, driver, &mut ev.notes)
        {
            let id = id.as_str();
            let Some(pod) = libpod_pod(&spec) else {
                continue;
            };
            let pod = pod.map(|p| pods.name(&store, &p, &mut ev.notes));
            let c = Container {
                id: id.to_string(),
                name: names.iter().find(|(i, _)| i == id).map(|(_, n)| n.clone()),
                runtime: "podman",
                pod,
                owner: user.as_ref().map(|u| u.uid),
            };
            let pid = run
                .as_ref()
                .and_then(|r| r.pid(&rel.join("pidfile"), &mut Default::default()));
            let found = pid
                .and_then(|p| {
                    if user.is_some() {
                        procs.pid_runs_rootless(p, id)
                    } else {
                        procs.pid_runs(p, id)
                    }
                    .map(|k| (Some(p), k))
                })
                .or_else(|| by_path(oci_netns_path(&spec)?, &spec, procs, netns));
            // A rootless container whose PID a cgroup cannot confirm: its
            // spec's netns path in the pause process's view, believed only
            // when that user owns the namespace (checked in UserView::key).
            let mut verified = false;
            let found = found.or_else(|| {
                let (v, u) = (view?, user.as_deref()?);
                let hit = v.key(
                    oci_netns_path(&spec)?,
                    &spec,
                    procs,
                    run.as_ref(),
                    driver,
                    u,
                )?;
                verified = true;
                Some(hit)
            });
            let Some((pid, key)) = found else {
                ev.catalog.push(c); // stopped, or its process is gone
                continue;
            };
            if let Some(u) = user.as_deref_mut() {
                if !verified && !pid.is_some_and(|p| u.owns(p, key)) {
                    u.ignore(c.name.as_deref().unwrap_or(c.short_id()));
                    ev.ignored.push(c);
                    continue;
                }
            }
            ev.catalog.push(c.clone());
            ev.members.push((key, c));
        }
    }
}

/// The storage's per-driver container directories.
pub const DRIVERS: [&str; 2] = ["overlay-containers", "vfs-containers"];

/// One container of a storage: its id, `userdata` directory (relative to
/// the storage) and OCI spec.
pub struct Stored {
    pub id: String,
    pub userdata: PathBuf,
    pub spec: serde_json::Value,
}

/// Every container of one driver whose spec parses, in id order.
pub fn stored(store: &Root, driver: &str, notes: &mut super::state::Notes) -> Vec<Stored> {
    let mut ids = store.list(Path::new(driver), notes);
    ids.sort();
    ids.iter()
        .filter_map(|i| i.to_str())
        .filter(|i| is_hex_id(i))
        .filter_map(|id| {
            let userdata = Path::new(driver).join(id).join("userdata");
            let spec = store.json(&userdata.join("config.json"), notes)?;
            Some(Stored {
                id: id.to_string(),
                userdata,
                spec,
            })
        })
        .collect()
}

/// A container's namespace from its spec path: a run-dir entry, or the
/// pod infra's `/proc/PID/ns/net` (checked to still run the infra), with
/// the PID it was reached through.
fn by_path(
    path: &str,
    spec: &serde_json::Value,
    procs: &Procs,
    netns: Option<&Root>,
) -> Option<(Option<u32>, Key)> {
    if let Some(name) = path
        .strip_prefix("/run/netns/")
        .or_else(|| path.strip_prefix("/var/run/netns/"))
    {
        return Some((None, netns?.netns(Path::new(name)).ok().flatten()?));
    }
    let pid: u32 = path
        .strip_prefix("/proc/")?
        .strip_suffix("/ns/net")?
        .parse()
        .ok()?;
    let infra = annotation(spec, "io.kubernetes.cri-o.SandboxID")?;
    Some((Some(pid), procs.pid_runs(pid, infra)?))
}

/// id -> first name, from containers/storage's `containers.json`.
fn names(store: &Root, driver: &str, ev: &mut Evidence) -> Vec<(String, String)> {
    let Some(list) = store.json(&Path::new(driver).join("containers.json"), &mut ev.notes) else {
        return Vec::new();
    };
    names_of(&list)
}

/// For a libpod spec, `Some(pod id)` from its cgroup path (pure); `None`
/// for a spec podman did not write.
pub fn libpod_pod(spec: &serde_json::Value) -> Option<Option<String>> {
    if annotation(spec, "io.container.manager") != Some("libpod") {
        return None;
    }
    Some(
        str_at(spec, "/linux/cgroupsPath")
            .and_then(super::cgroups::container_of_path)
            .and_then(|c| c.pod),
    )
}

/// id -> first name pairs of a `containers.json` (pure).
pub fn names_of(list: &serde_json::Value) -> Vec<(String, String)> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let id = c.get("id")?.as_str()?;
            let name = c.get("names")?.as_array()?.first()?.as_str()?;
            Some((id.to_string(), name.to_string()))
        })
        .collect()
}

/// Pod names found in libpod's bolt database (`{"id":"…","name":"…"`),
/// read when the first container in a pod asks (the file is hundreds of
/// KiB, and most hosts' containers are in no pod).
#[derive(Default)]
struct Pods(Option<Vec<u8>>);

impl Pods {
    fn name(&mut self, store: &Root, id: &str, notes: &mut super::state::Notes) -> String {
        let db = self.0.get_or_insert_with(|| {
            store
                .read(Path::new("libpod/bolt_state.db"), notes)
                .unwrap_or_default()
        });
        pod_name(db, id)
    }
}

/// Pod `id`'s name in the bytes of a bolt database (pure), else its
/// short id.
pub fn pod_name(db: &[u8], id: &str) -> String {
    let needle = format!("{{\"id\":\"{id}\",\"name\":\"");
    let found = db
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
        .and_then(|at| {
            let rest = &db[at + needle.len()..];
            let end = rest.iter().take(256).position(|&b| b == b'"')?;
            String::from_utf8(rest[..end].to_vec()).ok()
        });
    found.unwrap_or_else(|| id.get(..12).unwrap_or(id).to_string())
}

/// Rootless podman: every `/run/user/UID` with a live pause process owned
/// by UID.
fn scan_rootless(ev: &mut Evidence, procs: &Procs) {
    let Some(users) = Root::open(USER_RUN, &mut Default::default()) else {
        return;
    };
    let mut uids: Vec<u32> = users
        .list(Path::new("."), &mut ev.notes)
        .iter()
        .filter_map(|u| u.to_str()?.parse().ok())
        .collect();
    uids.sort_unstable();
    for uid in uids {
        let Some(user_run) = Root::open(Path::new(USER_RUN).join(uid.to_string()), &mut ev.notes)
        else {
            continue;
        };
        let Some(pause) = user_run.pid(Path::new("libpod/tmp/pause.pid"), &mut ev.notes) else {
            continue;
        };
        let mut user = trust::User::new(uid);
        // The pause process must be the user's (a stale pause.pid's PID
        // may now be anyone's; a planted one, root's).
        if !user.owns_pid(pause) {
            continue;
        }
        scan_view(ev, &mut user, pause);
        if let Some(home) = home_of(uid) {
            let storage = home.join(".local/share/containers/storage");
            let run = Path::new(USER_RUN).join(uid.to_string()).join("containers");
            let view = UserView {
                netns: Root::open(
                    format!("/proc/{pause}/root{USER_RUN}/{uid}/netns"),
                    &mut Default::default(),
                ),
                prefix: format!("{USER_RUN}/{uid}/netns/"),
            };
            scan_store(
                ev,
                procs,
                &storage,
                &run,
                None,
                Some(&mut user),
                Some(&view),
            );
        }
        user.note("podman", &mut ev.notes);
    }
}

/// The namespaces mounted in the rootless pause process's view of the
/// user's run dir, each counted only if the user owns it.
fn scan_view(ev: &mut Evidence, user: &mut trust::User, pause: u32) {
    let uid = user.uid;
    let view = PathBuf::from(format!("/proc/{pause}/root{USER_RUN}/{uid}"));
    let Some(inside) = Root::open(&view, &mut ev.notes) else {
        return;
    };
    for rel in ["netns", "containers/networks/rootless-netns"] {
        for name in inside.list(Path::new(rel), &mut Default::default()) {
            let rel = Path::new(rel).join(name);
            if let Ok(Some((key, file))) = inside.netns_file(&rel) {
                if !user.owns_netns(&file) {
                    user.ignore_path();
                    continue;
                }
                let path = view.join(&rel).as_os_str().as_bytes().to_vec();
                ev.hold(key, file);
                ev.user_path(path, key, uid);
            }
        }
    }
}

/// One rootless user's namespaces as its pause process sees them: a
/// container's spec names `/run/user/UID/netns/NAME` (a file that is a
/// namespace only in the pause process's mount namespace), or a pod
/// infra's `/proc/PID/ns/net`. Rootless containers on cgroup v1 stay in
/// the cgroups of the session that started them, so a cgroup cannot
/// confirm their PIDs; these paths can.
pub struct UserView {
    /// `/proc/PAUSE/root/run/user/UID/netns`.
    netns: Option<Root>,
    /// `/run/user/UID/netns/`.
    prefix: String,
}

impl UserView {
    /// The PID (when known) and namespace of a rootless container, only
    /// when `user` owns that namespace (and that PID).
    fn key(
        &self,
        path: &str,
        spec: &serde_json::Value,
        procs: &Procs,
        run: Option<&Root>,
        driver: &str,
        user: &trust::User,
    ) -> Option<(Option<u32>, Key)> {
        if let Some(name) = path.strip_prefix(self.prefix.as_str()) {
            if name.contains('/') {
                return None;
            }
            let (key, file) = self.netns.as_ref()?.netns_file(Path::new(name)).ok()??;
            return user.owns_netns(&file).then_some((None, key));
        }
        // A pod member: the infra's PID, as the infra's own pidfile has it.
        let pid: u32 = path
            .strip_prefix("/proc/")?
            .strip_suffix("/ns/net")?
            .parse()
            .ok()?;
        let infra = annotation(spec, "io.kubernetes.cri-o.SandboxID").filter(|i| is_hex_id(i))?;
        let rel = Path::new(driver).join(infra).join("userdata/pidfile");
        let infra_pid = run?.pid(&rel, &mut Default::default())?;
        let key = (infra_pid == pid).then(|| procs.by_pid.get(&pid).copied())??;
        user.owns(pid, key).then_some((Some(pid), key))
    }
}

/// A user's home directory from /etc/passwd.
pub(super) fn home_of(uid: u32) -> Option<PathBuf> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 6 && f[2].parse() == Ok(uid)).then(|| PathBuf::from(f[5]))
    })
}
