//! rnetns's own `list --all-runtimes` and `identify --all-runtimes [PID]`:
//! every network namespace on the host (or the one PID is in) with its
//! NSID, owner, names and paths, containers and processes, from
//! [`crate::runtimes::scan`]. Plain output is aligned columns for people;
//! `-j` is an array of objects with the keys `inode`, `id`, `names`,
//! `paths`, `runtime`, `owner_uid`, `containers`, `pids`, `stale` (`id`,
//! `inode`, `names`, `paths`, `owner_uid` and `containers` absent when
//! unknown or empty), laid out as iproute2's JSON. Plain cells and notes
//! are escaped ([`escape`]): names, paths and ids come from files users
//! may write (README "Trust"); a namespace only a user's tree reached shows as
//! `podman (uid N)`. rnetns leaves itself out of `pids`. Notes about what
//! could not be read go to stderr as `rnetns: note: …`; the exit status is 0.
//! Syscalls: those of the scan, open of one path per namespace, RTM_GETNSID.

use super::{Ctx, Status};
use crate::bytes::cat;
use crate::error::{eprint_bytes, Error};
use crate::netlink::nsid;
use crate::output::escape::escape;
use crate::output::json::{render, Node};
use crate::runtimes::{self, state, Container, Key, Namespace};
use std::collections::HashMap;
use std::fs::File;
use std::os::fd::AsRawFd;

/// The flag that selects these forms.
pub const FLAG: &[u8] = b"--all-runtimes";

pub fn list(ctx: &mut Ctx) -> Status {
    let mut scan = runtimes::scan();
    let mut spaces = scan.namespaces;
    fill_nsids(&mut spaces, &mut scan.held);
    print(ctx, &spaces, &scan.notes);
    Ok(0)
}

/// `identify --all-runtimes [PID]` (ARGS after the flag).
pub fn identify(ctx: &mut Ctx, args: &[Vec<u8>]) -> Status {
    if args.len() > 1 {
        return Err(Error::Plain("extra arguments specified"));
    }
    let pid: &[u8] = match args.first() {
        Some(p) if !p.is_empty() && p.iter().all(u8::is_ascii_digit) => p,
        Some(p) => {
            return Err(Error::Text(cat(&[
                b"Specified string '",
                p,
                b"' is not a pid",
            ])))
        }
        None => b"self",
    };
    let path = crate::nsident::proc_netns(pid);
    let key = match state::netns_at(&path) {
        Ok(Some(k)) => k,
        Ok(None) => {
            return Err(Error::sys(
                "Cannot open network namespace",
                nix::errno::Errno::EINVAL,
            ))
        }
        Err(e) => return Err(Error::sys("Cannot open network namespace", e)),
    };
    let mut scan = runtimes::scan();
    let mut spaces: Vec<Namespace> = scan.find(key).cloned().into_iter().collect();
    fill_nsids(&mut spaces, &mut scan.held);
    print(ctx, &spaces, &scan.notes);
    Ok(0)
}

/// What a note means for the answer, said once per run after the notes.
pub const MEANING: &str = "notes name what could not be read; the rest of the answer is complete and the exit status unchanged (-q silences notes)";

/// `spaces` with rnetns itself left out of `pids`.
pub(super) fn without_self(spaces: &[Namespace]) -> Vec<Namespace> {
    let me = std::process::id();
    spaces
        .iter()
        .cloned()
        .map(|mut n| {
            n.pids.retain(|&p| p != me);
            n
        })
        .collect()
}

fn print(ctx: &mut Ctx, spaces: &[Namespace], notes: &[String]) {
    let spaces = without_self(spaces);
    let bytes = if ctx.globals.json {
        json(&spaces, ctx.globals.pretty)
    } else {
        plain(&spaces)
    };
    ctx.out.write(&bytes);
    ctx.out.flush();
    if ctx.globals.quiet || notes.is_empty() {
        return;
    }
    let prog = crate::prog::prog();
    for n in notes {
        // Notes quote paths and names a user can write: escaped.
        let n = escape(n.as_bytes());
        eprint_bytes(format!("{prog}: note: {n}\n").as_bytes());
    }
    // Once per run (a batch may list many times): what a note means.
    static EXPLAINED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !EXPLAINED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        eprint_bytes(format!("{prog}: note: {MEANING}\n").as_bytes());
    }
}

