//! The checks: the run dir's own mount, each entry, nsfs mounts without
//! entries, namespaces held only in other mount namespaces, and daemons
//! whose netns directories look empty from here.

use super::holders::{self, Ident, Ns};
use super::placeholder::{self, Kind};
use super::{Finding, Repair, Severity};
use crate::bytes::cat;
use crate::mountinfo::{self, Mount};
use crate::output::escape::escape;
use crate::store::{self, RUN_DIR};
use std::collections::HashSet;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

/// Directories where daemons keep netns files they bind-mount themselves.
const DAEMON_DIRS: &[&str] = &[
    "/run/docker/netns",
    "/run/containerd/io.containerd.grpc.v1.cri/netns",
];

/// Mount state of this and every other mount namespace on the host.
pub struct World {
    pub ours: Vec<Mount>,
    pub others: Vec<Ns>,
    /// The other namespaces' scan did not answer within the deadline:
    /// `others` is empty and says nothing.
    pub late: bool,
}

/// The directories whose mounts doctor looks for in other namespaces.
fn watched() -> Vec<&'static [u8]> {
    std::iter::once(RUN_DIR)
        .chain(DAEMON_DIRS.iter().copied())
        .map(str::as_bytes)
        .collect()
}

impl World {
    pub fn read() -> World {
        // Other namespaces first: their scan forks and can take a while,
        // and our table should be as close as it can to the listing and
        // the lstats that the checks compare it with.
        let others = holders::scan(&watched());
        let ours = mountinfo::read("self").unwrap_or_default();
        World {
            ours,
            late: others.is_none(),
            others: others.unwrap_or_default(),
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

    /// The file at `path` as other namespaces' mountinfo names it: its
    /// filesystem's device and its place in that filesystem, from the
    /// mount serving its directory here.
    fn ident(&self, path: &[u8]) -> Option<Ident> {
        let p = Path::new(std::ffi::OsStr::from_bytes(path));
        let st = std::fs::symlink_metadata(p).ok()?;
        let m = self.by_id(crate::sys::mount_id(p.parent()?)?)?;
        Some(Ident {
            dev: (libc::major(st.dev()), libc::minor(st.dev())),
            fs_path: holders::fs_path(&m.root, &m.mount_point, path)?,
        })
    }

    /// Other namespaces with mounts on the file at `path` (ours, not a
    /// file of their own at the same path), each with its stack there.
    fn elsewhere(&self, path: &[u8]) -> Vec<(&Ns, Vec<&mountinfo::Line>)> {
        let Some(id) = self.ident(path) else {
            return Vec::new();
        };
        self.others
            .iter()
            .filter(|ns| ns.on_same_file(path, &id))
            .map(|ns| (ns, ns.stack_at(path)))
            .collect()
    }

    /// Whether every other namespace's mounts were read in full.
    fn complete(&self) -> bool {
        !self.late && self.others.iter().all(|ns| !ns.incomplete)
    }
}

/// Other views where a directory doctor watches holds a filesystem it does
/// not enter (README "Bounded reads"): said once per mount namespace.
fn not_entered(world: &World, out: &mut Vec<Finding>) {
    for ns in &world.others {
        let Some((dir, line)) = watched()
            .into_iter()
            .find_map(|d| ns.not_entered_at(d).map(|l| (d, l)))
        else {
            continue;
        };
        out.push(finding(
            "view-not-entered",
            Severity::Info,
            dir,
            format!(
                "{} has a filesystem of type {} at {} in its own mount namespace; doctor did not look inside it",
                holder_text(ns.actor(), true),
                lossy(&line.mount.fstype),
                lossy(&line.mount.mount_point),
            ),
            "a lookup there could wait forever on a server a user runs; what is mounted on top of it is still read from mountinfo",
            String::new(),
            Repair::None,
        ));
    }
}

fn is_netns(m: &Mount) -> bool {
    m.is_nsfs() && m.root.starts_with(b"net:[")
}

/// How a holder reads in a message: `process 12 (sleep)`, with its uid and
/// user namespace when `full`.
fn holder_text(pid: u32, full: bool) -> String {
    let w = holders::who(pid);
    if full {
        let uid = w.uid.map_or_else(|| "unknown".into(), |u| u.to_string());
        format!(
            "process {pid} ({}) running as uid {uid} in user namespace {}",
            w.comm, w.userns
        )
    } else {
        format!("process {pid} ({})", w.comm)
    }
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
    escape(b).into_owned()
}

/// Runs every check.
pub fn run() -> Vec<Finding> {
    run_with_world().0
}

/// Runs every check; also returns the mount state they were made from.
///
/// The scan takes no lock, so an `ip netns add` or `delete` running beside
/// it can pass for a problem for an instant: an entry mounted between the
/// mount-table read and its `lstat` reads as a foreign file, a mount
/// unmounted and unlinked between the table read and the listing as a
/// mount without an entry. Each scan looks again at what it is about to
/// call one of those (`unmounted`, `orphans`), and under load the same
/// name can be caught twice in a cycling add/delete, so a problem is
/// also believed only when [`CONFIRMS`] more scans, each
/// [`SETTLE`] after the last, find it again (same check, same path); the
/// findings reported, problems included, are the last scan's. No further
/// scan starts once the scans have taken [`SETTLE_BUDGET`] (a scan that
/// waited on other mount namespaces is slow: README "Bounded reads").
pub fn run_with_world() -> (Vec<Finding>, World) {
    let started = std::time::Instant::now();
    let mut world = World::read();
    let mut out = run_in(&world);
    for _ in 0..CONFIRMS {
        let problem = |f: &Finding| f.severity == Severity::Problem;
        if !out.iter().any(problem) || started.elapsed() >= SETTLE_BUDGET {
            break;
        }
        std::thread::sleep(SETTLE);
        world = World::read();
        let seen = std::mem::take(&mut out);
        out = run_in(&world)
            .into_iter()
            .filter(|f| {
                !problem(f)
                    || seen
                        .iter()
                        .any(|g| problem(g) && g.check == f.check && g.path == f.path)
            })
            .collect();
    }
    (out, world)
}

/// How many more scans must find a problem before it is reported.
const CONFIRMS: usize = 2;
/// The pause before each confirming scan: longer than an add's or a
/// delete's own steps take (a few ms).
const SETTLE: std::time::Duration = std::time::Duration::from_millis(25);
/// No confirming scan starts after this much scanning.
const SETTLE_BUDGET: std::time::Duration = std::time::Duration::from_secs(1);

fn run_in(world: &World) -> Vec<Finding> {
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
            run_dir_mount(world, !names.is_empty(), &mut out);
            for name in &names {
                entry(world, name, &mut out);
            }
            orphans(world, &names, &mut out);
        }
    }
    if world.late {
        out.push(finding(
            "other-namespaces-skipped",
            Severity::Info,
            b"/proc",
            format!(
                "other mount namespaces did not answer within {}s; skipped",
                super::bounded::DEADLINE.as_secs_f32()
            ),
            "reading them waited on a filesystem that does not answer (a FUSE server a user stopped, for example); what they hold is unknown, so no entry is removed as stale and none is adopted this run",
            String::new(),
            Repair::None,
        ));
    }
    not_entered(world, &mut out);
    daemons(world, &mut out);
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
            "a copy mounted beneath the run dir's own mount stays there when the name is deleted and keeps the namespace alive; it comes from a run dir that shares a peer group with its parent (iproute2 before 7.0 under a shared /run: every mount is made twice) or from one made a mount point over names already mounted in it (containerd mounts in a plain /run/netns; podman or ip netns add bind it onto itself later)",
            "rnetns doctor --fix".into(),
            Repair::Rebuild,
        ));
    }
    let Some(top_ns) = here.first() else {
        unmounted(world, name, hidden > 0, out);
        return;
    };
    if !is_netns(top_ns) {
        let what = if top_ns.is_nsfs() {
            format!(
                "\"{shown}\" has a namespace mounted on it that is not a network namespace ({})",
                lossy(&top_ns.root)
            )
        } else {
            format!(
                "\"{shown}\" has a {} mount on it, not a network namespace",
                lossy(&top_ns.fstype)
            )
        };
        out.push(finding(
            "foreign-mount",
            Severity::Problem,
            &path,
            what,
            "ip netns list prints \"Peer netns reference is invalid\" for it and exec fails with \"Invalid argument\"; doctor --fix never unmounts what an add did not mount",
            format!("look at it with `findmnt {}` and unmount it yourself if it is not needed", lossy(&path)),
            Repair::None,
        ));
        return;
    }
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

