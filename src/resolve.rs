//! Runtime references where `ip netns` expects a NAME (exec, pids,
//! identify, set) or a PID (attach's source): `docker:NAME-or-ID-prefix`,
//! `podman:[USER/]NAME-or-ID-prefix`, `k8s:NAMESPACE/POD[/CONTAINER]`,
//! `lxc:NAME`, `machine:NAME` (systemd-nspawn), `pid:PID`, and (as
//! `rnetns` only, see [`path_allowed`], [`qualified_allowed`] and
//! [`k8s_allowed`]) an absolute path to an nsfs file, the `USER/`
//! qualifier and pod references. A run-dir entry with the exact word
//! as its name always wins, so iproute2 behaviour never changes for
//! existing names. A name that containers of several owners share is an
//! error listing them (README "Trust"). A reference that matches nothing
//! says why as `rnetns` (stopped, no state, none of N, near misses); as
//! `ip` it falls back to the ordinary iproute2 path and its messages,
//! with their exit status either way. The result is an open
//! netns file checked to be the namespace the scan found (no PID race).
//! Syscalls: lstat, open, ioctl(NS_GET_NSTYPE), fstat, and the scan's.

use crate::bytes::cat;
use crate::error::Error;
use crate::output::escape::escape;
use crate::runtimes::{self, Container, Key};
use crate::store::entry_path;
use std::fs::File;
use std::path::PathBuf;

/// A namespace a reference points at.
pub struct Target {
    pub file: File,
    /// The reference as typed, for messages and the /sys mount source.
    pub label: Vec<u8>,
}

/// Whether `word` may be a path reference. Only as `rnetns`: in `ip`
/// mode a name with `/` stays `Invalid netns name` (spec 3.3), because
/// scripts hand untrusted names to `ip netns exec` and rely on that check
/// to refuse paths (the reason for D1). rnetns is a new command name, so a
/// path there is an explicit choice.
pub fn path_allowed(word: &[u8]) -> bool {
    crate::prog::is_rnetns() && word.starts_with(b"/") && word.len() <= 4096
}

/// A reference that names nothing: `PROG: MSG` ([`Error::Unresolved`]).
fn missing_ref(msg: String) -> Error {
    Error::Unresolved(format!("{}: {msg}", crate::prog::prog()).into_bytes())
}

/// Whether `word` is a qualified runtime reference, `podman:USER/NAME`
/// (or `docker:`): as `rnetns` only, like [`path_allowed`], since `ip`
/// refuses every name with `/` (spec 3.3). Container names cannot hold
/// `/`, so the one `/` separates the owner.
pub fn qualified_allowed(word: &[u8]) -> bool {
    let rest = word
        .strip_prefix(b"podman:")
        .or_else(|| word.strip_prefix(b"docker:"));
    let Some(rest) = rest else {
        return false;
    };
    crate::prog::is_rnetns()
        && rest.iter().filter(|&&b| b == b'/').count() == 1
        && !rest.starts_with(b"/")
        && !rest.ends_with(b"/")
        && rest.len() <= 512
}

/// Whether `word` is a `k8s:NAMESPACE/POD[/CONTAINER]` reference, which
/// holds a `/`: only as `rnetns`, for the same reason as [`path_allowed`].
pub fn k8s_allowed(word: &[u8]) -> bool {
    crate::prog::is_rnetns() && word.strip_prefix(b"k8s:").and_then(k8s_ref).is_some()
}

