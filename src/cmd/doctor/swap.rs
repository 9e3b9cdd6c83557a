//! The run dir's mount rebuilt with no window (ARCHITECTURE.md "Locks"): a new mount is
//! built beside the old one, detached, and slid under it; only then is the
//! old one taken away. At every instant each name resolves to the
//! namespace it resolved to before, and a kill at any point leaves either
//! the old tree, or the new tree under the old one, which the next run
//! collapses by unmounting the old top (see [`collapse`]), after carrying
//! down what was bound on the old top alone meanwhile.
//!
//! Steps of [`replace`], each a syscall that changes nothing visible until
//! the last two:
//! 1. `open_tree(RUN_DIR, OPEN_TREE_CLONE)`: a detached copy of the run
//!    dir's mount alone (its entries as bare files).
//! 2. Per namespace a name resolves to: `open_tree(nsfd, "", CLONE)` and
//!    `move_mount` onto the copy's entry (Linux 6.15 mounts on detached
//!    trees; before that the copy is made recursive, entry stacks and all).
//! 3. `mount_setattr` private, then shared, recursively: a peer group of
//!    its own (D3).
//! 4. Carry every namespace the old tree gained meanwhile over to the
//!    copy (before any lock; again at step 6 for what changed since).
//! 5. Under rnetns's own lock: `move_mount(copy, RUN_DIR,
//!    MOVE_MOUNT_BENEATH)` (Linux 6.5): the copy goes under the old top,
//!    which still serves every lookup.
//! 6. Under the run dir's flock too: wait for the `add`s that got past the
//!    flock before us to bind (6.1 creates its placeholder right after
//!    dropping the flock and binds within the same `add`), carry over what
//!    changed since step 4, then `umount2(/proc/self/fd/OLD, MNT_DETACH)`:
//!    the old top goes, the copy serves the same names.
//!
//! Layouts where something lies below the run dir's top mount (stacked
//! run-dir mounts, copies hidden under it by a shared /run, no run-dir
//! mount at all) cannot be collapsed this way: a mount under the new one
//! cannot be removed without removing the new one. [`replace`] says so
//! with `None` and the caller falls back to the old rebuild.

use crate::mountinfo::{self, Mount};
use crate::store::{self, RUN_DIR};
use crate::sys;
use std::collections::HashMap;
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long the cutover waits for `add`s already past the flock to bind.
const INFLIGHT_WAIT: Duration = Duration::from_millis(500);

/// A bare placeholder younger than this may be an `add` in progress.
const FRESH: Duration = Duration::from_secs(10);

/// What a namespace file is: (st_dev, st_ino) of the nsfs inode.
type NsId = (u64, u64);

/// The run dir's mount layout as far as the window-free paths care.
enum Layout {
    /// One run-dir mount, nothing hidden under it: [`replace`] applies.
    Single,
    /// Two run-dir mounts where the lower one names every namespace the
    /// top one does (a replace killed between its last two steps): the top
    /// can simply go.
    TopOverComplete,
    /// The same two mounts, where the top names namespaces the lower one
    /// does not (a kill left the top private and an `ip netns add`
    /// re-shared it, so its binds no longer reach the lower one): they are
    /// carried down ([`complete_lower`]), then the top goes.
    TopOverCopy,
    /// Anything else: the legacy rebuild.
    Other,
}

/// Rebuilds the run dir's mount without a window, when the layout allows;
/// `None`: it does not (or the kernel lacks the calls), nothing was
/// changed, and the caller falls back to the legacy rebuild.
pub fn rebuild() -> Option<String> {
    match layout() {
        Layout::Single => replace(),
        Layout::TopOverComplete | Layout::TopOverCopy => Some(collapse()),
        Layout::Other => None,
    }
}

