//! The checks: the run dir's own mount, each entry, nsfs mounts without
//! entries, namespaces held only in other mount namespaces, and daemons
//! whose netns directories look empty from here.

use super::{Finding, Repair, Severity};
use crate::mountinfo::{self, Mount};
use crate::store::{self, cat, RUN_DIR};
use std::collections::HashSet;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

/// Directories where daemons keep netns files they bind-mount themselves.
const DAEMON_DIRS: &[&str] = &[
    "/run/docker/netns",
    "/run/containerd/io.containerd.grpc.v1.cri/netns",
];

/// nsfs mounts seen in a mount namespace other than ours.
pub struct Foreign {
    pub pid: u32,
    pub comm: String,
    /// Propagation of that namespace's `/` (how it was started).
    pub root_propagation: &'static str,
    pub nsfs: Vec<Mount>,
}

/// Mount state of this and every other mount namespace on the host.
pub struct World {
    pub ours: Vec<Mount>,
    pub others: Vec<Foreign>,
}

impl World {
    pub fn read() -> World {
        let ours = mountinfo::read("self").unwrap_or_default();
        World {
            ours,
            others: foreign_namespaces(),
        }
    }

    fn by_id(&self, id: u64) -> Option<&Mount> {
        self.ours.iter().find(|m| m.id == id)
    }

    /// The stack of our mounts at `path` that path lookup actually reaches:
    /// the one serving it (statx mount id) and the ones it was mounted on
    /// at the same place, top first. Empty when `path` is not a mount point.
    /// Mounts hidden under other mounts (e.g. copied from the parent mount
    /// namespace and now covered) are not part of it.
    fn stack_at(&self, path: &[u8]) -> Vec<&Mount> {
        let p = std::path::Path::new(std::ffi::OsStr::from_bytes(path));
        let mut out = Vec::new();
        let mut cur = crate::sys::mount_id(p).and_then(|id| self.by_id(id));
        while let Some(m) = cur {
            if m.mount_point != path || out.len() > 64 {
                break;
            }
            out.push(m);
            cur = self.by_id(m.parent);
        }
        out
    }

    /// Mounts at `path` hidden below the run dir's own mount: sitting on one
    /// of its ancestors, as 6.1's self-bind in a shared /run leaves them.
    fn hidden_copies(&self, path: &[u8], run_dir_top: Option<&Mount>) -> usize {
        let Some(top) = run_dir_top else { return 0 };
        let mut ancestors = Vec::new();
        let mut cur = self.by_id(top.parent);
        while let Some(m) = cur {
            if ancestors.len() > 64 || ancestors.contains(&m.id) {
                break;
            }
            ancestors.push(m.id);
            cur = self.by_id(m.parent);
        }
        self.ours
            .iter()
            .filter(|m| m.mount_point == path && ancestors.contains(&m.parent))
            .count()
    }

    /// A process in another mount namespace through which a namespace is
    /// reachable at `path` (checked by opening /proc/PID/root/PATH).
    pub fn holder(&self, path: &[u8]) -> Option<&Foreign> {
        self.others.iter().find(|f| {
            f.nsfs.iter().any(|m| m.mount_point == path) && {
                let mut p = format!("/proc/{}/root", f.pid).into_bytes();
                p.extend_from_slice(path);
                std::fs::File::open(std::path::Path::new(std::ffi::OsStr::from_bytes(&p)))
                    .is_ok_and(|file| crate::mounts::is_nsfs(&file))
            }
        })
    }
}

fn foreign_namespaces() -> Vec<Foreign> {
    let own = std::fs::metadata("/proc/self/ns/mnt").map(|m| m.ino()).ok();
    let mut seen: HashSet<u64> = own.into_iter().collect();
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(ns) = std::fs::metadata(format!("/proc/{pid}/ns/mnt")) else {
            continue;
        };
        if !seen.insert(ns.ino()) {
            continue;
        }
        let Ok(mounts) = mountinfo::read(&pid.to_string()) else {
            continue;
        };
        let root_propagation = mounts
            .iter()
            .find(|m| m.mount_point == b"/")
            .map_or("unknown", Mount::propagation);
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .map(|s| s.trim_end().to_string())
            .unwrap_or_default();
        out.push(Foreign {
            pid,
            comm,
            root_propagation,
            nsfs: mounts.into_iter().filter(Mount::is_nsfs).collect(),
        });
    }
    out
}