/// An entry with nothing mounted on it here: held in another mount
/// namespace, a stale placeholder, one in flight, or something an add did
/// not make (rnetns(8) DOCTOR).
fn unmounted(world: &World, name: &[u8], hidden_here: bool, out: &mut Vec<Finding>) {
    let path = store::entry_display(name);
    let shown = lossy(name);
    let elsewhere: Vec<_> = world
        .elsewhere(&path)
        .into_iter()
        .filter(|(_, stack)| !stack.is_empty())
        .collect();
    // Mounts that lookup in that view reaches, and copies hidden there.
    let (reached, hidden): (Vec<_>, Vec<_>) = elsewhere
        .into_iter()
        .partition(|(ns, stack)| ns.visible(stack[0]));
    let (held, other): (Vec<_>, Vec<_>) = reached
        .into_iter()
        .partition(|(_, stack)| stack.last().is_some_and(|l| is_netns(&l.mount)));
    if !held.is_empty() {
        let ns: Vec<&Ns> = held.iter().map(|(ns, _)| *ns).collect();
        held_elsewhere(name, &ns, out);
        return;
    }
    if let Some((ns, stack)) = other.first() {
        let top = stack.last().map_or(Vec::new(), |l| l.mount.fstype.clone());
        out.push(finding(
            "foreign-mount",
            Severity::Problem,
            &path,
            format!(
                "\"{shown}\" is an empty file here, but {} has a {} mount on it in its own mount namespace, not a network namespace",
                holder_text(ns.pid, false),
                lossy(&top)
            ),
            "doctor --fix never removes a file that something is mounted on, in any mount namespace",
            format!("look at it with `nsenter -t {} -m findmnt {}`", ns.pid, lossy(&path)),
            Repair::None,
        ));
        return;
    }
    if let Some((ns, _)) = hidden.first() {
        out.push(finding(
            "stale-entry",
            Severity::Problem,
            &path,
            format!("\"{shown}\" is an empty file here; in the mount namespace of {} something is still mounted on it, hidden under another mount", holder_text(ns.pid, false)),
            "left by a mount that never propagated or a run dir bound over itself; doctor --fix leaves a file that any mount namespace still mounts on (unlinking it would unmount that copy too)",
            format!("rnetns delete {shown}  (after checking `nsenter -t {} -m findmnt -R {RUN_DIR}`)", ns.pid),
            Repair::None,
        ));
        return;
    }
    let Ok(run) = std::fs::metadata(RUN_DIR) else {
        return;
    };
    let entry = store::entry_path(name);
    let Ok(st) = nix::sys::stat::lstat(&entry) else {
        return;
    };
    // Mounted on since the table was read (its mount is not in it): an add
    // in flight, which the next scan reads whole.
    let now_on = crate::sys::mount_id(&entry);
    if now_on.is_some_and(|id| world.by_id(id).is_none()) {
        return;
    }
    let grace = placeholder::grace();
    match placeholder::classify(&st, run.dev(), std::time::SystemTime::now(), grace) {
        // A copy mounted on it under the run dir's own mount: unlinking
        // fails (EBUSY); the rebuild of doubled-mounts repairs it.
        Kind::Stale if hidden_here => out.push(finding(
            "stale-entry",
            Severity::Problem,
            &path,
            format!("\"{shown}\" is an empty file with no namespace mounted on it where lookup reaches"),
            "a namespace is mounted on it below the run dir's own mount, where no command reaches it; list prints \"Peer netns reference is invalid\" and exec fails with \"Invalid argument\"",
            "rnetns doctor --fix  (rebuilds the run dir's mount)".into(),
            Repair::None,
        )),
        Kind::Stale if world.complete() => out.push(finding(
            "stale-entry",
            Severity::Problem,
            &path,
            format!("\"{shown}\" is an empty file with no namespace mounted on it in any mount namespace"),
            "left by a killed add or a mount that never propagated; list prints \"Peer netns reference is invalid\" and exec fails with \"Invalid argument\"",
            format!("rnetns delete {shown}  (or rnetns doctor --fix)"),
            Repair::RemoveStale(name.to_vec()),
        )),
        Kind::Stale => out.push(finding(
            "stale-entry",
            Severity::Problem,
            &path,
            format!("\"{shown}\" is an empty file with no namespace mounted on it here"),
            "left by a killed add or a mount that never propagated; doctor could not read every other mount namespace in full (too many mounts), so --fix leaves it",
            format!("rnetns delete {shown}  (after checking nothing mounts it elsewhere)"),
            Repair::None,
        )),
        Kind::InProgress(age) => out.push(finding(
            "in-progress",
            Severity::Info,
            &path,
            format!(
                "\"{shown}\" is an empty placeholder made {} ms ago, with nothing mounted on it yet",
                age.as_millis()
            ),
            "an add in flight creates the file first and mounts its namespace on it a moment later",
            format!(
                "nothing to do; if it is still there {} s after it was made, doctor calls it stale",
                grace.as_secs()
            ),
            Repair::None,
        )),
        Kind::Foreign(why) => out.push(finding(
            "foreign-file",
            Severity::Problem,
            &path,
            format!("\"{shown}\" is not a placeholder an add makes: {why}"),
            "ip netns list prints \"Peer netns reference is invalid\" for it and exec fails with \"Invalid argument\"; doctor --fix never removes what an add did not make",
            format!("move it out of {RUN_DIR} after checking it: ls -la {}", lossy(&path)),
            Repair::None,
        )),
    }
}