fn layout() -> Layout {
    let mounts = mountinfo::read("self").unwrap_or_default();
    let Some(top) = sys::mount_id(Path::new(RUN_DIR)).and_then(|id| by_id(&mounts, id)) else {
        return Layout::Other;
    };
    if top.mount_point != RUN_DIR.as_bytes() {
        return Layout::Other;
    }
    let under_top = |m: &Mount| descends_from(&mounts, m, top.id);
    let others: Vec<&Mount> = mounts
        .iter()
        .filter(|m| in_run_dir(m) && m.id != top.id && !under_top(m))
        .collect();
    if others.is_empty() {
        return Layout::Single;
    }
    // Exactly one lower run-dir mount, the top's parent, with its own
    // entries and nothing else below; its parent is not a run-dir mount.
    let Some(lower) = by_id(&mounts, top.parent).filter(|l| l.mount_point == top.mount_point)
    else {
        return Layout::Other;
    };
    let parent_group = by_id(&mounts, lower.parent).and_then(|p| p.shared);
    let own_group = lower.shared.is_some() && lower.shared != parent_group;
    let only_lower = others
        .iter()
        .all(|m| m.id == lower.id || descends_from(&mounts, m, lower.id));
    let below = visible(&mounts, lower.id);
    let complete = visible(&mounts, top.id)
        .iter()
        .all(|(name, root)| below.get(name) == Some(root));
    // One mount per entry on the lower one, as a replace leaves it.
    let single = mounts
        .iter()
        .filter(|m| descends_from(&mounts, m, lower.id) && !descends_from(&mounts, m, top.id))
        .all(|m| m.parent == lower.id || m.id == top.id);
    match (only_lower && own_group && single, complete) {
        (true, true) => Layout::TopOverComplete,
        (true, false) => Layout::TopOverCopy,
        (false, _) => Layout::Other,
    }
}

fn by_id(mounts: &[Mount], id: u64) -> Option<&Mount> {
    mounts.iter().find(|m| m.id == id)
}

fn in_run_dir(m: &Mount) -> bool {
    let dir = RUN_DIR.as_bytes();
    m.mount_point == dir
        || (m.mount_point.starts_with(dir) && m.mount_point.get(dir.len()) == Some(&b'/'))
}

/// Whether `m` sits (at any depth) on the mount `ancestor`.
fn descends_from(mounts: &[Mount], m: &Mount, ancestor: u64) -> bool {
    let mut cur = m.parent;
    for _ in 0..64 {
        if cur == ancestor {
            return true;
        }
        match by_id(mounts, cur) {
            Some(p) if p.id != p.parent => cur = p.parent,
            _ => return false,
        }
    }
    false
}

/// Entry path -> namespace (mountinfo root, `net:[N]`) that path lookup
/// would reach if the run-dir mount `layer` were on top: the top of each
/// entry's stack on it.
fn visible(mounts: &[Mount], layer: u64) -> HashMap<Vec<u8>, Vec<u8>> {
    let mut out = HashMap::new();
    for m in mounts.iter().filter(|m| m.parent == layer && in_run_dir(m)) {
        let mut top = m;
        while let Some(up) = mounts
            .iter()
            .find(|c| c.parent == top.id && c.mount_point == top.mount_point)
        {
            top = up;
        }
        if top.is_nsfs() {
            out.insert(m.mount_point.clone(), top.root.clone());
        }
    }
    out
}

fn ns_id(f: &File) -> Option<NsId> {
    let m = f.metadata().ok()?;
    crate::nsident::is_nsfs(f).then(|| (m.dev(), m.ino()))
}

/// The namespace at `path`, if one is mounted there; nothing else there
/// is opened (a FIFO would block the rebuild: [`crate::nsident::open_nsfs`]).
fn open_ns(path: &Path) -> Option<(File, NsId)> {
    let f = crate::nsident::open_nsfs(path)?;
    let id = ns_id(&f)?;
    Some((f, id))
}

/// A path reaching `name` inside the mount `fd` is on, attached or not.
fn in_tree(fd: &OwnedFd, name: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    let mut p = format!("/proc/self/fd/{}/", fd.as_raw_fd()).into_bytes();
    p.extend_from_slice(name);
    PathBuf::from(std::ffi::OsString::from_vec(p))
}

/// The new run-dir mount, detached until [`replace`] slides it in.
struct Copy {
    fd: OwnedFd,
    /// Built recursively (kernel before 6.15): entries carried over are
    /// stacked on what the copy already has.
    recursive: bool,
}

impl Copy {
    /// Steps 1-2: a copy of the run dir's mount naming `held`, and how
    /// many it names.
    fn build(held: &[(Vec<u8>, File, NsId)]) -> nix::Result<(Copy, usize)> {
        let fd = sys::open_tree_clone(None, Path::new(RUN_DIR), false)?;
        let copy = Copy {
            fd,
            recursive: false,
        };
        let mut bound = 0;
        for (i, (name, f, _)) in held.iter().enumerate() {
            match copy.bind(name, f) {
                Ok(()) => bound += 1,
                // Mounting on a detached tree is Linux 6.15+.
                Err(nix::Error::EINVAL) if i == 0 => {
                    let fd = sys::open_tree_clone(None, Path::new(RUN_DIR), true)?;
                    return Ok((
                        Copy {
                            fd,
                            recursive: true,
                        },
                        held.len(),
                    ));
                }
                // The entry was deleted meanwhile (6.1's delete takes no
                // lock): nothing to carry.
                Err(_) => {}
            }
        }
        Ok((copy, bound))
    }