/// Asks the kernel for each live namespace's NSID (in the caller's netns),
/// through the file a source left open, else one of its paths or
/// processes; in chunks, so a host with thousands of namespaces never holds
/// more than [`NSID_CHUNK`] more files open at once.
pub(super) fn fill_nsids(spaces: &mut [Namespace], held: &mut HashMap<Key, File>) {
    fill_nsids_keeping(spaces, held, 0);
}

/// [`fill_nsids`], keeping the first `keep` files it used (by index into
/// `spaces`) for a caller that enters the namespaces next.
pub(super) fn fill_nsids_keeping(
    spaces: &mut [Namespace],
    held: &mut HashMap<Key, File>,
    keep: usize,
) -> HashMap<usize, File> {
    let mut kept = HashMap::new();
    for start in (0..spaces.len()).step_by(NSID_CHUNK) {
        let end = spaces.len().min(start + NSID_CHUNK);
        let files: Vec<(usize, File)> = (start..end)
            .filter_map(|i| {
                let n = &spaces[i];
                let file = n.key.and_then(|k| held.remove(&k)).or_else(|| n.open());
                Some((i, file?))
            })
            .collect();
        let fds: Vec<i32> = files.iter().map(|(_, f)| f.as_raw_fd()).collect();
        if let Ok(answers) = nsid::query_fds(&fds) {
            for ((i, _), a) in files.iter().zip(answers) {
                spaces[*i].nsid = a.ok().flatten();
            }
        }
        for (i, f) in files {
            if kept.len() < keep {
                kept.insert(i, f);
            }
        }
    }
    kept
}

/// Files opened per NSID batch by [`fill_nsids`].
const NSID_CHUNK: usize = 128;

/// `name (shortid)`, `name (shortid, pod P)`, or the id alone, escaped
/// (names, pods and ids come from state files a user may write).
fn container_text(c: &Container) -> Vec<u8> {
    let e = |s: &str| escape(s.as_bytes()).into_owned();
    let mut inner = e(c.short_id());
    if let Some(p) = &c.pod {
        inner.push_str(&format!(", pod {}", e(p)));
    }
    match &c.name {
        Some(n) if n == &c.id && c.pod.is_none() => e(n).into_bytes(),
        Some(n) => format!("{} ({inner})", e(n)).into_bytes(),
        None if c.pod.is_some() => format!("({inner})").into_bytes(),
        None => inner.into_bytes(),
    }
}

/// The items joined with `, `, each escaped ([`escape`]), or `-`.
fn join(items: Vec<Vec<u8>>) -> Vec<u8> {
    if items.is_empty() {
        return b"-".to_vec();
    }
    items.join(&b", "[..])
}

fn escaped(items: &[Vec<u8>]) -> Vec<Vec<u8>> {
    items
        .iter()
        .map(|i| escape(i).into_owned().into_bytes())
        .collect()
}

/// The runtime column: `podman (uid 1000)` for a namespace that only a
/// user's tree reached.
fn runtime_text(n: &Namespace) -> Vec<u8> {
    match n.owner_uid {
        Some(u) => format!("{} (uid {u})", n.runtime).into_bytes(),
        None => n.runtime.as_bytes().to_vec(),
    }
}

/// The cells of one row.
fn row(n: &Namespace) -> [Vec<u8>; 6] {
    let mut where_ = n.names.clone();
    where_.extend(
        n.paths
            .iter()
            .filter(|p| !is_run_dir_path(p, &n.names))
            .cloned(),
    );
    let mut where_ = join(escaped(&where_));
    if n.stale {
        where_.extend_from_slice(b" (stale)");
    }
    [
        n.key
            .map_or(b"-".to_vec(), |k| k.1.to_string().into_bytes()),
        n.nsid.map_or(b"-".to_vec(), |i| i.to_string().into_bytes()),
        runtime_text(n),
        n.pids.len().to_string().into_bytes(),
        where_,
        join(n.containers.iter().map(container_text).collect()),
    ]
}

/// Whether `path` is `RUN_DIR/NAME` for one of `names` (shown as the name).
fn is_run_dir_path(path: &[u8], names: &[Vec<u8>]) -> bool {
    names.iter().any(|n| crate::store::entry_display(n) == path)
}