/// A name whose namespace is mounted on it only in other mount namespaces.
/// `--fix` binds it here only from a namespace root made and holds, whose
/// network namespace our user namespace owns (README "Bounded reads"); every
/// holder is named.
fn held_elsewhere(name: &[u8], holders: &[&Ns], out: &mut Vec<Finding>) {
    let path = store::entry_display(name);
    let shown = lossy(name);
    let mut refused = Vec::new();
    for ns in holders.iter().filter(|ns| ns.root_held()) {
        match holders::open_netns(ns, &path) {
            Ok(_) => {
                let what = if holders.len() == 1 {
                    format!(
                        "\"{shown}\" is an empty file here, but {} still has a namespace mounted on it in its own mount namespace",
                        holder_text(ns.pid, false)
                    )
                } else {
                    let all: Vec<String> = holders
                        .iter()
                        .map(|h| holder_text(h.actor(), true))
                        .collect();
                    format!(
                        "\"{shown}\" is an empty file here, but namespaces are mounted on it in other mount namespaces, held by: {}",
                        all.join("; ")
                    )
                };
                out.push(finding(
                    "stale-entry-held-elsewhere",
                    Severity::Problem,
                    &path,
                    what,
                    "the namespace was added from a private mount namespace (a container or a daemon with private mounts), so the mount never propagated here; exec fails with \"Invalid argument\"",
                    "rnetns doctor --fix  (binds that namespace here so the name works again)".into(),
                    Repair::Adopt { name: name.to_vec(), pid: ns.actor() },
                ));
                return;
            }
            Err(why) => refused.push(format!("{}: {why}", holder_text(ns.actor(), false))),
        }
    }
    let all: Vec<String> = holders.iter().map(|h| holder_text(h.pid, true)).collect();
    let (check, mut why) = if refused.is_empty() {
        ("stale-entry-held-by-user", String::from("doctor --fix binds only a network namespace that root made and holds: binding this one would put a namespace someone else controls under root's name"))
    } else {
        ("stale-entry-held-elsewhere", String::from("doctor --fix binds only a network namespace that root made and holds, reached safely"))
    };
    if !refused.is_empty() {
        why.push_str(&format!(": {}", refused.join("; ")));
    }
    out.push(finding(
        check,
        Severity::Problem,
        &path,
        format!(
            "\"{shown}\" is an empty file here, but a namespace is mounted on it in other mount namespaces, held by: {}",
            all.join("; ")
        ),
        &why,
        format!("find out who made it; `rnetns delete {shown}` removes the name, `rnetns attach {shown} pid:PID` names that namespace here if you trust it"),
        Repair::None,
    ));
}