fn finding(
    check: &'static str,
    severity: Severity,
    path: &[u8],
    what: String,
    why: &str,
    fix: String,
    repair: Repair,
) -> Finding {
    Finding {
        check,
        severity,
        path: path.to_vec(),
        what,
        why: why.to_string(),
        fix,
        repair,
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs every check.
pub fn run() -> Vec<Finding> {
    let world = World::read();
    let mut out = Vec::new();
    let run_dir = RUN_DIR.as_bytes();
    match std::fs::symlink_metadata(RUN_DIR) {
        Err(_) => {}
        Ok(m) if m.file_type().is_symlink() => {
            let target = std::fs::read_link(RUN_DIR)
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            out.push(finding(
                "run-dir-symlink",
                super::Severity::Problem,
                run_dir,
                format!("{RUN_DIR} is a symlink to {target}"),
                "ip netns mounts then land in the target, the link is lost on reboot, and deleting names that the target's owner also mounted fails with \"Device or resource busy\"",
                format!("rm {RUN_DIR} && mkdir {RUN_DIR}, then name the namespaces you need with `rnetns attach NAME docker:CONTAINER` or `rnetns attach NAME pid:PID`"),
                Repair::None,
            ));
            return out;
        }
        Ok(m) if !m.is_dir() => {
            out.push(finding(
                "run-dir-not-directory",
                Severity::Problem,
                run_dir,
                format!("{RUN_DIR} is not a directory"),
                "every ip netns command that needs the run dir fails with \"Not a directory\"",
                format!("mv {RUN_DIR} {RUN_DIR}.bad"),
                Repair::None,
            ));
            return out;
        }
        Ok(_) => {
            let names = store::entries().unwrap_or_default();
            run_dir_mount(&world, !names.is_empty(), &mut out);
            for name in &names {
                entry(&world, name, &mut out);
            }
            orphans(&world, &names, &mut out);
        }
    }
    daemons(&world, &mut out);
    super::owners::docker(&mut out);
    super::owners::podman(&mut out);
    out
}

fn run_dir_mount(world: &World, has_entries: bool, out: &mut Vec<Finding>) {
    let run_dir = RUN_DIR.as_bytes();
    let mounts = world.stack_at(run_dir);
    let Some(top) = mounts.first() else {
        // The mount the run dir sits in: when it is shared (systemd makes
        // every mount shared), entries mounted in the run dir propagate
        // through it, as on Kubernetes nodes, where containerd keeps its
        // cni-* entries in a plain /run/netns directory. Nothing to report.
        let p = std::path::Path::new(RUN_DIR);
        let holder = crate::sys::mount_id(p).and_then(|id| world.by_id(id));
        if has_entries && holder.is_none_or(|m| m.shared.is_none()) {
            out.push(finding(
                "run-dir-not-mount-point",
                Severity::Problem,
                run_dir,
                format!("{RUN_DIR} holds entries but is not a mount point"),
                "names added here do not propagate to other mount namespaces (containers, daemons started later), which see empty files",
                "rnetns doctor --fix".into(),
                Repair::Rebuild,
            ));
        }
        return;
    };
    if mounts.len() > 1 {
        out.push(finding(
            "run-dir-stacked",
            Severity::Problem,
            run_dir,
            format!("{} mounts are stacked on {RUN_DIR}", mounts.len()),
            "entries mounted on a lower copy are hidden and look like stale files; a non-recursive bind of the run dir does this",
            "rnetns doctor --fix".into(),
            Repair::Rebuild,
        ));
    }
    let parent_group = world
        .ours
        .iter()
        .find(|m| m.id == top.parent)
        .and_then(|p| p.shared);
    match top.shared {
        None => out.push(finding(
            "run-dir-not-shared",
            Severity::Problem,
            run_dir,
            format!("{RUN_DIR} is a {} mount, not shared", top.propagation()),
            "names added from now on do not propagate to mount namespaces that share the run dir, so they see empty files (\"Peer netns reference is invalid\")",
            format!("mount --make-shared {RUN_DIR}  (or rnetns doctor --fix)"),
            Repair::Reshare,
        )),
        Some(g) if parent_group == Some(g) => out.push(finding(
            "run-dir-in-parent-peer-group",
            Severity::Problem,
            run_dir,
            format!("{RUN_DIR} shares peer group {g} with the mount it sits on"),
            "every entry is mounted twice (once under the run dir, once hidden under its parent), so mounts and deletes misbehave; iproute2 before 7.0 does this under a shared /run",
            "rnetns doctor --fix".into(),
            Repair::Rebuild,
        )),
        Some(_) => {}
    }
}

fn entry(world: &World, name: &[u8], out: &mut Vec<Finding>) {
    let path = store::entry_display(name);
    let shown = lossy(name);
    let Ok(meta) = std::fs::symlink_metadata(store::entry_path(name)) else {
        return;
    };
    let ft = meta.file_type();
    if ft.is_symlink() {
        let target = std::fs::read_link(store::entry_path(name))
            .map(|t| t.display().to_string())
            .unwrap_or_default();
        out.push(finding(
            "entry-symlink",
            Severity::Info,
            &path,
            format!("\"{shown}\" is a symlink to {target}"),
            "it works only while the target is a namespace file; a /proc/PID path breaks when the process exits and may later point at another process",
            "rnetns attach NAME pid:PID (a bind mount) instead of a symlink".to_string(),
            Repair::None,
        ));
        return;
    }
    if ft.is_dir() || ft.is_fifo() || ft.is_block_device() || ft.is_char_device() || ft.is_socket()
    {
        out.push(finding(
            "entry-not-file",
            Severity::Problem,
            &path,
            format!("\"{shown}\" is not a regular file"),
            "ip netns list prints \"Peer netns reference is invalid\" for it and exec fails with \"Invalid argument\"",
            format!("remove it by hand after checking what it is: ls -la {}", lossy(&path)),
            Repair::None,
        ));
        return;
    }
    let here: Vec<&Mount> = world.stack_at(&path);
    let run_top = world.stack_at(RUN_DIR.as_bytes()).first().copied();
    let hidden = world.hidden_copies(&path, run_top);
    if hidden > 0 {
        out.push(finding(
            "doubled-mounts",
            Severity::Problem,
            &path,
            format!("\"{shown}\" is mounted {hidden} more time(s), hidden under the run dir's own mount"),
            "the run dir shares a peer group with its parent (iproute2 before 7.0 under a shared /run), so every mount is made twice and deleting a name leaves a hidden copy pinning the namespace",
            "rnetns doctor --fix".into(),
            Repair::Rebuild,
        ));
    }
    let Some(top_ns) = here.first().filter(|m| m.is_nsfs()) else {
        match world.holder(&path) {
            Some(h) => out.push(finding(
                "stale-entry-held-elsewhere",
                Severity::Problem,
                &path,
                format!(
                    "\"{shown}\" is an empty file here, but process {} ({}) still has a namespace mounted on it in its own mount namespace",
                    h.pid, h.comm
                ),
                "the namespace was added from a private mount namespace (a container or a daemon with private mounts), so the mount never propagated here; exec fails with \"Invalid argument\"",
                "rnetns doctor --fix  (binds that namespace here so the name works again)".into(),
                Repair::Adopt { name: name.to_vec(), pid: h.pid },
            )),
            None => out.push(finding(
                "stale-entry",
                Severity::Problem,
                &path,
                format!("\"{shown}\" is an empty file with no namespace mounted on it in any mount namespace"),
                "left by a killed add or a mount that never propagated; list prints \"Peer netns reference is invalid\" and exec fails with \"Invalid argument\"",
                format!("rnetns delete {shown}  (or rnetns doctor --fix)"),
                Repair::RemoveStale(name.to_vec()),
            )),
        }
        return;
    };
    if here.len() > 1 {
        out.push(finding(
            "stacked-mounts",
            Severity::Problem,
            &path,
            format!("{} mounts are stacked on \"{shown}\"", here.len()),
            "iproute2's delete then fails with \"Device or resource busy\" and the name may hide another namespace",
            "rnetns doctor --fix  (or rnetns delete, which removes every layer)".into(),
            Repair::Rebuild,
        ));
    }
    leak_candidate(world, name, top_ns, out);
}

/// A live namespace with no process and no other name: reported, never removed.
fn leak_candidate(world: &World, name: &[u8], top: &Mount, out: &mut Vec<Finding>) {
    let Ok(st) = std::fs::metadata(store::entry_path(name)) else {
        return;
    };
    if crate::procscan::pids_in(st.dev(), st.ino()).is_ok_and(|p| !p.is_empty()) {
        return;
    }
    let others = world
        .ours
        .iter()
        .filter(|m| {
            m.is_nsfs() && m.root == top.root && m.mount_point != store::entry_display(name)
        })
        .count()
        + world
            .others
            .iter()
            .map(|f| f.nsfs.iter().filter(|m| m.root == top.root).count())
            .sum::<usize>();
    if others == 0 {
        out.push(finding(
            "no-processes",
            Severity::Info,
            &store::entry_display(name),
            format!("namespace {} has no processes and no other name", lossy(&top.root)),
            "normal for a namespace made with `add` and not used yet; if nothing will use it, it is a leak",
            format!("rnetns delete {}  (only if nothing uses it)", lossy(name)),
            Repair::None,
        ));
    }
}

/// nsfs mounts under the run dir whose path has no entry.
fn orphans(world: &World, names: &[Vec<u8>], out: &mut Vec<Finding>) {
    let prefix = cat(&[RUN_DIR.as_bytes(), b"/"]);
    let known: HashSet<Vec<u8>> = names.iter().map(|n| store::entry_display(n)).collect();
    // Only mounts sitting on the run dir's own (visible) mount count;
    // copies hidden under other mounts are not reachable from here.
    let Some(top) = world.stack_at(RUN_DIR.as_bytes()).first().map(|m| m.id) else {
        return;
    };
    for m in world
        .ours
        .iter()
        .filter(|m| m.is_nsfs() && m.parent == top && m.mount_point.starts_with(&prefix))
    {
        if !known.contains(&m.mount_point) {
            out.push(finding(
                "mount-without-entry",
                Severity::Problem,
                &m.mount_point,
                format!(
                    "a namespace ({}) is mounted at a path the run dir does not list",
                    lossy(&m.root)
                ),
                "it pins the namespace but no command can name it",
                "rnetns doctor --fix".into(),
                Repair::Rebuild,
            ));
        }
    }
}

/// Daemon netns directories whose files look empty here.
fn daemons(world: &World, out: &mut Vec<Finding>) {
    let mut reported: HashSet<u32> = HashSet::new();
    for dir in DAEMON_DIRS {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            let path = Path::new(dir).join(e.file_name());
            let pb = path.as_os_str().as_encoded_bytes().to_vec();
            if world.stack_at(&pb).first().is_some_and(|m| m.is_nsfs()) {
                continue;
            }
            match world.holder(&pb) {
                Some(h) => {
                    if reported.insert(h.pid) {
                        out.push(finding(
                            "daemon-private-mounts",
                            Severity::Problem,
                            dir.as_bytes(),
                            format!(
                                "{} (pid {}) runs in a mount namespace of its own whose / is {} (MountFlags=slave or private): its namespace files under {dir} look empty here",
                                h.comm, h.pid, h.root_propagation
                            ),
                            "nsenter --net=FILE and ip netns symlinks to these files fail with \"Invalid argument\"",
                            format!("start {} without MountFlags=slave/private (e.g. systemctl edit, [Service] MountFlags=shared), or enter its containers with `rnetns exec pid:PID CMD`", h.comm),
                            Repair::None,
                        ));
                    }
                }
                None => out.push(finding(
                    "daemon-stale-file",
                    Severity::Info,
                    &pb,
                    "an empty netns file with no namespace mounted anywhere".into(),
                    "Docker leaves these for about a minute after a container stops, then removes them",
                    String::new(),
                    Repair::None,
                )),
            }
        }
    }
}

/// One line for the all-clear message.
pub fn summary() -> String {
    let Ok(names) = store::entries() else {
        return format!("{RUN_DIR} does not exist yet (the first add creates it)");
    };
    let world = World {
        ours: mountinfo::read("self").unwrap_or_default(),
        others: Vec::new(),
    };
    let n = names.len();
    let plural = if n == 1 { "entry" } else { "entries" };
    if world.stack_at(RUN_DIR.as_bytes()).is_empty() {
        format!("{RUN_DIR} is not a mount point yet (the first add makes it one); {n} {plural}")
    } else {
        format!(
            "{RUN_DIR} is a shared mount point with its own peer group; {n} {plural}, all mounted"
        )
    }
}