/// Aligned columns, a header first, two spaces between columns; every
/// cell is already escaped, so widths are those of the escaped text
/// (counted in characters, so a UTF-8 name does not skew its column).
pub fn plain<'a>(spaces: impl IntoIterator<Item = &'a Namespace>) -> Vec<u8> {
    let header: [Vec<u8>; 6] = [
        "INODE",
        "NSID",
        "RUNTIME",
        "PIDS",
        "NAME/PATH",
        "CONTAINERS",
    ]
    .map(|h| h.as_bytes().to_vec());
    let rows: Vec<[Vec<u8>; 6]> = std::iter::once(header)
        .chain(spaces.into_iter().map(row))
        .collect();
    let chars = |cell: &[u8]| String::from_utf8_lossy(cell).chars().count();
    let mut widths = [0usize; 6];
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(chars(cell));
        }
    }
    let mut out = Vec::new();
    for r in &rows {
        for (i, cell) in r.iter().enumerate() {
            out.extend_from_slice(cell);
            if i + 1 < r.len() {
                out.resize(out.len() + widths[i] - chars(cell) + 2, b' ');
            }
        }
        out.push(b'\n');
    }
    out
}

/// Whether the plain table of whatever containers (names, ids, pods) and
/// paths `data` describes, as `containers.json`, a podman spec or a docker
/// `config.v2.json`, is free of control bytes but `\n` (README "Trust"): for
/// the `runtime_state` fuzz target and tests/trust.rs.
pub fn table_of_state_bytes_is_clean(data: &[u8]) -> bool {
    use crate::runtimes::{docker, podman};
    const ID: &str = "c1c824d296376cab147979267602f5a1a0518d152d8ec6748a134c01309edcc9";
    let Some(v) = state::parse_json(data) else {
        return true;
    };
    let mut containers: Vec<Container> = podman::names_of(&v)
        .into_iter()
        .map(|(id, name)| Container {
            id,
            name: Some(name),
            runtime: "podman",
            pod: podman::libpod_pod(&v).flatten(),
            owner: Some(1000),
        })
        .collect();
    containers.extend(docker::config_of(ID, &v).map(|c| c.container));
    let paths: Vec<Vec<u8>> = state::oci_netns_path(&v)
        .map(|p| p.as_bytes().to_vec())
        .into_iter()
        .collect();
    let n = Namespace {
        key: Some((4, 1)),
        nsid: None,
        names: paths.clone(),
        paths,
        runtime: "podman",
        containers,
        pids: vec![],
        stale: false,
        owner_uid: Some(1000),
    };
    let table = plain(&[n]);
    !table.iter().any(|&b| (b < 0x20 && b != b'\n') || b == 0x7f)
}

fn strs(items: &[Vec<u8>]) -> Node {
    Node::Array(items.iter().map(|s| Node::Str(s.clone())).collect())
}

fn container_node(c: &Container) -> Node {
    let mut o = vec![("id", Node::Str(c.id.clone().into_bytes()))];
    if let Some(n) = &c.name {
        o.push(("name", Node::Str(n.clone().into_bytes())));
    }
    o.push(("runtime", Node::Str(c.runtime.as_bytes().to_vec())));
    if let Some(p) = &c.pod {
        o.push(("pod", Node::Str(p.clone().into_bytes())));
    }
    Node::Object(o)
}

/// The `-j` array (iproute2 layout; `-p` pretty).
pub fn json(spaces: &[Namespace], pretty: bool) -> Vec<u8> {
    let objects = spaces.iter().map(|n| Node::Object(object(n))).collect();
    render(&Node::Array(objects), pretty)
}

