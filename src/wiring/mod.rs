//! The wiring between network namespaces (issue 23): every namespace's
//! interfaces and addresses, and for each interface whose peer or lower
//! device is elsewhere, which namespace and interface that is. Read-only:
//! for each namespace the main thread enters it (setns), dumps links and
//! addresses on a socket opened there ([`dump`]), and goes back, the
//! netavark way; nothing is mounted or written and RTM_NEWNSID is never
//! sent. The kernel's own side effect of a link dump (an NSID allocated
//! for each namespace a veth, macvlan or vxlan points into) is accepted,
//! as `ip link` has it (ledger R5).
//!
//! Resolving IFLA_LINK_NETNSID: the NSID is the dumping namespace's number
//! for the other one. Candidates are found by ifindex (a veth's peer must
//! point back: the pair matches in both directions); then, inside the
//! dumping namespace, RTM_GETNSID by fd asks the kernel which candidate
//! carries that NSID, which settles it. Where the kernel cannot be asked,
//! a unique pair still answers; more than one candidate is reported as
//! ambiguous, never guessed. A namespace that vanishes mid-scan is a note
//! and a partial answer. Syscalls: open, setns, socket, sendto, recvfrom.

pub mod dump;
pub mod render;

use crate::ns::NetnsGuard;
use crate::runtimes::Namespace;
use dump::Link;
use nix::sched::{setns, CloneFlags};
use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::os::fd::AsRawFd;

/// Where an interface's IFLA_LINK leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Far {
    /// Another interface of the same namespace (by ifindex).
    Same(u32),
    /// An interface of another namespace (index into the namespace list).
    Other { ns: usize, ifindex: u32 },
    /// In another namespace that could not be told: no candidate, or
    /// several (`ambiguous`).
    Unresolved {
        nsid: i32,
        ifindex: u32,
        ambiguous: bool,
    },
}

/// The interfaces of every namespace and where their links lead.
#[derive(Debug, Default)]
pub struct Wiring {
    /// Per namespace (same order as the listing); `None`: not dumped.
    pub links: Vec<Option<Vec<Link>>>,
    /// (namespace, ifindex) -> far end.
    pub far: HashMap<(usize, u32), Far>,
    pub notes: Vec<String>,
}

impl Wiring {
    pub fn link(&self, ns: usize, ifindex: u32) -> Option<&Link> {
        let links = self.links.get(ns)?.as_ref()?;
        links
            .binary_search_by_key(&ifindex, |l| l.ifindex)
            .ok()
            .map(|i| &links[i])
    }

    /// The name of interface `ifindex` in namespace `ns`, if known.
    pub fn name(&self, ns: usize, ifindex: u32) -> Option<&[u8]> {
        self.link(ns, ifindex).map(|l| l.ifname.as_slice())
    }
}

/// Files to namespaces, opened once and reused while under this many.
const KEEP_OPEN: usize = 512;

/// Enters each namespace of `spaces` in turn and dumps its interfaces,
/// then resolves cross-namespace links. The thread ends in its own netns.
pub fn wire(spaces: &[Namespace]) -> Wiring {
    let mut w = Wiring {
        links: vec![None; spaces.len()],
        ..Wiring::default()
    };
    let guard = match NetnsGuard::save() {
        Ok(g) => g,
        Err(_) => {
            w.notes
                .push("cannot open this process's own netns: no interfaces shown".into());
            return w;
        }
    };
    let mut files: HashMap<usize, File> = HashMap::new();
    for (i, n) in spaces.iter().enumerate() {
        if n.key.is_none() {
            continue;
        }
        let Some(file) = n.open() else {
            w.notes.push(format!(
                "netns {} vanished before its interfaces were read",
                render::label(n)
            ));
            continue;
        };
        match enter_and(&file, dump::links_here) {
            Ok(Ok(links)) => w.links[i] = Some(links),
            Ok(Err(e)) | Err(e) => w.notes.push(format!(
                "cannot read the interfaces of netns {}: {}",
                render::label(n),
                crate::sys::strerror(e.errno)
            )),
        }
        if files.len() < KEEP_OPEN {
            files.insert(i, file);
        }
    }
    resolve(spaces, &mut w, &mut files);
    if guard.restore().is_err() {
        w.notes
            .push("could not return to this process's own netns".into());
    }
    w
}

/// setns into `file`'s netns and runs `f` there (the caller returns).
fn enter_and<T>(
    file: &File,
    f: impl FnOnce() -> Result<T, crate::error::NlError>,
) -> Result<Result<T, crate::error::NlError>, crate::error::NlError> {
    setns(file, CloneFlags::CLONE_NEWNET).map_err(|e| crate::error::NlError {
        errno: e as i32,
        extack: None,
    })?;
    Ok(f())
}

