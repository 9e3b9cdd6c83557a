//! Runtime references where `ip netns` expects a NAME (exec, pids,
//! identify, set) or a PID (attach's source): `docker:NAME-or-ID-prefix`,
//! `podman:NAME-or-ID-prefix`, `k8s:NAMESPACE/POD[/CONTAINER]`, `lxc:NAME`,
//! `machine:NAME` (systemd-nspawn), `pid:PID`, and (as `rnetns` only, see
//! [`path_allowed`]) an absolute path to an nsfs file. A run-dir entry with
//! the exact word as its name always wins, so iproute2 behaviour never
//! changes for existing names; a reference that matches nothing falls back
//! to the ordinary iproute2 path and its messages. The result is an open
//! netns file checked to be the namespace the scan found (no PID race).
//! Syscalls: lstat, open, ioctl(NS_GET_NSTYPE), fstat, and the scan's.

use crate::output::escape::escape;
use crate::runtimes::{self, state, Key};
use crate::store::{cat, entry_path};
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
    crate::cli::prog() == "rnetns" && word.starts_with(b"/") && word.len() <= 4096
}

/// Whether `word` is a `k8s:NAMESPACE/POD[/CONTAINER]` reference, which
/// holds a `/`: only as `rnetns`, for the same reason as [`path_allowed`].
pub fn k8s_allowed(word: &[u8]) -> bool {
    crate::cli::prog() == "rnetns" && word.strip_prefix(b"k8s:").and_then(k8s_ref).is_some()
}

