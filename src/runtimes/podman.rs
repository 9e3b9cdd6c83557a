//! Podman, rootful and rootless. Rootful namespaces are `netns-…` entries of
//! the iproute2 run dir; each container's OCI spec
//! (`<storage>/{overlay,vfs}-containers/ID/userdata/config.json`) names its
//! netns path, pod (from the cgroup path) and, with the storage's
//! `containers.json`, its name; its PID is in the run root's `pidfile`.
//! A container's pod comes from its cgroup path, else (rootless on cgroup
//! v1, no cgroup of its own) from libpod's database; pod names come from
//! the database: SQLite `db.sql` (podman >= 4.8, [`super::sqlite`]) when
//! there is one, and a best-effort scan of `libpod/bolt_state.db` for what
//! it did not say. The database is read only when a container is in a
//! pod, or may be (it names a pod infra, or it is rootless). Names (`containers.json`) and
//! namespace paths (the OCI spec) never come from the database.
//! Rootless namespaces are mounted only in the rootless pause process's
//! mount namespace (PID in `/run/user/UID/libpod/tmp/pause.pid`), so they
//! are read through `/proc/PAUSE/root/run/user/UID/netns/`.
//! A user's state (and a rootful store a user owns) is believed only for
//! that user's processes and namespaces ([`super::trust`]).

use super::procs::Procs;
use super::state::{annotation, is_hex_id, oci_netns_path, str_at, Root};
use super::view::View;
use super::{trust, Container, Evidence, Key};
use std::collections::{HashMap, HashSet};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

pub const STORAGE: &str = "/var/lib/containers/storage";
pub const RUN_ROOT: &str = "/run/containers/storage";
const USER_RUN: &str = "/run/user";
/// The rootless pause process's PID, in a user's run dir.
const PAUSE_PID: &str = "libpod/tmp/pause.pid";

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
    user: Option<&mut trust::User>,
    view: Option<&UserView>,
) {
    let Some(store) = Root::open(storage, &mut ev.notes) else {
        return;
    };
    let run = Root::open(run, &mut ev.notes);
    scan_store_in(ev, procs, &store, run.as_ref(), netns, user, view);
}

