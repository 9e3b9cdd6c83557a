//! Processes as members of containers: each process's cgroup names the
//! container it runs in (from the one walk of the container hierarchy,
//! see [`super::cgroups`], or from its own `/proc/PID/cgroup`), and that
//! container joins the list of the process's namespace. A cgroup a user
//! owns speaks only for that user's processes and namespaces
//! ([`super::trust`]).
//! Syscalls: open of /proc/PID/ns/net, fstat, ioctl(NS_GET_USERNS,
//! NS_GET_PARENT, NS_GET_OWNER_UID), reads of /proc/PID/status.

use super::cgroups::container_of_cgroup;
use super::procs::Procs;
use super::trust::{userns_owner, User};
use super::{Container, Evidence, Key};
use crate::nsident::{netns_of, proc_netns};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Adds the container each process's cgroup names, in that process's
/// namespace; ids are named from the runtimes' catalogs.
///
/// When every process is in the host's namespace or in one a runtime's
/// state gave a container, the walk (if not done yet) does not read the
/// members of containers whose state settled their namespace without
/// cgroups ([`Evidence::settled`]; 50 docker containers: 1.2 ms of
/// kernfs opens and reads). What that leaves out: such a container's
/// process that joined the host's namespace or another container's
/// does not add its container to that namespace's list. A process in a
/// namespace of its own is unexplained, so the whole tree is read.
pub fn attach(procs: &Procs, ev: &mut Evidence) {
    let explained: HashSet<Key> = ev
        .members
        .iter()
        .map(|(k, _)| *k)
        .chain(procs.own)
        .collect();
    let all_explained = procs.by_pid.values().all(|k| explained.contains(k));
    let settled = &ev.settled;
    let walked = procs.walked_skipping(&|c| {
        all_explained
            && settled
                .iter()
                .any(|(rt, id)| *rt == c.runtime && *id == c.id)
    });
    let mut pids: Vec<_> = procs.by_pid.iter().collect();
    pids.sort_unstable();
    let mut users: BTreeMap<u32, User> = Default::default();
    let mut user_ns: HashMap<Key, Option<u32>> = HashMap::new();
    // By (runtime, id, owner), not searched as a list per process.
    let catalog: HashMap<(&str, &str, Option<u32>), &Container> = ev
        .catalog
        .iter()
        .rev()
        .map(|c| ((c.runtime, c.id.as_str(), c.owner), c))
        .collect();
    let mut found_members = Vec::new();
    for (pid, key) in pids {
        let found = match walked {
            Some(w) => w.get(pid).map(|(_, c)| c.clone()),
            None => procs
                .with_cgroup(*pid, |t| container_of_cgroup(&String::from_utf8_lossy(t)))
                .flatten(),
        };
        let Some(mut found) = found else {
            continue;
        };
        // A process in a namespace a user owns is never root's
        // container, whoever owns its cgroup (a user can name a
        // cgroup after a rootful container's id), and where no
        // hierarchy was walked this is the only owner known.
        if found.owner.is_none() {
            found.owner = *user_ns.entry(*key).or_insert_with(|| {
                let f = std::fs::File::open(proc_netns(pid.to_string().as_bytes())).ok()?;
                let same = netns_of(&f) == Some(*key);
                same.then(|| userns_owner(&f)).flatten()
            });
        }
        if let Some(uid) = found.owner {
            let user = users.entry(uid).or_insert_with(|| User::new(uid));
            if !user.owns(*pid, *key) {
                user.ignore(&format!("PID {pid} in {}", found.short_id()));
                continue;
            }
        }
        // Named only from the same owner's state.
        let c = catalog
            .get(&(found.runtime, found.id.as_str(), found.owner))
            .map(|c| (*c).clone())
            .unwrap_or(found);
        found_members.push((*key, c));
    }
    ev.members.extend(found_members);
    for user in users.values() {
        user.note("cgroup", &mut ev.notes);
    }
}