/// Resolves `word`, or `Ok(None)` when it is a run-dir name or not a
/// reference. `Err` carries a complete message: a `docker:`/`podman:`
/// reference that matches no running container (and why), one that is
/// ambiguous across owners, a path that is not a network namespace.
pub fn resolve(word: &[u8]) -> Result<Option<Target>, Error> {
    if !word.contains(&b'/') && std::fs::symlink_metadata(entry_path(word)).is_ok() {
        return Ok(None);
    }
    let target = |file| {
        Ok(Some(Target {
            file,
            label: word.to_vec(),
        }))
    };
    if path_allowed(word) {
        let path = PathBuf::from(crate::bytes::os(word));
        // Only a regular file is opened (runtimes::state::netns_file_at):
        // a FIFO there would block.
        let found = runtimes::state::netns_file_at(&path).map_err(|e| {
            Error::Unresolved(cat(&[
                b"Cannot open network namespace \"",
                word,
                b"\": ",
                crate::sys::strerror(e as i32).as_bytes(),
            ]))
        })?;
        let Some((_, f)) = found else {
            let shown = escape(word);
            let msg = format!("\"{shown}\" is not a network namespace");
            return Err(Error::Unresolved(msg.into_bytes()));
        };
        return target(f);
    }
    if let Some(pid) = word.strip_prefix(b"pid:") {
        if pid.is_empty() || !pid.iter().all(u8::is_ascii_digit) {
            return Ok(None);
        }
        let path = crate::nsident::proc_netns(pid);
        return match File::open(path) {
            Ok(f) if crate::nsident::netns_of(&f).is_some() => target(f),
            _ => Ok(None),
        };
    }
    if let Some(w) = word.strip_prefix(b"k8s:") {
        // Only as `rnetns`, like a path: in `ip` mode a name with `/`
        // stays `Invalid netns name` (spec 3.3).
        let Some(pod) = k8s_ref(w).filter(|_| k8s_allowed(word)) else {
            return Ok(None);
        };
        let mut scan = runtimes::scan();
        let Some(key) = find_pod(&scan, &pod).map_err(|m| Error::Unresolved(m.into_bytes()))?
        else {
            return Ok(None);
        };
        return Ok(open_key(&mut scan, key).map(|file| Target {
            file,
            label: word.to_vec(),
        }));
    }
    let (runtime, what) = if let Some(w) = word.strip_prefix(b"docker:") {
        ("docker", w)
    } else if let Some(w) = word.strip_prefix(b"podman:") {
        ("podman", w)
    } else if let Some(w) = word.strip_prefix(b"lxc:") {
        ("lxc", w)
    } else if let Some(w) = word.strip_prefix(b"machine:") {
        (runtimes::nspawn::RUNTIME, w)
    } else {
        return Ok(None);
    };
    let Ok(what) = std::str::from_utf8(what) else {
        return Ok(None);
    };
    if what.is_empty() {
        return Ok(None);
    }
    let mut scan = runtimes::scan();
    let key = match find_container(&scan, runtime, what) {
        Ok(Some(k)) => k,
        Ok(None) => return Ok(None),
        Err(e @ Error::Ambiguous(_)) => return Err(e),
        Err(e) => {
            // What was not believed may be why nothing matched (the
            // ownership notes of runtimes::trust; other notes stay with
            // `list --all-runtimes`).
            for n in scan.notes.iter().filter(|n| n.starts_with("ignoring ")) {
                let line = format!("{}: note: {}\n", crate::prog::prog(), escape(n.as_bytes()));
                crate::error::eprint_bytes(line.as_bytes());
            }
            return Err(e);
        }
    };
    Ok(open_key(&mut scan, key).map(|file| Target {
        file,
        label: word.to_vec(),
    }))
}

/// Who `USER/` in `podman:USER/NAME` means: `None` for root (rootful
/// state), else that uid.
fn owner_named(user: &str) -> Result<Option<u32>, Error> {
    match crate::runtimes::trust::uid_of(user) {
        Some(0) => Ok(None),
        Some(u) => Ok(Some(u)),
        None => Err(missing_ref(format!(
            "no user named \"{}\"",
            escape(user.as_bytes())
        ))),
    }
}

/// How a container's owner is shown: `root`, or `uid 1000 (alice)`.
fn owner_text(owner: Option<u32>) -> String {
    match owner {
        None => "root".into(),
        Some(u) => match crate::runtimes::trust::user_name(u) {
            Some(n) => format!("uid {u} ({})", escape(n.as_bytes())),
            None => format!("uid {u}"),
        },
    }
}

/// Which of `matches` (same name, or same id prefix) a reference without
/// `USER/` takes: the caller's own, if the caller is not root and has one;
/// else all of them, which must then have one owner (README "Trust": a
/// user's container is never taken for root's by name alone).
fn pick(matches: Vec<(Key, &Container)>) -> Vec<(Key, &Container)> {
    let me = nix::unistd::getuid().as_raw();
    if me != 0 && matches.iter().any(|(_, c)| c.owner == Some(me)) {
        return matches
            .into_iter()
            .filter(|(_, c)| c.owner == Some(me))
            .collect();
    }
    matches
}