    /// Mounts the namespace `ns` on the copy's entry `name`.
    fn bind(&self, name: &[u8], ns: &File) -> nix::Result<()> {
        let one = sys::open_tree_clone(Some(ns.as_fd()), Path::new(""), false)?;
        let to = Path::new(std::ffi::OsStr::new(
            <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(name),
        ));
        sys::move_mount(one.as_fd(), Some(self.fd.as_fd()), to, false)
    }

    /// The namespace the copy's entry `name` resolves to.
    fn names(&self, name: &[u8]) -> Option<NsId> {
        open_ns(&in_tree(&self.fd, name)).map(|(_, id)| id)
    }

    /// Step 4: binds onto the copy every namespace the old tree names and
    /// the copy does not (an `add` that bound on the old tree meanwhile).
    /// With `known` (the listing of an earlier pass, taken before it), only
    /// entries that are new since, or were then a bare file, are looked at:
    /// an entry deleted and made again has a new inode. Returns how many
    /// were carried (or already there), and the entries this pass settled
    /// (listed before it looked, and named the same on both trees).
    fn carry_over(&self, known: Option<&Listing>) -> (usize, Listing) {
        let now = listing();
        let mut settled = Listing::new();
        let mut n = 0;
        for (name, ino) in &now {
            if known.is_some_and(|k| k.get(name) == Some(ino)) {
                continue;
            }
            let Some((f, id)) = open_ns(&store::entry_path(name)) else {
                continue;
            };
            if self.names(name) == Some(id) || self.bind(name, &f).is_ok() {
                settled.insert(name.clone(), *ino);
                n += usize::from(self.names(name) == Some(id));
            }
        }
        (n, settled)
    }
}

/// Entry name -> inode of its directory entry (the placeholder's, even
/// with a namespace mounted on it), from getdents alone.
type Listing = HashMap<Vec<u8>, u64>;

fn listing() -> Listing {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::DirEntryExt;
    let mut out = HashMap::new();
    if let Ok(dir) = std::fs::read_dir(RUN_DIR) {
        for e in dir.flatten() {
            out.insert(e.file_name().as_bytes().to_vec(), e.ino());
        }
    }
    out
}

/// Steps 1-6 for a single run-dir mount.
fn replace() -> Option<String> {
    let held: Vec<(Vec<u8>, File, NsId)> = store::entries()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|n| open_ns(&store::entry_path(&n)).map(|(f, id)| (n, f, id)))
        .collect();
    let (copy, _) = match Copy::build(&held) {
        Ok(c) => c,
        // No open_tree (before 5.2) or not allowed: the legacy rebuild.
        Err(nix::Error::ENOSYS | nix::Error::EPERM) => return None,
        Err(e) => return Some(left_alone("could not copy", e)),
    };
    // A run dir shared with a peer group of its own keeps it: the copy is
    // a peer of the old mount already (clones of a shared mount are), so
    // mount namespaces that receive the run dir's mounts keep receiving
    // them, and an `add` that binds on the old top after a kill between
    // steps 5 and 6 propagates onto the copy, which [`collapse`] relies
    // on. Else the copy gets a group of its own (D3).
    let keep_group = own_peer_group();
    if !keep_group {
        if let Err(e) = sys::set_propagation(copy.fd.as_fd(), sys::MS_PRIVATE, true)
            .and_then(|()| sys::set_propagation(copy.fd.as_fd(), sys::MS_SHARED, true))
        {
            return Some(left_alone("could not share the copy of", e));
        }
    }
    // Most of step 4 before the locks: what was added since the copy.
    let (_, known) = copy.carry_over(None);
    // Steps 5-6 under rnetns's own lock; the run dir's flock (which 6.1
    // waits on) only from the last carry-over to the unmount.
    let own = store::lock::lock_run_dir(true).ok().flatten();
    let placed = (|| {
        let old = File::open(RUN_DIR).map_err(crate::error::errno_of)?;
        if !keep_group {
            // The kernel refuses to slide a mount under one that is in its
            // parent's peer group (it would propagate on top of it).
            sys::set_propagation(old.as_fd(), sys::MS_PRIVATE, false)?;
        }
        // Step 5: the old top still serves every lookup, and `add`s still
        // bind on it (onto the copy too, when they are peers).
        sys::move_mount(copy.fd.as_fd(), None, Path::new(RUN_DIR), true)?;
        let flock = store::lock::flock_run_dir();
        wait_for_inflight(&known);
        // Only what changed since the pass above: the flock is held
        // briefly, however many entries there are.
        let (late, _) = copy.carry_over(Some(&known));
        // Step 6. The old top leaves the peer group first: unmounting its
        // entries would otherwise unmount the copy's too.
        if keep_group {
            sys::set_propagation(old.as_fd(), sys::MS_PRIVATE, false)?;
        }
        let gone = nix::mount::umount2(&in_tree_root(&old), nix::mount::MntFlags::MNT_DETACH);
        drop(flock);
        Ok((known.len() + late, gone))
    })();
    drop(own);
    match placed {
        Ok((carried, Ok(()))) => Some(format!(
            "rebuilt {RUN_DIR} in place: a shared mount with its own peer group, {} namespace(s) mounted once each{}",
            carried,
            if copy.recursive { " (stacked entries kept: this kernel cannot mount on a detached tree)" } else { "" }
        )),
        Ok((_, Err(e))) => Some(format!(
            "rebuilt {RUN_DIR} under the old mount, but could not take the old one away: {}; run doctor --fix again",
            sys::strerror(e as i32)
        )),
        // MOVE_MOUNT_BENEATH is Linux 6.5+; nothing visible changed.
        Err(nix::Error::EINVAL) => None,
        Err(e) => Some(left_alone("could not put in place the copy of", e)),
    }
}

