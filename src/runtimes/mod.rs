//! Runtime discovery for `list --all-runtimes`, `identify --all-runtimes`
//! and runtime references: every network namespace on the host, found
//! read-only (no daemon socket, no writes) in each runtime's on-disk state,
//! one file per runtime, and merged here by identity, the (st_dev, st_ino)
//! of the nsfs file, so a namespace is listed once however many paths and
//! processes reach it.
//!
//! Each source adds [`Evidence`]: paths that reach a namespace (with the
//! runtime their location or name implies), containers known to use one,
//! and stale paths. Who owns a namespace is decided by rank: a runtime's
//! own netns directory or name pattern, then the caller's own namespace
//! (`host`), then a plain iproute2 name, then the runtime of a container
//! seen inside it, else `process`. Whatever cannot be read becomes a note
//! for stderr, never a guess.

pub mod cgroups;
pub mod containerd;
pub mod crio;
pub mod docker;
pub mod iproute2;
pub mod members;
pub mod neutron;
pub mod nspawn;
pub mod podman;
pub mod procs;
pub mod reader;
pub mod slim;
pub mod sqlite;
pub mod state;
pub mod trust;
pub mod view;

use state::Notes;
use std::collections::{BTreeMap, HashMap};

pub use crate::nsident::Key;

/// A container (or pod sandbox, router...) using a namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub id: String,
    pub name: Option<String>,
    pub runtime: &'static str,
    pub pod: Option<String>,
    /// The uid whose tree this came from (see [`trust`]); `None`: root's.
    pub owner: Option<u32>,
}

impl Container {
    /// The first 12 characters of the id, as `docker ps` shows it.
    pub fn short_id(&self) -> &str {
        self.id.get(..12).unwrap_or(&self.id)
    }
}

/// How strongly a source's word on the owner counts (higher wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rank {
    /// A path found only in a user's tree (their pause-process view): it
    /// never outranks the host's or root's own word (see [`trust`]).
    User,
    /// A run-dir name matching no runtime's pattern.
    Named,
    /// The caller's own namespace.
    Host,
    /// A runtime's own netns directory or naming pattern.
    Runtime,
}