/// The running containers whose namespace is known, of owner `owner`
/// (any owner when `None`), that `keep` accepts, each with its namespace:
/// the one place container and pod references match, so both follow the
/// same owner rules ([`pick`], README "Trust").
fn candidates(
    scan: &runtimes::Scan,
    owner: Option<Option<u32>>,
    keep: impl Fn(&Container) -> bool,
) -> Vec<(Key, &Container)> {
    let hits: Vec<(Key, &Container)> = scan
        .namespaces
        .iter()
        .flat_map(|n| {
            n.containers
                .iter()
                .filter(|c| owner.is_none_or(|o| c.owner == o) && keep(c))
                .filter_map(move |c| Some((n.key?, c)))
        })
        .collect();
    pick(hits)
}

/// The namespace of the running container `what` names: `NAME`,
/// `USER/NAME`, or a unique id prefix (exact name first); for podman,
/// failing those, a pod of that name (`podman:[USER/]POD`, rootful and
/// rootless pods alike: every member shares the pod's namespace).
/// `Ok(None)`: nothing matched and, as `ip`, the caller falls back to the
/// run dir; as rnetns that is an error saying why.
fn find_container(scan: &runtimes::Scan, runtime: &str, what: &str) -> Result<Option<Key>, Error> {
    let (owner, name) = match what.split_once('/') {
        Some((user, name)) => (Some(owner_named(user)?), name),
        None => (None, what),
    };
    let mine = |c: &Container| c.runtime == runtime;
    let mut hits = candidates(scan, owner, |c| mine(c) && c.name.as_deref() == Some(name));
    if hits.is_empty() && !name.is_empty() {
        hits = candidates(scan, owner, |c| mine(c) && c.id.starts_with(name));
    }
    if hits.is_empty() && runtime == "podman" {
        hits = candidates(scan, owner, |c| mine(c) && c.pod.as_deref() == Some(name));
    }
    // Only another user's containers matched, without `USER/`: taken only
    // when no rootful container (a stopped one included) has that name.
    let me = nix::unistd::getuid().as_raw();
    let others = |h: &[(Key, &Container)]| {
        !h.is_empty() && h.iter().all(|(_, c)| c.owner.is_some_and(|o| o != me))
    };
    if owner.is_none() && others(&hits) {
        let matches = |c: &&Container| {
            c.runtime == runtime
                && c.owner.is_none()
                && (c.name.as_deref() == Some(name)
                    || c.id.starts_with(name)
                    || c.pod.as_deref() == Some(name))
        };
        if let Some(rootful) = scan.catalog.iter().find(matches) {
            return Err(ambiguous(runtime, what, &hits, Some(rootful)));
        }
    }
    let mut keys: Vec<Key> = hits.iter().map(|(k, _)| *k).collect();
    keys.sort_unstable();
    keys.dedup();
    match keys[..] {
        [k] => Ok(Some(k)),
        // As `ip`, a reference that matches nothing keeps iproute2's own
        // message (the caller falls back to the run dir); as rnetns it
        // says why (README "Tests").
        [] if !crate::prog::is_rnetns() => Ok(None),
        [] => Err(missing(scan, runtime, owner, name)),
        _ => Err(ambiguous(runtime, what, &hits, None)),
    }
}