/// Whether the run dir's top mount is shared with a peer group that is
/// not its parent's.
fn own_peer_group() -> bool {
    let mounts = mountinfo::read("self").unwrap_or_default();
    let Some(top) = sys::mount_id(Path::new(RUN_DIR)).and_then(|id| by_id(&mounts, id)) else {
        return false;
    };
    let parent = by_id(&mounts, top.parent).and_then(|p| p.shared);
    top.shared.is_some() && top.shared != parent
}

fn in_tree_root(f: &File) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", f.as_raw_fd()))
}

/// Collapses a stack left by a replace killed between its last two steps:
/// what the top names and the lower mount does not is carried down
/// ([`complete_lower`]), then the top goes. Most of the carrying is done
/// before the locks; under them only what was bound on the top since.
fn collapse() -> String {
    let early = complete_lower();
    let done = super::exclusive(|_| {
        wait_for_inflight(&Listing::new());
        let old = File::open(RUN_DIR).map_err(crate::error::errno_of)?;
        // Re-check under the locks: what was bound on the top meanwhile is
        // carried down too, and the lower mount must then name it all.
        match layout() {
            Layout::TopOverComplete => {}
            Layout::TopOverCopy => {
                complete_lower()?;
                if !matches!(layout(), Layout::TopOverComplete) {
                    return Err(nix::Error::EAGAIN);
                }
            }
            Layout::Single | Layout::Other => return Err(nix::Error::EAGAIN),
        }
        let mounts = mountinfo::read("self").unwrap_or_default();
        let n = by_id(&mounts, sys::mount_id(Path::new(RUN_DIR)).unwrap_or(0))
            .map_or(0, |top| visible(&mounts, top.parent).len());
        // Out of the lower mount's peer group first, or unmounting the
        // top's entries would unmount the lower mount's too.
        sys::set_propagation(old.as_fd(), sys::MS_PRIVATE, false)?;
        nix::mount::umount2(&in_tree_root(&old), nix::mount::MntFlags::MNT_DETACH).map(|()| n)
    });
    // The mount left names every namespace the top did, once each.
    match (done, early) {
        (Ok(n), _) => format!("rebuilt {RUN_DIR}: a shared mount with its own peer group, {n} namespace(s) mounted once each"),
        (Err(nix::Error::EAGAIN), Err(e)) | (Err(e), _) => left_alone("could not collapse", e),
    }
}