/// One namespace's members in the `-j` listing, in order.
pub(super) fn object(n: &Namespace) -> Vec<(&'static str, Node)> {
    let mut o = Vec::new();
    if let Some(k) = n.key {
        o.push(("inode", Node::Int(k.1 as i64)));
    }
    if let Some(id) = n.nsid {
        o.push(("id", Node::Int(id.into())));
    }
    if !n.names.is_empty() {
        o.push(("names", strs(&n.names)));
    }
    if !n.paths.is_empty() {
        o.push(("paths", strs(&n.paths)));
    }
    o.push(("runtime", Node::Str(n.runtime.as_bytes().to_vec())));
    if let Some(u) = n.owner_uid {
        o.push(("owner_uid", Node::Int(u.into())));
    }
    if !n.containers.is_empty() {
        o.push((
            "containers",
            Node::Array(n.containers.iter().map(container_node).collect()),
        ));
    }
    o.push((
        "pids",
        Node::Array(n.pids.iter().map(|&p| Node::Int(p.into())).collect()),
    ));
    o.push(("stale", Node::Bool(n.stale)));
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Namespace> {
        let id = "1a1e71f525f988d78f10260da16aa180313fa8ea2aa6bed62a544689f256fb66";
        vec![
            Namespace {
                key: Some((4, 4026531840)),
                nsid: None,
                names: vec![],
                paths: vec![b"/run/docker/netns/default".to_vec()],
                runtime: "host",
                containers: vec![],
                pids: vec![1, 2],
                stale: false,
                owner_uid: None,
            },
            Namespace {
                key: Some((4, 4026532300)),
                nsid: Some(0),
                names: vec![b"web".to_vec()],
                paths: vec![
                    b"/run/netns/web".to_vec(),
                    b"/run/docker/netns/c68ed5e6536b".to_vec(),
                ],
                runtime: "docker",
                containers: vec![
                    Container {
                        id: id.into(),
                        name: Some("d-bridge".into()),
                        runtime: "docker",
                        pod: None,
                        owner: None,
                    },
                    Container {
                        id: id.into(),
                        name: None,
                        runtime: "podman",
                        pod: Some("p-pod".into()),
                        owner: None,
                    },
                ],
                pids: vec![7],
                stale: false,
                owner_uid: None,
            },
            Namespace {
                key: None,
                nsid: None,
                names: vec![],
                paths: vec![b"/run/docker/netns/0123456789ab".to_vec()],
                runtime: "docker",
                containers: vec![],
                pids: vec![],
                stale: true,
                owner_uid: None,
            },
        ]
    }

    #[test]
    fn plain_columns_are_aligned() {
        let want = "\
INODE       NSID  RUNTIME  PIDS  NAME/PATH                               CONTAINERS
4026531840  -     host     2     /run/docker/netns/default               -
4026532300  0     docker   1     web, /run/docker/netns/c68ed5e6536b     d-bridge (1a1e71f525f9), (1a1e71f525f9, pod p-pod)
-           -     docker   0     /run/docker/netns/0123456789ab (stale)  -
";
        assert_eq!(String::from_utf8(plain(&sample())).unwrap(), want);
    }

    #[test]
    fn json_compact_keys_in_order() {
        let want = concat!(
            r#"[{"inode":4026531840,"paths":["/run/docker/netns/default"],"runtime":"host","pids":[1,2],"stale":false},"#,
            r#"{"inode":4026532300,"id":0,"names":["web"],"paths":["/run/netns/web","/run/docker/netns/c68ed5e6536b"],"runtime":"docker","#,
            r#""containers":[{"id":"1a1e71f525f988d78f10260da16aa180313fa8ea2aa6bed62a544689f256fb66","name":"d-bridge","runtime":"docker"},"#,
            r#"{"id":"1a1e71f525f988d78f10260da16aa180313fa8ea2aa6bed62a544689f256fb66","runtime":"podman","pod":"p-pod"}],"pids":[7],"stale":false},"#,
            r#"{"paths":["/run/docker/netns/0123456789ab"],"runtime":"docker","pids":[],"stale":true}]"#,
            "\n"
        );
        assert_eq!(String::from_utf8(json(&sample(), false)).unwrap(), want);
    }

    #[test]
    fn json_pretty_layout() {
        let one = &sample()[..1];
        let want = "[ {\n        \"inode\": 4026531840,\n        \"paths\": [ \"/run/docker/netns/default\" ],\n        \"runtime\": \"host\",\n        \"pids\": [ 1,2 ],\n        \"stale\": false\n    } ]\n";
        assert_eq!(String::from_utf8(json(one, true)).unwrap(), want);
        assert_eq!(json(&[], true), b"[ ]\n");
        assert_eq!(
            plain(&[]),
            b"INODE  NSID  RUNTIME  PIDS  NAME/PATH  CONTAINERS\n"
        );
    }

    #[test]
    fn plain_escapes_and_measures_the_escaped_text() {
        let mut n = sample().remove(1);
        n.names = vec![b"a\x1b[2Jb".to_vec()];
        n.paths = vec![b"/run/user/1000/netns/\x07\xff".to_vec()];
        n.containers.truncate(1);
        n.containers[0].name = Some("\u{1b}]0;t\u{7}".into());
        n.owner_uid = Some(1000);
        let want = "\
INODE       NSID  RUNTIME            PIDS  NAME/PATH                                 CONTAINERS
4026532300  0     docker (uid 1000)  1     a\\x1b[2Jb, /run/user/1000/netns/\\x07\\xff  \\x1b]0;t\\x07 (1a1e71f525f9)
";
        assert_eq!(String::from_utf8(plain(&[n.clone()])).unwrap(), want);
        let j = String::from_utf8_lossy(&json(&[n], false)).into_owned();
        assert!(j.contains(r#""runtime":"docker","owner_uid":1000,"#), "{j}");
    }
}
