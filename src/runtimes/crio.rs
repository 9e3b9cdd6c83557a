//! CRI-O: each container's bundle is
//! `/run/containers/storage/overlay-containers/ID/userdata/` (`config.json`
//! with the `io.kubernetes.cri-o.*` and `io.kubernetes.pod.*` annotations,
//! and `pidfile`). Its pod namespaces, pinned by `pinns`, are bare-UUID
//! entries of the run dir. Podman shares the run root but writes no
//! bundle there (its bundles carry `io.container.manager=libpod`).

use super::procs::Procs;
use super::state::{annotation, is_hex_id, oci_netns_path, Root};
use super::{Container, Evidence};
use std::path::Path;

pub const RUN_ROOT: &str = "/run/containers/storage";

pub fn scan(ev: &mut Evidence, procs: &Procs) {
    let Some(root) = Root::open(RUN_ROOT, &mut Default::default()) else {
        return;
    };
    let netns = Root::open(crate::store::RUN_DIR, &mut Default::default());
    let mut ids = root.list(Path::new("overlay-containers"), &mut ev.notes);
    ids.sort();
    for id in ids
        .iter()
        .filter_map(|i| i.to_str())
        .filter(|i| is_hex_id(i))
    {
        let dir = Path::new("overlay-containers").join(id).join("userdata");
        let Some(spec) = root.json(&dir.join("config.json"), &mut ev.notes) else {
            continue;
        };
        let Some(c) = spec_container(id, &spec) else {
            continue;
        };
        ev.catalog.push(c.clone());
        let pid = root.pid(&dir.join("pidfile"), &mut Default::default());
        let key = pid.and_then(|p| procs.pid_runs(p, id)).or_else(|| {
            let path = oci_netns_path(&spec)?;
            let name = path
                .strip_prefix("/var/run/netns/")
                .or_else(|| path.strip_prefix("/run/netns/"))?;
            netns.as_ref()?.netns(Path::new(name)).ok().flatten()
        });
        if let Some(key) = key {
            ev.members.push((key, c));
        }
    }
}

/// The container a CRI-O bundle's spec describes (pure); `None` for
/// podman's bundles and specs without CRI-O's container type.
pub fn spec_container(id: &str, spec: &serde_json::Value) -> Option<Container> {
    if annotation(spec, "io.container.manager") == Some("libpod") {
        return None;
    }
    let a = |k: &str| annotation(spec, k).map(str::to_string);
    let sandbox = a("io.kubernetes.cri-o.ContainerType")? == "sandbox";
    let pod = match (
        a("io.kubernetes.pod.namespace"),
        a("io.kubernetes.pod.name"),
    ) {
        (Some(ns), Some(name)) => Some(format!("{ns}/{name}")),
        (None, name) => name,
        (Some(_), None) => None,
    };
    Some(Container {
        id: id.to_string(),
        name: if sandbox {
            a("io.kubernetes.pod.name")
        } else {
            a("io.kubernetes.container.name")
        },
        runtime: "cri-o",
        pod,
        owner: None,
    })
}