/// The message for a reference that matches more than one namespace, or
/// another user's container and a `stopped` rootful one.
fn ambiguous(
    runtime: &str,
    what: &str,
    hits: &[(Key, &Container)],
    stopped: Option<&Container>,
) -> Error {
    let mut all: Vec<(&Container, &str)> = stopped
        .map(|c| (c, ", stopped"))
        .into_iter()
        .chain(hits.iter().map(|(_, c)| (*c, "")))
        .collect();
    // Root's first, then by uid, name and id: the same order every run
    // (namespaces come in inode order).
    all.sort_by(|(a, _), (b, _)| (a.owner, &a.name, &a.id).cmp(&(b.owner, &b.name, &b.id)));
    let mut owners: Vec<Option<u32>> = all.iter().map(|(c, _)| c.owner).collect();
    owners.sort_unstable();
    owners.dedup();
    let list: Vec<String> = all
        .iter()
        .map(|(c, state)| {
            let name = c.name.as_deref().unwrap_or("-");
            format!(
                "{} ({}, {}{state})",
                escape(name.as_bytes()),
                escape(c.short_id().as_bytes()),
                owner_text(c.owner)
            )
        })
        .collect();
    let hint = if owners.len() > 1 {
        format!("; name one as {runtime}:USER/NAME")
    } else {
        String::new()
    };
    let msg = format!(
        "{}: {runtime}:{} is ambiguous: it matches {} containers: {}{hint}",
        crate::prog::prog(),
        escape(what.as_bytes()),
        all.len(),
        list.join(", ")
    );
    Error::Ambiguous(msg.into_bytes())
}

/// The message for a reference that matches no running container: a
/// stopped one, no state at all, or none of N (with near misses).
fn missing(scan: &runtimes::Scan, runtime: &str, owner: Option<Option<u32>>, name: &str) -> Error {
    let known: Vec<&Container> = scan
        .catalog
        .iter()
        .filter(|c| c.runtime == runtime && owner.is_none_or(|o| c.owner == o))
        .collect();
    let shown = escape(name.as_bytes());
    let matches = |c: &&Container| {
        c.runtime == runtime
            && owner.is_none_or(|o| c.owner == o)
            && (c.name.as_deref() == Some(name) || (!name.is_empty() && c.id.starts_with(name)))
    };
    if let Some(c) = scan.ignored.iter().find(matches) {
        let label = c.name.as_deref().unwrap_or(c.short_id());
        return missing_ref(format!(
            "{runtime} container \"{}\" of {} is not believed: its process or namespace is not that user's",
            escape(label.as_bytes()),
            owner_text(c.owner)
        ));
    }
    if let Some(c) = known
        .iter()
        .find(|c| c.name.as_deref() == Some(name) || (!name.is_empty() && c.id.starts_with(name)))
    {
        let label = c.name.as_deref().unwrap_or(c.short_id());
        return missing_ref(format!(
            "{runtime} container \"{}\" is stopped: it has no network namespace",
            escape(label.as_bytes())
        ));
    }
    // lxc and nspawn machines are found from processes, not a state tree;
    // docker's data roots are the daemons' configured ones (README "Every
    // network namespace on the host").
    let homes: Vec<PathBuf> = match runtime {
        "docker" => crate::runtimes::docker::roots(&mut Default::default())
            .into_iter()
            .map(|r| r.data)
            .collect(),
        "podman" => vec![PathBuf::from(crate::runtimes::podman::STORAGE)],
        _ => Vec::new(),
    };
    let roots_shown: Vec<String> = homes
        .iter()
        .map(|h| crate::output::escape::escape_os(h.as_os_str()).into_owned())
        .collect();
    let home = (!homes.is_empty()).then(|| roots_shown.join(", "));
    if let Some(home) = home
        .as_deref()
        .filter(|_| known.is_empty() && homes.iter().all(|h| !h.exists()))
    {
        return missing_ref(format!(
            "{runtime} state not found at {home} (is {runtime} installed here?)"
        ));
    }
    let n = known.len();
    let s = if n == 1 { "" } else { "s" };
    let whose = match home {
        Some(h) if runtime == "podman" && known.iter().any(|c| c.owner.is_some()) => {
            format!(" in {h} and users' storage")
        }
        Some(h) => format!(" in {h}"),
        None => " running".to_string(),
    };
    let mut msg =
        format!("no {runtime} container named \"{shown}\" ({n} container{s}{whose}; none matches)");
    let near = near_misses(name, &known);
    if !near.is_empty() {
        msg.push_str(&format!("; did you mean {}?", near.join(" or ")));
    }
    missing_ref(msg)
}