/// Resolves `word`, or `Ok(None)` when it is a run-dir name or no
/// reference matches. `Err` carries a complete message (ambiguous prefix,
/// a path that is not a network namespace).
pub fn resolve(word: &[u8]) -> Result<Option<Target>, Vec<u8>> {
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
        let path = PathBuf::from(crate::cli::os(word));
        let f = File::open(&path).map_err(|e| {
            cat(&[
                b"Cannot open network namespace \"",
                word,
                b"\": ",
                crate::sys::strerror(crate::store::errno_of(e) as i32).as_bytes(),
            ])
        })?;
        if state::netns_of(&f).is_none() {
            return Err(cat(&[b"\"", word, b"\" is not a network namespace"]));
        }
        return target(f);
    }
    if let Some(pid) = word.strip_prefix(b"pid:") {
        if pid.is_empty() || !pid.iter().all(u8::is_ascii_digit) {
            return Ok(None);
        }
        let path = PathBuf::from(crate::cli::os(&cat(&[b"/proc/", pid, b"/ns/net"])));
        return match File::open(path) {
            Ok(f) if state::netns_of(&f).is_some() => target(f),
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
        let Some(key) = find_pod(&scan, &pod).map_err(|m| m.into_bytes())? else {
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
    let Some(key) = find_container(&scan, runtime, what).map_err(|m| m.into_bytes())? else {
        return Ok(None);
    };
    Ok(open_key(&mut scan, key).map(|file| Target {
        file,
        label: word.to_vec(),
    }))
}

/// The namespace of the container named `what` (exact name first, then a
/// unique id prefix).
fn find_container(scan: &runtimes::Scan, runtime: &str, what: &str) -> Result<Option<Key>, String> {
    let members = || {
        scan.namespaces.iter().flat_map(|n| {
            n.containers
                .iter()
                .filter(|c| c.runtime == runtime)
                .filter_map(move |c| Some((n.key?, c)))
        })
    };
    // An exact name first. Two containers of one name in different
    // namespaces (root's and a rootless user's, or two users') are never
    // picked between: the error lists them, and an ID prefix says which.
    let mut named: Vec<(Key, &runtimes::Container, &runtimes::Namespace)> = Vec::new();
    for n in &scan.namespaces {
        let Some(key) = n.key else { continue };
        for c in n.containers.iter().filter(|c| c.runtime == runtime) {
            if c.name.as_deref() == Some(what) && !named.iter().any(|(k, _, _)| *k == key) {
                named.push((key, c, n));
            }
        }
    }
    match named.len() {
        0 => {}
        1 => return Ok(Some(named[0].0)),
        _ => {
            let list: Vec<String> = named
                .iter()
                .map(|(_, c, n)| format!("{} ({})", escape(c.short_id().as_bytes()), owner_of(n)))
                .collect();
            return Err(format!(
                "{runtime}:{} is ambiguous: {} containers have that name: {}; give an ID prefix ({runtime}:ID) to say which",
                escape(what.as_bytes()),
                named.len(),
                list.join(", ")
            ));
        }
    }
    let mut hits: Vec<(Key, String)> = members()
        .filter(|(_, c)| c.id.starts_with(what))
        .map(|(k, c)| (k, c.id.clone()))
        .collect();
    hits.dedup();
    match hits.len() {
        0 => Ok(None),
        1 => Ok(Some(hits[0].0)),
        _ => Err(format!(
            "{runtime}:{what} is ambiguous: it matches {} containers",
            hits.len()
        )),
    }
}

/// Whose a namespace is, for messages: `user UID` when it is reached
/// through a rootless user's run dir (`/run/user/UID/`), else `root`.
fn owner_of(n: &runtimes::Namespace) -> String {
    n.paths
        .iter()
        .find_map(|p| {
            let s = std::str::from_utf8(p).ok()?;
            let rest = &s[s.find("/run/user/")? + "/run/user/".len()..];
            let uid = rest.split('/').next()?;
            uid.parse::<u32>().ok().map(|u| format!("user {u}"))
        })
        .unwrap_or_else(|| "root".to_string())
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
    let mut hits: Vec<(Key, &str)> = Vec::new();
    for n in &scan.namespaces {
        let Some(key) = n.key else { continue };
        for c in &n.containers {
            let cri = matches!(c.runtime, "containerd" | "cri-o");
            let pod = c.pod.as_deref() == Some(r.pod);
            let name = r
                .container
                .is_none_or(|want| c.name.as_deref() == Some(want));
            if cri && pod && name && !hits.iter().any(|(k, _)| *k == key) {
                hits.push((key, c.runtime));
            }
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

    fn ns(ino: u64, path: &str, id: &str, name: &str) -> runtimes::Namespace {
        runtimes::Namespace {
            key: Some((4, ino)),
            nsid: None,
            names: Vec::new(),
            paths: vec![path.as_bytes().to_vec()],
            runtime: "podman",
            containers: vec![runtimes::Container {
                id: id.into(),
                name: Some(name.into()),
                runtime: "podman",
                pod: None,
            }],
            pids: Vec::new(),
            stale: false,
        }
    }

    #[test]
    fn a_name_two_users_share_is_an_error_listing_both() {
        let a = "1e2ca1a9fb9c".repeat(5) + "abcd";
        let b = "078369d507a8".repeat(5) + "abcd";
        let scan = runtimes::Scan {
            namespaces: vec![
                ns(1, "/run/netns/netns-1", &a, "web"),
                ns(2, "/proc/9/root/run/user/4711/netns/netns-2", &b, "web"),
                ns(3, "/run/netns/netns-3", &"c".repeat(64), "db"),
            ],
            notes: Vec::new(),
            held: Default::default(),
        };
        let err = find_container(&scan, "podman", "web").unwrap_err();
        assert_eq!(
            err,
            "podman:web is ambiguous: 2 containers have that name: 1e2ca1a9fb9c (root), 078369d507a8 (user 4711); give an ID prefix (podman:ID) to say which"
        );
        assert_eq!(find_container(&scan, "podman", "0783"), Ok(Some((4, 2))));
        assert_eq!(find_container(&scan, "podman", "db"), Ok(Some((4, 3))));
        assert_eq!(find_container(&scan, "podman", "nope"), Ok(None));
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