/// The same, with the storage and run root open.
fn scan_store_in(
    ev: &mut Evidence,
    procs: &Procs,
    store: &Root,
    run: Option<&Root>,
    netns: Option<&Root>,
    mut user: Option<&mut trust::User>,
    view: Option<&UserView>,
) {
    let mut found = Vec::new();
    for driver in DRIVERS {
        let names = names(store, driver, ev);
        for s in stored(store, driver, &mut ev.notes) {
            if let Some(pod) = libpod_pod(&s.spec) {
                let name = names.get(&s.id).cloned();
                found.push((s, pod, name, driver));
            }
        }
    }
    // The database, read once, for the pods asked about and the members
    // of a pod whose cgroup path does not say which.
    let pods_wanted: HashSet<&str> = found.iter().filter_map(|f| f.1.as_deref()).collect();
    // A rootless container has no cgroup of its own on cgroup v1, so
    // any may be in a pod (its infra too, which names no sandbox); a
    // rootful one without a pod in its cgroup path only if it names one.
    let rootless = user.is_some();
    let members_wanted: HashSet<&str> = found
        .iter()
        .filter(|f| {
            f.1.is_none()
                && (rootless || annotation(&f.0.spec, "io.kubernetes.cri-o.SandboxID").is_some())
        })
        .map(|f| f.0.id.as_str())
        .collect();
    let db = if pods_wanted.is_empty() && members_wanted.is_empty() {
        Libpod::default()
    } else {
        libpod_db(store, &pods_wanted, &members_wanted, &mut ev.notes)
    };
    for (stored, pod, name, driver) in &found {
        let pod = pod.clone().or_else(|| db.members.get(&stored.id).cloned());
        let Stored {
            id,
            userdata: rel,
            spec,
        } = stored;
        let id = id.as_str();
        let pod = pod.as_ref().map(|p| match db.pods.get(p.as_str()) {
            Some(n) => n.clone(),
            None => p.get(..12).unwrap_or(p).to_string(),
        });
        let c = Container {
            id: id.to_string(),
            name: name.clone(),
            runtime: "podman",
            pod,
            owner: user.as_ref().map(|u| u.uid),
        };
        let pid = run.and_then(|r| r.pid(&rel.join("pidfile"), &mut Default::default()));
        let found = pid
            .and_then(|p| {
                if user.is_some() {
                    procs.pid_runs_rootless(p, id)
                } else {
                    procs.pid_runs(p, id)
                }
                .map(|k| (Some(p), k))
            })
            .or_else(|| by_path(oci_netns_path(spec)?, spec, procs, netns));
        // A rootless container whose PID a cgroup cannot confirm: its
        // spec's netns path in the pause process's view, believed only
        // when that user owns the namespace (checked in UserView::key).
        let mut verified = false;
        let found = found.or_else(|| {
            let (v, u) = (view?, user.as_deref()?);
            let hit = v.key(oci_netns_path(spec)?, spec, procs, run, driver, u)?;
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

/// The storage's per-driver container directories.
pub const DRIVERS: [&str; 2] = ["overlay-containers", "vfs-containers"];

/// One container of a storage: its id, `userdata` directory (relative to
/// the storage) and OCI spec.
pub struct Stored {
    pub id: String,
    pub userdata: PathBuf,
    pub spec: serde_json::Value,
}

/// Every container of one driver whose spec parses, in id order. Only the
/// spec's used fields are kept ([`super::slim`]), one file at a time.
pub fn stored(store: &Root, driver: &str, notes: &mut super::state::Notes) -> Vec<Stored> {
    let mut ids = store.list(Path::new(driver), notes);
    ids.sort();
    ids.iter()
        .filter_map(|i| i.to_str())
        .filter(|i| is_hex_id(i))
        .filter_map(|id| {
            let userdata = Path::new(driver).join(id).join("userdata");
            let rel = userdata.join("config.json");
            let bytes = store.read(&rel, notes)?;
            let Some(spec) = super::slim::spec(&bytes) else {
                store.note_malformed(&rel, notes);
                return None;
            };
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

/// id -> first name, from containers/storage's `containers.json` (only
/// those fields parsed, [`super::slim::names`]).
fn names(store: &Root, driver: &str, ev: &mut Evidence) -> HashMap<String, String> {
    let rel = Path::new(driver).join("containers.json");
    let Some(bytes) = store.read(&rel, &mut ev.notes) else {
        return HashMap::new();
    };
    match super::slim::names(&bytes) {
        Some(list) => list.into_iter().rev().collect(),
        None => {
            store.note_malformed(&rel, &mut ev.notes);
            HashMap::new()
        }
    }
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

/// What libpod's database says about pods: pod id -> name, and
/// container id -> pod id.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Libpod {
    pub pods: HashMap<String, String>,
    pub members: HashMap<String, String>,
}

/// libpod's database in `store`, for pods `pods` and containers
/// `members`: SQLite `db.sql` (and its log) when present, then the bolt
/// database for what that did not say (a store migrated to SQLite may
/// keep its old bolt file; ids are unique, so a stale entry cannot name
/// another pod). Read through the store's root like every state file,
/// with its caps.
fn libpod_db(
    store: &Root,
    pods: &HashSet<&str>,
    members: &HashSet<&str>,
    notes: &mut super::state::Notes,
) -> Libpod {
    let mut db = Libpod::default();
    if let Some(main) = store.read(Path::new("db.sql"), notes) {
        let wal = store.read(Path::new("db.sql-wal"), &mut Default::default());
        match sqlite_db(&main, wal.as_deref(), pods, members) {
            Some(found) => db = found,
            None => notes.add(format!(
                "skipping {}: not a libpod SQLite database",
                store.path().join("db.sql").display()
            )),
        }
    }
    let mut pods_left: HashSet<&str> = pods
        .iter()
        .copied()
        .filter(|p| !db.pods.contains_key(*p))
        .collect();
    let members_left: HashSet<&str> = members
        .iter()
        .copied()
        .filter(|c| !db.members.contains_key(*c))
        .collect();
    if pods_left.is_empty() && members_left.is_empty() {
        return db;
    }
    let Some(bolt) = store.read(Path::new("libpod/bolt_state.db"), notes) else {
        return db;
    };
    for (c, p) in pod_members(&bolt, &members_left) {
        db.members.entry(c).or_insert(p);
    }
    pods_left.extend(db.members.values().map(String::as_str));
    pods_left.retain(|p| !db.pods.contains_key(*p));
    let names = pod_names(&bolt, &pods_left);
    db.pods.extend(names);
    db
}

/// The pods and members asked about, from the bytes of libpod's SQLite
/// database and its log (pure): `ContainerConfig(ID, Name, PodID, JSON)`
/// and `PodConfig(ID, Name, JSON)`, at most [`super::state::TREE_ENTRIES`]
/// rows each. `None` if it is not such a database.
pub fn sqlite_db(
    main: &[u8],
    wal: Option<&[u8]>,
    pods: &HashSet<&str>,
    members: &HashSet<&str>,
) -> Option<Libpod> {
    let limit = super::state::TREE_ENTRIES;
    let db = super::sqlite::Db::new(main, wal)?;
    let mut out = Libpod::default();
    for row in db.table("ContainerConfig", limit)? {
        let (Some(id), Some(pod)) = (row.first(), row.get(2)) else {
            continue;
        };
        if let (Some(id), Some(pod)) = (id.text(), pod.text()) {
            if members.contains(id) && !pod.is_empty() {
                out.members.insert(id.to_string(), pod.to_string());
            }
        }
    }
    let their_pods: HashSet<&str> = out.members.values().map(String::as_str).collect();
    let mut names = HashMap::new();
    for row in db.table("PodConfig", limit)? {
        let (Some(id), Some(name)) = (row.first(), row.get(1)) else {
            continue;
        };
        if let (Some(id), Some(name)) = (id.text(), name.text()) {
            if pods.contains(id) || their_pods.contains(id) {
                names.insert(id.to_string(), name.to_string());
            }
        }
    }
    out.pods = names;
    Some(out)
}

/// Container id -> pod id for containers `wanted`, from the bytes of
/// libpod's bolt database (pure): a container's config is stored as
/// `{"spec":{...},"id":"ID","name":"NAME","pod":"POD",...}`. One pass,
/// like [`pod_names`].
pub fn pod_members(db: &[u8], wanted: &HashSet<&str>) -> HashMap<String, String> {
    const HEAD: &[u8] = b"\"id\":\"";
    const NAME: &[u8] = b"\",\"name\":\"";
    const POD: &[u8] = b"\",\"pod\":\"";
    let mut out = HashMap::new();
    if wanted.is_empty() {
        return out;
    }
    let mut at = 0;
    while let Some(i) = find(&db[at..], HEAD) {
        let rest = &db[at + i + HEAD.len()..];
        at += i + 1;
        let Some(id) = rest.get(..64).and_then(|b| std::str::from_utf8(b).ok()) else {
            continue;
        };
        if !wanted.contains(id) || out.contains_key(id) {
            continue;
        }
        let Some(name) = rest[64..].strip_prefix(NAME) else {
            continue;
        };
        let Some(end) = name.iter().take(256).position(|&b| b == b'"') else {
            continue;
        };
        let Some(pod) = name[end..].strip_prefix(POD) else {
            continue;
        };
        let Some(stop) = pod.iter().take(256).position(|&b| b == b'"') else {
            continue;
        };
        if let Ok(p) = std::str::from_utf8(&pod[..stop]) {
            if is_hex_id(p) {
                out.insert(id.to_string(), p.to_string());
            }
        }
    }
    out
}

/// The names of pods `wanted` in the bytes of libpod's bolt database
/// (pure): each `{"id":"ID","name":"NAME"`, the first for each id, as
/// [`pod_name`] finds them. One pass over the database (read once per
/// storage, and only when a container is in a pod), not a search per
/// container: 400 containers and a 16 MiB database took 13 s; only the
/// wanted names are kept.
pub fn pod_names(db: &[u8], wanted: &HashSet<&str>) -> HashMap<String, String> {
    const HEAD: &[u8] = b"{\"id\":\"";
    const MID: &[u8] = b"\",\"name\":\"";
    let mut out = HashMap::new();
    let mut at = 0;
    while let Some(i) = find(&db[at..], HEAD) {
        let rest = &db[at + i + HEAD.len()..];
        at += i + 1;
        let Some(end) = rest.iter().take(256).position(|&b| b == b'"') else {
            continue;
        };
        let Some(name) = rest[end..].strip_prefix(MID) else {
            continue;
        };
        let Ok(id) = std::str::from_utf8(&rest[..end]) else {
            continue;
        };
        if !wanted.contains(id) || out.contains_key(id) {
            continue;
        }
        let Some(stop) = name.iter().take(256).position(|&b| b == b'"') else {
            continue;
        };
        if let Ok(n) = std::str::from_utf8(&name[..stop]) {
            out.insert(id.to_string(), n.to_string());
        }
    }
    out
}

/// The first place `needle` occurs in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = needle[0];
    let mut at = 0;
    while let Some(i) = hay[at..].iter().position(|&b| b == first) {
        let s = at + i;
        if hay[s..].starts_with(needle) {
            return Some(s);
        }
        at = s + 1;
    }
    None
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
/// by UID. Everything here is a tree the user can reach, read through a
/// [`View`] (README "Bounded reads"): the user's run dir and storage in our own view,
/// the netns directory in the pause process's, resolved inside it.
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
    if uids.is_empty() {
        return;
    }
    let own = match View::own() {
        Ok(v) => Rc::new(v),
        Err(e) => {
            let e = crate::error::errno_of(e);
            return ev.notes.errno(Path::new("/proc/self/mountinfo"), e);
        }
    };
    // A user without a pause process has no rootless namespaces: no
    // reader is forked for them (a logged-in user's /run/user/UID is
    // common). The lookup only crosses mounts `own` trusts.
    uids.retain(|uid| {
        let dir = format!("{USER_RUN}/{uid}");
        Root::open_in(&own, dir.as_bytes(), &mut Default::default())
            .is_some_and(|r| r.exists(Path::new(PAUSE_PID)))
    });
    super::reader::per_user(ev, &uids, super::reader::DEADLINE, |uid, ev| {
        scan_user(ev, procs, &own, uid)
    });
}

/// One user's rootless podman state (in a forked reader, see
/// [`super::reader`]), believed only for what that user owns
/// ([`trust`]).
fn scan_user(ev: &mut Evidence, procs: &Procs, own: &Rc<View>, uid: u32) {
    let user_dir = format!("{USER_RUN}/{uid}");
    let user_run = Root::open_in(own, user_dir.as_bytes(), &mut ev.notes);
    let Some(user_run) = user_run.filter(|r| not_redirected(r, &user_dir, ev)) else {
        return;
    };
    let Some(pause) = user_run.pid(Path::new(PAUSE_PID), &mut ev.notes) else {
        return;
    };
    let mut user = trust::User::new(uid);
    // The pause process must be the user's (a stale pause.pid's PID may
    // now be anyone's; a planted one, root's).
    if !user.owns_pid(pause) {
        return;
    }
    let mut netns_dir = None;
    match View::of_pid(pause, own) {
        Ok(view) => {
            let view = Rc::new(view);
            let inside = Root::open_in(&view, user_dir.as_bytes(), &mut ev.notes);
            if let Some(inside) = inside.filter(|r| not_redirected(r, &user_dir, ev)) {
                scan_view(ev, &mut user, &inside);
                let dir = format!("{user_dir}/netns");
                netns_dir = Root::open_in(&view, dir.as_bytes(), &mut Default::default());
            }
        }
        Err(e) => {
            let e = crate::error::errno_of(e);
            ev.notes
                .errno(Path::new(&format!("/proc/{pause}/mountinfo")), e);
        }
    }
    if let Some(home) = home_of(uid) {
        let storage = home.join(".local/share/containers/storage");
        let run = format!("{user_dir}/containers");
        let storage = Root::open_in(own, storage.as_os_str().as_bytes(), &mut ev.notes);
        let run = Root::open_in(own, run.as_bytes(), &mut Default::default());
        let view = UserView {
            netns: netns_dir,
            prefix: format!("{user_dir}/netns/"),
        };
        if let Some(storage) = storage {
            let (user, view) = (Some(&mut user), Some(&view));
            scan_store_in(ev, procs, &storage, run.as_ref(), None, user, view);
        }
    }
    user.note("podman", &mut ev.notes);
}

/// The namespaces mounted in the rootless pause process's view of the
/// user's run dir (`inside`), each counted only if the user owns it.
fn scan_view(ev: &mut Evidence, user: &mut trust::User, inside: &Root) {
    for rel in ["netns", "containers/networks/rootless-netns"] {
        for name in inside.list(Path::new(rel), &mut Default::default()) {
            let rel = Path::new(rel).join(name);
            if let Ok(Some((key, file))) = inside.netns_file(&rel) {
                if !user.owns_netns(&file) {
                    user.ignore_path();
                    continue;
                }
                let path = inside.path().join(&rel).as_os_str().as_bytes().to_vec();
                ev.hold(key, file);
                ev.user_path(path, key, user.uid);
            }
        }
    }
}

/// Whether a user's run dir `root` is where it says, not a symlink the
/// user made to somewhere else (`/run/user/1000 -> /run` would show root's
/// named namespaces as the user's podman namespaces); noted if not.
fn not_redirected(root: &Root, user_dir: &str, ev: &mut Evidence) -> bool {
    let real = root.real_path().unwrap_or_default();
    if real == user_dir.as_bytes() {
        return true;
    }
    ev.notes.add(format!(
        "skipping {}: a symlink to {}",
        root.path().display(),
        crate::output::escape::escape(real)
    ));
    false
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bolt_members_are_found_in_one_pass() {
        let (c, p) = ("c".repeat(64), "a".repeat(64));
        let db = format!(
            r#"xx{{"spec":{{}},"id":"{c}","name":"web","pod":"{p}","lockID":1}}{{"id":"{p}","name":"mypod"}}"#
        );
        let wanted: HashSet<&str> = [c.as_str()].into();
        let got = pod_members(db.as_bytes(), &wanted);
        assert_eq!(got, HashMap::from([(c.clone(), p.clone())]));
        // Not asked about, or no pod: nothing.
        assert!(pod_members(db.as_bytes(), &HashSet::new()).is_empty());
        let alone = format!(r#"{{"spec":{{}},"id":"{c}","name":"web","lockID":1}}"#);
        assert!(pod_members(alone.as_bytes(), &wanted).is_empty());
        // A truncated database.
        assert!(pod_members(&db.as_bytes()[..80], &wanted).is_empty());
    }
}
