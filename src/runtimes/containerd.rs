//! containerd and Kubernetes CRI: each task's bundle,
//! `/run/containerd/io.containerd.runtime.v2.task/NS/ID/`, holds the OCI
//! spec (`config.json`, with the netns path and the CRI annotations: pod
//! name, namespace, sandbox id, container name) and `init.pid`. The
//! `moby` namespace is Docker's and left to the Docker source. CRI
//! namespaces are `cni-…` entries of the run dir, or of
//! `io.containerd.grpc.v1.cri/netns` when mounted under the state dir.

use super::procs::Procs;
use super::state::{annotation, oci_netns_path, Root};
use super::{Container, Evidence, Key, Rank};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

pub const STATE: &str = "/run/containerd";
const TASKS: &str = "io.containerd.runtime.v2.task";
const CRI_NETNS: &str = "io.containerd.grpc.v1.cri/netns";

pub fn scan(ev: &mut Evidence, procs: &Procs) {
    let Some(root) = Root::open(STATE, &mut Default::default()) else {
        return;
    };
    for name in root.list(Path::new(CRI_NETNS), &mut Default::default()) {
        let rel = Path::new(CRI_NETNS).join(name);
        if let Ok(key) = root.netns(&rel) {
            let path = root.path().join(&rel).as_os_str().as_bytes().to_vec();
            ev.path(path, key, Some(("containerd", Rank::Runtime)));
        }
    }
    let netns = Root::open(crate::store::RUN_DIR, &mut Default::default());
    let mut spaces = root.list(Path::new(TASKS), &mut ev.notes);
    spaces.sort();
    for ns in spaces.iter().filter(|n| *n != "moby") {
        let mut ids = root.list(&Path::new(TASKS).join(ns), &mut ev.notes);
        ids.sort();
        for id in ids.iter().filter_map(|i| i.to_str()) {
            let bundle = Path::new(TASKS).join(ns).join(id);
            let Some(spec) = root.json(&bundle.join("config.json"), &mut ev.notes) else {
                continue;
            };
            let c = task_container(id, &spec);
            ev.catalog.push(c.clone());
            let pid = root.pid(&bundle.join("init.pid"), &mut ev.notes);
            let key = pid
                .and_then(|p| procs.pid_runs(p, id))
                .or_else(|| by_path(oci_netns_path(&spec)?, &spec, procs, netns.as_ref(), &root));
            if let Some(key) = key {
                ev.members.push((key, c));
            }
        }
    }
}

/// The container a task spec describes, named from its CRI (or nerdctl)
/// annotations.
pub fn task_container(id: &str, spec: &serde_json::Value) -> Container {
    let a = |k: &str| annotation(spec, k).map(str::to_string);
    let sandbox = a("io.kubernetes.cri.container-type").as_deref() == Some("sandbox");
    let pod = match (
        a("io.kubernetes.cri.sandbox-namespace"),
        a("io.kubernetes.cri.sandbox-name"),
    ) {
        (Some(ns), Some(name)) => Some(format!("{ns}/{name}")),
        (None, Some(name)) => Some(name),
        _ => None,
    };
    let name = if sandbox {
        a("io.kubernetes.cri.sandbox-name")
    } else {
        a("io.kubernetes.cri.container-name").or_else(|| a("nerdctl/name"))
    };
    Container {
        id: id.to_string(),
        name,
        runtime: "containerd",
        pod,
        owner: None,
    }
}

/// A task's namespace from its spec path: a run-dir entry, the CRI state
/// dir, or the sandbox's `/proc/PID/ns/net` (checked to run the sandbox).
fn by_path(
    path: &str,
    spec: &serde_json::Value,
    procs: &Procs,
    netns: Option<&Root>,
    root: &Root,
) -> Option<Key> {
    if let Some(name) = path
        .strip_prefix("/var/run/netns/")
        .or_else(|| path.strip_prefix("/run/netns/"))
    {
        return netns?.netns(Path::new(name)).ok().flatten();
    }
    if let Some(rel) = path
        .strip_prefix("/run/containerd/")
        .or_else(|| path.strip_prefix("/var/run/containerd/"))
    {
        return root.netns(Path::new(rel)).ok().flatten();
    }
    let pid: u32 = path
        .strip_prefix("/proc/")?
        .strip_suffix("/ns/net")?
        .parse()
        .ok()?;
    procs.pid_runs(pid, annotation(spec, "io.kubernetes.cri.sandbox-id")?)
}