/// A file path that reaches a namespace (or a stale one that no longer does).
#[derive(Debug, Clone)]
pub struct PathHit {
    pub path: Vec<u8>,
    /// `None`: the file exists but is not a live network namespace.
    pub key: Option<Key>,
    /// The owner this location implies, if any.
    pub owner: Option<(&'static str, Rank)>,
    /// The iproute2 run-dir name, for entries of the run dir.
    pub name: Option<Vec<u8>>,
    /// The uid whose tree this path was found in; `None`: root's.
    pub uid: Option<u32>,
}

/// Everything the sources found, before merging.
#[derive(Debug, Default)]
pub struct Evidence {
    pub paths: Vec<PathHit>,
    pub members: Vec<(Key, Container)>,
    /// Containers by id, so a cgroup path can be given a name.
    pub catalog: Vec<Container>,
    pub notes: Notes,
    /// One open file per namespace a source opened anyway, kept for the
    /// NSID query (at most [`HELD_MAX`], to stay far from the fd limit).
    pub held: HashMap<Key, std::fs::File>,
    /// (runtime, id) of containers whose namespace their runtime's state
    /// settled on its own (docker: the sandbox file and the PID agree).
    pub settled: Vec<(&'static str, String)>,
    /// Containers of a user's state that were not believed ([`trust`]).
    pub ignored: Vec<Container>,
    /// Namespaces a user's runtime daemon runs in, with no file of their
    /// own (rootless docker's, made by rootlesskit): (namespace, runtime,
    /// uid), each checked to be that user's ([`trust::User::owns`]).
    pub daemons: Vec<(Key, &'static str, u32)>,
}

/// How many namespace files [`Evidence::hold`] keeps open.
pub const HELD_MAX: usize = 256;

impl Evidence {
    /// Keeps `file` (namespace `key`) open for the NSID query.
    pub fn hold(&mut self, key: Key, file: std::fs::File) {
        if self.held.len() < HELD_MAX {
            self.held.entry(key).or_insert(file);
        }
    }

    pub fn path(&mut self, path: Vec<u8>, key: Option<Key>, owner: Option<(&'static str, Rank)>) {
        self.paths.push(PathHit {
            path,
            key,
            owner,
            name: None,
            uid: None,
        });
    }

    /// A path found in user `uid`'s tree, already checked to reach a
    /// namespace that user owns.
    pub fn user_path(&mut self, path: Vec<u8>, key: Key, uid: u32) {
        self.paths.push(PathHit {
            path,
            key: Some(key),
            owner: Some(("podman", Rank::User)),
            name: None,
            uid: Some(uid),
        });
    }
}

/// One network namespace as `list --all-runtimes` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    pub key: Option<Key>,
    pub nsid: Option<i32>,
    pub names: Vec<Vec<u8>>,
    pub paths: Vec<Vec<u8>>,
    pub runtime: &'static str,
    pub containers: Vec<Container>,
    pub pids: Vec<u32>,
    pub stale: bool,
    /// The user whose tree alone reached this namespace (see [`trust`]).
    pub owner_uid: Option<u32>,
}

impl Namespace {
    /// Opens the namespace through one of its processes or paths, checking
    /// its identity again after opening (a PID may have been reused). Each
    /// is looked up with `O_PATH` and opened only if it is a regular file
    /// (nsfs), through that fd, never by name again after the check (a FIFO
    /// swapped in since the scan is never opened); a path in a user's view
    /// (`/proc/PID/root/…`) is walked through that view ([`view::View`]).
    pub fn open(&self) -> Option<std::fs::File> {
        let key = self.key?;
        let pids = self
            .pids
            .iter()
            .map(|p| format!("/proc/{p}/ns/net").into_bytes());
        pids.chain(self.paths.iter().cloned())
            .filter_map(|p| state::netns_file_by_path(&p).ok().flatten())
            .find(|(k, _)| *k == key)
            .map(|(_, f)| f)
    }
}

/// The whole host: namespaces (host first, then by inode, stale last) and
/// notes about what could not be read.
pub struct Scan {
    pub namespaces: Vec<Namespace>,
    pub notes: Vec<String>,
    /// Namespace files the sources left open (see [`Evidence::held`]).
    pub held: HashMap<Key, std::fs::File>,
    /// Every container the runtimes' state describes, running or not
    /// (for the messages of references that match none).
    pub catalog: Vec<Container>,
    /// Containers of a user's state that were not believed ([`trust`]).
    pub ignored: Vec<Container>,
}

impl Scan {
    pub fn find(&self, key: Key) -> Option<&Namespace> {
        self.namespaces.iter().find(|n| n.key == Some(key))
    }
}

/// Reads every source and merges what they found.
pub fn scan() -> Scan {
    use crate::mountinfo::{of_fs_types, CGROUP, CGROUP2, NSFS};
    let mounts = of_fs_types(&[NSFS, CGROUP, CGROUP2]);
    let procs = procs::Procs::scan(&mounts);
    let mut ev = Evidence::default();
    iproute2::scan(&mut ev);
    docker::scan(&mut ev, &procs);
    podman::scan(&mut ev, &procs);
    let roots = [containerd::STATE];
    trust::scan_tree(&mut ev, &procs, &roots, "containerd", containerd::scan);
    trust::scan_tree(&mut ev, &procs, &[crio::RUN_ROOT], "cri-o", crio::scan);
    nspawn::scan(&mut ev, &procs);
    procs::scan_mounts(&mut ev, &mounts);
    members::attach(&procs, &mut ev);
    procs.note_unreadable(&mut ev.notes);
    merge(ev, &procs)
}

/// Every pure step of the runtime state readers run on one file's bytes,
/// as each runtime would read them (JSON decoding, docker/podman/
/// containerd/CRI-O field extraction, pidfiles, the bolt-database pod
/// scan, cgroup paths). For the `runtime_state` fuzz target and the seeded
/// test in tests/hardening_parsers.rs; returns how many containers the
/// bytes described.
pub fn parse_state_bytes(data: &[u8]) -> usize {
    const ID: &str = "c1c824d296376cab147979267602f5a1a0518d152d8ec6748a134c01309edcc9";
    let mut found = usize::from(state::parse_pid(data).is_some());
    found += usize::from(podman::pod_name(data, ID) != ID[..12]);
    let text = String::from_utf8_lossy(data);
    found += usize::from(cgroups::container_of_cgroup(&text).is_some());
    found += usize::from(cgroups::container_of_path(&text).is_some());
    let Some(v) = state::parse_json(data) else {
        return found;
    };
    if let Some(cfg) = docker::config_of(ID, &v) {
        found += 1 + usize::from(cfg.running);
    }
    if let Some(pod) = podman::libpod_pod(&v) {
        found += 1 + usize::from(pod.is_some());
    }
    found += podman::names_of(&v).len();
    found += usize::from(state::oci_netns_path(&v).is_some());
    found += usize::from(containerd::task_container(ID, &v).name.is_some());
    found + usize::from(crio::spec_container(ID, &v).is_some())
}

/// Whether docker's two ways of reading `config.v2.json` (the fields read
/// straight from the bytes, and the whole file as a `serde_json::Value`)
/// give the same answer for `data`: for the `runtime_state` fuzz target and
/// the seeded test in tests/hardening_parsers.rs.
pub fn docker_parses_agree(data: &[u8]) -> bool {
    const ID: &str = "c1c824d296376cab147979267602f5a1a0518d152d8ec6748a134c01309edcc9";
    let whole = state::parse_json(data).map(|v| docker::config_of(ID, &v));
    match docker::parse_config(ID, data) {
        Ok(fast) => whole == Some(fast),
        Err(docker::Malformed) => whole.is_none(),
    }
}

#[derive(Default)]
struct Acc {
    names: Vec<Vec<u8>>,
    paths: Vec<Vec<u8>>,
    /// The paths, for the duplicate check (60k paths of one namespace
    /// took 4 s searched as a list).
    seen: std::collections::HashSet<Vec<u8>>,
    /// (runtime, id) of the containers, likewise.
    members: std::collections::HashSet<(&'static str, String)>,
    owner: Option<(&'static str, Rank)>,
    containers: Vec<Container>,
    pids: Vec<u32>,
    /// Whether a root-owned source reached it, and which users' did.
    root_seen: bool,
    users: Vec<u32>,
}

impl Acc {
    fn reached_by(&mut self, uid: Option<u32>) {
        match uid {
            None => self.root_seen = true,
            Some(u) if !self.users.contains(&u) => self.users.push(u),
            Some(_) => {}
        }
    }

    /// The user whose tree alone reached this namespace.
    fn owner_uid(&self) -> Option<u32> {
        match self.users[..] {
            [u] if !self.root_seen => Some(u),
            _ => None,
        }
    }
}

fn claim(acc: &mut Acc, owner: Option<(&'static str, Rank)>) {
    if let Some(o) = owner {
        if acc.owner.is_none_or(|(_, r)| o.1 > r) {
            acc.owner = Some(o);
        }
    }
}

/// Merges evidence by namespace identity.
pub fn merge(ev: Evidence, procs: &procs::Procs) -> Scan {
    let mut map: BTreeMap<Key, Acc> = BTreeMap::new();
    let mut stale = Vec::new();
    if let Some(host) = procs.own {
        let acc = map.entry(host).or_default();
        acc.reached_by(None);
        claim(acc, Some(("host", Rank::Host)));
    }
    for (pid, key) in &procs.by_pid {
        map.entry(*key).or_default().pids.push(*pid);
    }
    for hit in ev.paths {
        let Some(key) = hit.key else {
            stale.push(hit);
            continue;
        };
        let acc = map.entry(key).or_default();
        if let Some(n) = hit.name {
            acc.names.push(n);
        }
        if acc.seen.insert(hit.path.clone()) {
            acc.paths.push(hit.path);
        }
        acc.reached_by(hit.uid);
        claim(acc, hit.owner);
    }
    for (key, runtime, uid) in ev.daemons {
        let acc = map.entry(key).or_default();
        acc.reached_by(Some(uid));
        claim(acc, Some((runtime, Rank::User)));
    }
    for (key, c) in ev.members {
        let acc = map.entry(key).or_default();
        acc.reached_by(c.owner);
        if acc.members.insert((c.runtime, c.id.clone())) {
            acc.containers.push(c);
        }
    }
    let mut namespaces: Vec<Namespace> = map
        .into_iter()
        .map(|(key, mut acc)| {
            acc.pids.sort_unstable();
            let runtime = match acc.owner {
                Some((r, _)) => r,
                None => acc.containers.first().map_or("process", |c| c.runtime),
            };
            let owner_uid = acc.owner_uid();
            Namespace {
                key: Some(key),
                nsid: None,
                owner_uid,
                names: acc.names,
                paths: acc.paths,
                runtime,
                containers: acc.containers,
                pids: acc.pids,
                stale: false,
            }
        })
        .collect();
    // Host first; the rest stay in inode order (BTreeMap).
    namespaces.sort_by_key(|n| n.runtime != "host");
    namespaces.extend(stale.into_iter().map(|hit| Namespace {
        key: None,
        nsid: None,
        names: hit.name.into_iter().collect(),
        paths: vec![hit.path],
        runtime: hit.owner.map_or("iproute2", |(r, _)| r),
        containers: Vec::new(),
        pids: Vec::new(),
        stale: true,
        owner_uid: hit.uid,
    }));
    Scan {
        namespaces,
        notes: ev.notes.0,
        held: ev.held,
        catalog: ev.catalog,
        ignored: ev.ignored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: &str, rt: &'static str) -> Container {
        Container {
            id: id.into(),
            name: None,
            runtime: rt,
            pod: None,
            owner: None,
        }
    }

    #[test]
    fn owner_is_decided_by_rank_and_paths_are_merged_by_identity() {
        let mut procs = procs::Procs::default();
        procs.own = Some((4, 1));
        procs.by_pid.insert(7, (4, 2));
        procs.by_pid.insert(3, (4, 2));
        procs.by_pid.insert(9, (4, 3));
        let mut ev = Evidence::default();
        ev.paths.push(PathHit {
            path: b"/run/netns/a".to_vec(),
            key: Some((4, 2)),
            owner: Some(("iproute2", Rank::Named)),
            name: Some(b"a".to_vec()),
            uid: None,
        });
        ev.path(
            b"/run/docker/netns/abc".to_vec(),
            Some((4, 2)),
            Some(("docker", Rank::Runtime)),
        );
        ev.path(
            b"/run/docker/netns/old".to_vec(),
            None,
            Some(("docker", Rank::Runtime)),
        );
        ev.members.push(((4, 3), c("x", "lxc")));
        ev.members.push(((4, 3), c("x", "lxc")));
        let s = merge(ev, &procs);
        let rts: Vec<_> = s.namespaces.iter().map(|n| n.runtime).collect();
        assert_eq!(rts, ["host", "docker", "lxc", "docker"]);
        assert_eq!(s.namespaces[1].pids, [3, 7]);
        assert_eq!(s.namespaces[1].names, [b"a".to_vec()]);
        assert_eq!(s.namespaces[1].paths.len(), 2);
        assert_eq!(s.namespaces[2].containers.len(), 1);
        assert!(s.namespaces[3].stale && s.namespaces[3].key.is_none());
    }

    #[test]
    fn a_users_path_never_outranks_roots_and_labels_only_its_own() {
        let mut procs = procs::Procs::default();
        procs.own = Some((4, 1));
        let mut ev = Evidence::default();
        // A user's path to a namespace a run-dir name also reaches.
        ev.paths.push(PathHit {
            path: b"/run/netns/a".to_vec(),
            key: Some((4, 2)),
            owner: Some(("iproute2", Rank::Named)),
            name: Some(b"a".to_vec()),
            uid: None,
        });
        ev.user_path(b"/proc/9/root/run/user/1000/netns/x".to_vec(), (4, 2), 1000);
        // The host's namespace, reached by a user's path too.
        ev.user_path(b"/proc/9/root/run/user/1000/netns/h".to_vec(), (4, 1), 1000);
        // Only the user's tree reached this one.
        ev.user_path(b"/proc/9/root/run/user/1000/netns/y".to_vec(), (4, 3), 1000);
        let mut mine = c("m", "podman");
        mine.owner = Some(1000);
        ev.members.push(((4, 3), mine));
        let s = merge(ev, &procs);
        let got: Vec<_> = s
            .namespaces
            .iter()
            .map(|n| (n.runtime, n.owner_uid))
            .collect();
        assert_eq!(
            got,
            [("host", None), ("iproute2", None), ("podman", Some(1000))]
        );
    }
}