/// Mounts onto the lower of two run-dir mounts each namespace that the
/// top one names and the lower one does not (or names differently), once
/// each. The lower mount is hidden here, so a forked child
/// ([`crate::runtimes::reader::in_child`], with its deadline) unshares its mount
/// namespace, takes its own copy of the top away and binds there, on its
/// copy of the lower mount. Its copy of the top is made private first, so
/// that unmount reaches nothing here (the kernel would not take away the
/// top here anyway: it has entries mounted on it). Its copy of the lower
/// mount is a peer of the lower mount (clones of a shared mount are, in
/// the same user namespace), so each bind propagates onto the lower mount
/// here, as an `add` on it would (and to that mount's other peers and
/// slaves), and not onto the top, which is private or in a peer group of
/// its own. Nothing a lookup here reaches changes until the top goes. An
/// entry the lower mount has another namespace on is unmounted there
/// first, the same way. When the child exits, its mount namespace goes
/// with nothing propagated. A child killed mid-way has carried part:
/// the layout is still [`Layout::TopOverCopy`] and the next pass carries
/// the rest. Returns how many were bound; `Ok(0)`: nothing to carry;
/// `ETIMEDOUT`: the child did not answer (or died).
fn complete_lower() -> nix::Result<usize> {
    let mounts = mountinfo::read("self").unwrap_or_default();
    let Some(top) = sys::mount_id(Path::new(RUN_DIR)).and_then(|id| by_id(&mounts, id)) else {
        return Err(nix::Error::EAGAIN);
    };
    let Some(lower) = by_id(&mounts, top.parent).filter(|l| l.mount_point == top.mount_point)
    else {
        return Err(nix::Error::EAGAIN);
    };
    let Some(group) = lower.shared else {
        return Err(nix::Error::EAGAIN);
    };
    let below = visible(&mounts, lower.id);
    let prefix = format!("{RUN_DIR}/");
    let held: Vec<(Vec<u8>, File)> = visible(&mounts, top.id)
        .into_iter()
        .filter(|(path, root)| below.get(path) != Some(root))
        .filter_map(|(path, _)| {
            let name = path.strip_prefix(prefix.as_bytes())?.to_vec();
            open_ns(&store::entry_path(&name)).map(|(f, _)| (name, f))
        })
        .collect();
    if held.is_empty() {
        return Ok(0);
    }
    use crate::runtimes::reader::{in_child, Unanswered};
    match in_child(super::bounded::DEADLINE, || {
        bind_on_lower(group, &held).map_err(|e| e as i32)
    }) {
        Ok(Ok(n)) => Ok(n),
        Ok(Err(e)) => Err(nix::Error::from_raw(e)),
        Err(Unanswered::NoChild) => Err(nix::Error::EAGAIN),
        Err(Unanswered::Late) => Err(nix::Error::ETIMEDOUT),
        Err(Unanswered::Unreadable) => Err(nix::Error::EIO),
    }
}

/// [`complete_lower`]'s child: in a mount namespace of its own, the top
/// run-dir mount goes, and `held` is bound on the one below, if that is in
/// peer group `group`.
fn bind_on_lower(group: u64, held: &[(Vec<u8>, File)]) -> nix::Result<usize> {
    use nix::mount::{umount2, MntFlags};
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)?;
    let top = File::open(RUN_DIR).map_err(crate::error::errno_of)?;
    sys::set_propagation(top.as_fd(), sys::MS_PRIVATE, false)?;
    umount2(&in_tree_root(&top), MntFlags::MNT_DETACH)?;
    let mounts = mountinfo::read("self").unwrap_or_default();
    let now = sys::mount_id(Path::new(RUN_DIR)).and_then(|id| by_id(&mounts, id));
    if !now.is_some_and(|m| m.mount_point == RUN_DIR.as_bytes() && m.shared == Some(group)) {
        return Err(nix::Error::EAGAIN);
    }
    let mut n = 0;
    for (name, f) in held {
        let path = store::entry_path(name);
        for _ in 0..16 {
            if umount2(&path, MntFlags::MNT_DETACH | MntFlags::UMOUNT_NOFOLLOW).is_err() {
                break;
            }
        }
        if super::bind_entry(f, name).is_ok() {
            n += 1;
        }
    }
    Ok(n)
}

fn left_alone(what: &str, e: nix::Error) -> String {
    format!(
        "{what} {RUN_DIR}: {}; left it as it was",
        sys::strerror(e as i32)
    )
}

/// Waits (bounded) until every entry that is a fresh bare file (made in
/// the last [`FRESH`]) and not in `known` has its namespace bound or is
/// gone: an `add` between its placeholder and its bind. Called with the run
/// dir's flock held, so no new `add` (ours or 6.1's) starts meanwhile; a
/// placeholder a killed `add` left is older, or waited for at most
/// [`INFLIGHT_WAIT`].
fn wait_for_inflight(known: &Listing) {
    // An `add` that dropped the flock just before we took it creates its
    // placeholder right after: give it that moment.
    std::thread::sleep(Duration::from_millis(2));
    let start = Instant::now();
    let fresh = |m: &std::fs::Metadata| {
        m.modified()
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age < FRESH)
    };
    while start.elapsed() < INFLIGHT_WAIT {
        let pending = listing().into_iter().any(|(n, ino)| {
            known.get(&n) != Some(&ino)
                && std::fs::symlink_metadata(store::entry_path(&n))
                    .is_ok_and(|m| m.is_file() && fresh(&m))
                && open_ns(&store::entry_path(&n)).is_none()
        });
        if !pending {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}