/// Namespaces that have an interface with ifindex `idx` that could be the
/// far end of `l` (in namespace `from`): for a veth, one that points back.
fn candidates(
    w: &Wiring,
    by_index: &HashMap<u32, Vec<usize>>,
    from: usize,
    l: &Link,
) -> Vec<usize> {
    let Some(target) = l.link else {
        return Vec::new();
    };
    let veth = l.kind.as_deref() == Some("veth");
    by_index
        .get(&target)
        .into_iter()
        .flatten()
        .copied()
        .filter(|&m| m != from)
        .filter(|&m| {
            !veth
                || w.link(m, target).is_some_and(|o| {
                    o.kind.as_deref() == Some("veth")
                        && o.link == Some(l.ifindex)
                        && o.link_netnsid.is_some()
                })
        })
        .collect()
}

fn resolve(spaces: &[Namespace], w: &mut Wiring, files: &mut HashMap<usize, File>) {
    let mut by_index: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, links) in w.links.iter().enumerate() {
        for l in links.iter().flatten() {
            by_index.entry(l.ifindex).or_default().push(i);
        }
    }
    let mut far = HashMap::new();
    for i in 0..w.links.len() {
        let Some(links) = &w.links[i] else { continue };
        let mut pending: Vec<(u32, i32, Vec<usize>)> = Vec::new();
        for l in links {
            let Some(target) = l.link else { continue };
            match l.link_netnsid {
                None => {
                    far.insert((i, l.ifindex), Far::Same(target));
                }
                Some(id) => pending.push((l.ifindex, id, candidates(w, &by_index, i, l))),
            }
        }
        if pending.is_empty() {
            continue;
        }
        let wanted: BTreeSet<usize> = pending.iter().flat_map(|p| p.2.iter().copied()).collect();
        let by_nsid = ask_nsids(spaces, i, &wanted, files);
        for (ifindex, id, cands) in pending {
            let target = links
                .iter()
                .find(|l| l.ifindex == ifindex)
                .and_then(|l| l.link)
                .unwrap_or(0);
            let answer = match by_nsid.as_ref().map(|m| m.get(&id)) {
                Some(Some(&m)) if cands.contains(&m) => Far::Other {
                    ns: m,
                    ifindex: target,
                },
                // The kernel named a namespace that is no candidate (or
                // none): the far end is one the scan did not find.
                Some(_) => Far::Unresolved {
                    nsid: id,
                    ifindex: target,
                    ambiguous: false,
                },
                // Not asked: a unique pair answers, several are ambiguous.
                None if cands.len() == 1 => Far::Other {
                    ns: cands[0],
                    ifindex: target,
                },
                None => Far::Unresolved {
                    nsid: id,
                    ifindex: target,
                    ambiguous: cands.len() > 1,
                },
            };
            far.insert((i, ifindex), answer);
        }
    }
    w.far = far;
}

/// Inside namespace `at`, the NSID it has for each of `wanted`, as
/// NSID -> namespace; `None` when the kernel could not be asked.
fn ask_nsids(
    spaces: &[Namespace],
    at: usize,
    wanted: &BTreeSet<usize>,
    files: &mut HashMap<usize, File>,
) -> Option<HashMap<i32, usize>> {
    let mut opened: Vec<(usize, File)> = Vec::new();
    for &m in wanted.iter().chain(std::iter::once(&at)) {
        if !files.contains_key(&m) {
            if let Some(f) = spaces[m].open() {
                opened.push((m, f));
            }
        }
    }
    let get = |m: usize| -> Option<&File> {
        files
            .get(&m)
            .or_else(|| opened.iter().find(|(i, _)| *i == m).map(|(_, f)| f))
    };
    let here = get(at)?;
    let asked: Vec<(usize, i32)> = wanted
        .iter()
        .filter_map(|&m| Some((m, get(m)?.as_raw_fd())))
        .collect();
    let fds: Vec<i32> = asked.iter().map(|a| a.1).collect();
    let answers = enter_and(here, || {
        crate::nsid::FdQuery::open().and_then(|mut q| q.query(&fds))
    })
    .ok()?
    .ok()?;
    let mut map = HashMap::new();
    for ((m, _), a) in asked.iter().zip(answers) {
        if let Ok(Some(id)) = a {
            map.insert(id, *m);
        }
    }
    Some(map)
}