/// Container names within edit distance 2 of `name` (closest first, at
/// most 3), quoted, as `USER/NAME` for a user's.
fn near_misses(name: &str, known: &[&Container]) -> Vec<String> {
    let mut near: Vec<(usize, String)> = known
        .iter()
        .filter_map(|c| {
            let n = c.name.as_deref()?;
            let d = edit_distance(name, n);
            let shown = match c.owner.and_then(crate::runtimes::trust::user_name) {
                Some(u) => format!("{u}/{n}"),
                None => n.to_string(),
            };
            (d <= 2).then(|| (d, format!("\"{}\"", escape(shown.as_bytes()))))
        })
        .collect();
    near.sort();
    near.dedup_by(|a, b| a.1 == b.1);
    near.into_iter().take(3).map(|(_, s)| s).collect()
}

/// Levenshtein distance in characters (pure).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// A `k8s:` reference after the prefix: `NAMESPACE/POD` or
/// `NAMESPACE/POD/CONTAINER`, each part non-empty UTF-8 (Kubernetes names
/// are DNS labels and subdomains, so none holds a `/`).
#[derive(Debug, PartialEq, Eq)]
pub struct PodRef<'a> {
    pub pod: &'a str,
    pub container: Option<&'a str>,
}

pub fn k8s_ref(w: &[u8]) -> Option<PodRef<'_>> {
    let w = std::str::from_utf8(w).ok()?;
    let parts: Vec<&str> = w.split('/').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    match parts.len() {
        2 => Some(PodRef {
            pod: w,
            container: None,
        }),
        3 => Some(PodRef {
            pod: &w[..parts[0].len() + 1 + parts[1].len()],
            container: Some(parts[2]),
        }),
        _ => None,
    }
}

/// The namespace of a Kubernetes pod (`NAMESPACE/POD`) or of one of its
/// containers, from the CRI runtimes' on-disk state (containerd and
/// CRI-O record the pod as `NAMESPACE/NAME`). Every container of a pod
/// shares the sandbox's namespace; should the state show one pod in two
/// namespaces (two sandboxes of one pod both running), that is an error
/// listing them, never a guess.
fn find_pod(scan: &runtimes::Scan, r: &PodRef) -> Result<Option<Key>, String> {
    let members = candidates(scan, None, |c| {
        matches!(c.runtime, "containerd" | "cri-o")
            && c.pod.as_deref() == Some(r.pod)
            && r.container
                .is_none_or(|want| c.name.as_deref() == Some(want))
    });
    let mut hits: Vec<(Key, &str)> = Vec::new();
    for (key, c) in members {
        if !hits.iter().any(|(k, _)| *k == key) {
            hits.push((key, c.runtime));
        }
    }
    match hits.len() {
        0 => Ok(None),
        1 => Ok(Some(hits[0].0)),
        _ => Err(format!(
            "k8s:{}{} is ambiguous: it is in {} network namespaces (inodes {})",
            escape(r.pod.as_bytes()),
            r.container
                .map(|c| format!("/{}", escape(c.as_bytes())))
                .unwrap_or_default(),
            hits.len(),
            hits.iter()
                .map(|(k, _)| k.1.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Namespace `key`'s file: the one the scan left open, else opened through
/// one of its paths or processes, checking the identity again after opening.
fn open_key(scan: &mut runtimes::Scan, key: Key) -> Option<File> {
    scan.held.remove(&key).or_else(|| scan.find(key)?.open())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_characters() {
        use super::edit_distance as d;
        assert_eq!(d("web", "web"), 0);
        assert_eq!(d("web", "wbe"), 2);
        assert_eq!(d("web", "webs"), 1);
        assert_eq!(d("", "ab"), 2);
        assert_eq!(d("kitten", "sitting"), 3);
    }

    #[test]
    fn k8s_references_parse() {
        let r = |w: &str| {
            k8s_ref(w.as_bytes()).map(|p| (p.pod.to_string(), p.container.map(str::to_string)))
        };
        assert_eq!(r("ns/web"), Some(("ns/web".into(), None)));
        assert_eq!(r("ns/web/app"), Some(("ns/web".into(), Some("app".into()))));
        for bad in ["", "web", "ns/", "/web", "ns//app", "ns/web/", "a/b/c/d"] {
            assert_eq!(r(bad), None, "{bad:?}");
        }
        assert_eq!(k8s_ref(b"ns/\xff"), None);
    }
}