/// A live namespace with no process and no other name: reported, never removed.
fn leak_candidate(world: &World, name: &[u8], top: &Mount, out: &mut Vec<Finding>) {
    let Ok(st) = std::fs::metadata(store::entry_path(name)) else {
        return;
    };
    if crate::procscan::pids_in((st.dev(), st.ino())).is_ok_and(|p| !p.is_empty()) {
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
            .map(|ns| {
                ns.lines
                    .iter()
                    .filter(|l| l.mount.is_nsfs() && l.mount.root == top.root)
                    .count()
            })
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
    let candidates: Vec<&Mount> = world
        .ours
        .iter()
        .filter(|m| m.is_nsfs() && m.parent == top && m.mount_point.starts_with(&prefix))
        .filter(|m| !known.contains(&m.mount_point))
        .collect();
    if candidates.is_empty() {
        return;
    }
    // The table was read before the listing: an `ip netns delete` in
    // between (unmount, then unlink) leaves a mount the listing lacks. A
    // mount still there, the same one, in a table read after the listing
    // was there all along, and so was its entry if `ip` made it: an add
    // creates the entry before it mounts, a delete unmounts before it
    // unlinks.
    let after = mountinfo::read("self").unwrap_or_default();
    for m in candidates {
        let stayed = after
            .iter()
            .any(|a| a.id == m.id && a.mount_point == m.mount_point && a.root == m.root);
        if stayed {
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
            let holder = world
                .elsewhere(&pb)
                .into_iter()
                .find(|(_, stack)| stack.last().is_some_and(|l| is_netns(&l.mount)))
                .map(|(ns, _)| ns);
            match holder {
                Some(h) => {
                    if reported.insert(h.pid) {
                        let comm = holders::who(h.pid).comm;
                        out.push(finding(
                            "daemon-private-mounts",
                            Severity::Problem,
                            dir.as_bytes(),
                            format!(
                                "{comm} (pid {}) runs in a mount namespace of its own whose / is {} (MountFlags=slave or private): its namespace files under {dir} look empty here",
                                h.pid, h.root_propagation
                            ),
                            "nsenter --net=FILE and ip netns symlinks to these files fail with \"Invalid argument\"",
                            format!("start {comm} without MountFlags=slave/private (e.g. systemctl edit, [Service] MountFlags=shared), or enter its containers with `rnetns exec pid:PID CMD`"),
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
        late: false,
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
