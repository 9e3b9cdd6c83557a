//! Which container a process belongs to, from its cgroup (spec:
//! netns-locations 2.3): path patterns for docker, libpod, cri-containerd,
//! crio, nerdctl, lxc and nspawn (conmon and monitors skipped), and the
//! fast way to apply them to every process at once: walk the one cgroup
//! hierarchy whose paths name containers (the unified one on cgroup v2,
//! else v1's `name=systemd`, else the first controller, as the processes'
//! own cgroup files would be read) and read `cgroup.procs` only in the
//! directories a pattern matches. That costs one `statx` per cgroup and one
//! read per container, instead of one `/proc/PID/cgroup` per process
//! (which formats a path for every v1 hierarchy under a global lock).
//! Syscalls: openat, getdents, statx (for `st_nlink`: a cgroup directory's
//! link count is 2 plus its subdirectories), read.

use super::state::is_hex_id;
use super::Container;
use crate::mountinfo::Mount;
use nix::dir::{Dir, Type};
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::Mode;
use std::collections::HashMap;
use std::ffi::CStr;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// Deeper cgroup trees are not walked further (the kernel's default
/// `cgroup.max.depth` is unlimited; real trees are a few levels deep).
const MAX_DEPTH: usize = 32;

/// Processes in container cgroups, found by [`walk`]: PID -> (cgroup path
/// in the walked hierarchy, container).
pub type Members = HashMap<u32, (Box<str>, Container)>;

/// The mount point of the hierarchy a process's cgroup file would be read
/// from (the first `0::` or `name=systemd` line of `own`, our own
/// `/proc/self/cgroup`, else its first line), if it is mounted at its root,
/// so that paths beneath the mount are the paths `/proc/PID/cgroup` shows.
pub fn container_hierarchy(own: &[u8], mounts: &[Mount]) -> Option<PathBuf> {
    let own = std::str::from_utf8(own).ok()?;
    let lines = || own.lines().filter_map(|l| l.split(':').nth(1));
    let preferred = |c: &str| c.is_empty() || c == "name=systemd";
    let controllers = lines().find(|c| preferred(c)).or_else(|| lines().next())?;
    let m = mounts.iter().find(|m| {
        m.root == b"/"
            && if controllers.is_empty() {
                m.fstype == b"cgroup2"
            } else {
                m.fstype == b"cgroup"
                    && controllers.split(',').all(|c| {
                        m.super_opts
                            .split(|&b| b == b',')
                            .any(|o| o == c.as_bytes())
                    })
            }
    })?;
    Some(PathBuf::from(std::ffi::OsStr::from_bytes(&m.mount_point)))
}

/// Walks the hierarchy mounted at `mount`; `None` if it cannot be opened.
/// The members of a container `skip` accepts are not read (its
/// subdirectories still are).
pub fn walk(mount: &std::path::Path, skip: &dyn Fn(&Container) -> bool) -> Option<Members> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let root = Dir::open(mount, flags, Mode::empty()).ok()?;
    let mut out = Members::new();
    let mut path = String::new();
    visit(root, &mut path, 0, skip, &mut out);
    Some(out)
}

/// Visits the cgroup `dir` at `path` ("" for the root): reads its members
/// if a pattern matches, then its subdirectories.
fn visit(
    mut dir: Dir,
    path: &mut String,
    depth: usize,
    skip: &dyn Fn(&Container) -> bool,
    out: &mut Members,
) {
    let names: Vec<Box<CStr>> = dir
        .iter()
        .flatten()
        .filter(|e| matches!(e.file_type(), Some(Type::Directory) | None))
        .filter(|e| !matches!(e.file_name().to_bytes(), b"." | b".."))
        .map(|e| e.file_name().into())
        .collect();
    for name in names {
        let len = path.len();
        path.push('/');
        path.push_str(&String::from_utf8_lossy(name.to_bytes()));
        let fd = dir.as_fd();
        let flags = AtFlags::AT_SYMLINK_NOFOLLOW;
        if let Ok(st) = nix::sys::stat::fstatat(fd, name.as_ref(), flags) {
            if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
                if let Some(mut c) = container_of_path(path).filter(|c| !skip(c)) {
                    // A cgroup a user owns (systemd delegates user@UID's
                    // subtree) is that user's word (see super::trust).
                    c.owner = (st.st_uid != 0).then_some(st.st_uid);
                    read_members(fd, &name, path, c, out);
                }
                if st.st_nlink > 2 && depth < MAX_DEPTH {
                    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
                    if let Ok(sub) = Dir::openat(fd, name.as_ref(), flags, Mode::empty()) {
                        visit(sub, path, depth + 1, skip, out);
                    }
                }
            }
        }
        path.truncate(len);
    }
}

/// Adds the PIDs in `name/cgroup.procs` (beneath `dir`) as members of `c`;
/// a PID already placed keeps its first cgroup.
fn read_members(dir: BorrowedFd, name: &CStr, path: &str, c: Container, out: &mut Members) {
    let mut rel = name.to_bytes().to_vec();
    rel.extend_from_slice(b"/cgroup.procs");
    let rel = std::ffi::OsStr::from_bytes(&rel);
    let flags = OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW;
    let Ok(fd) = nix::fcntl::openat(dir, rel, flags, Mode::empty()) else {
        return;
    };
    let Ok(buf) = crate::sys::read_all(fd.as_fd(), false) else {
        return;
    };
    let pids = buf
        .split(|&b| b == b'\n')
        .filter_map(|l| std::str::from_utf8(l).ok()?.parse::<u32>().ok())
        .filter(|&p| p != 0);
    for pid in pids {
        out.entry(pid).or_insert_with(|| (path.into(), c.clone()));
    }
}

/// The container a cgroup file's paths name, if any: cgroup v2's single
/// `0::` line and v1's name=systemd line first, then the others, each
/// group in file order.
pub fn container_of_cgroup(text: &str) -> Option<Container> {
    let preferred = |l: &str| l.starts_with("0::") || l.contains("name=systemd");
    let paths = |first: bool| {
        text.lines()
            .filter(move |l| preferred(l) == first)
            .filter_map(|l| l.splitn(3, ':').nth(2))
    };
    paths(true).chain(paths(false)).find_map(container_of_path)
}

fn c(id: &str, name: Option<&str>, runtime: &'static str, pod: Option<&str>) -> Option<Container> {
    Some(Container {
        id: id.to_string(),
        name: name.map(str::to_string),
        runtime,
        pod: pod.map(str::to_string),
        owner: None,
    })
}

/// One cgroup path -> container (spec: netns-locations 2.3).
pub fn container_of_path(path: &str) -> Option<Container> {
    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let last = *parts.last()?;
    let parent = parts.len().checked_sub(2).map(|i| parts[i]);
    let hex = |s: &str| is_hex_id(s).then_some(());
    if let Some(id) = strip(last, "docker-", ".scope") {
        hex(id)?;
        return c(id, None, "docker", None);
    }
    if parent == Some("docker") && is_hex_id(last) {
        return c(last, None, "docker", None);
    }
    if last.starts_with("libpod-conmon-") || last == "conmon" {
        return None;
    }
    if let Some(id) = last.strip_prefix("libpod-") {
        let id = id.strip_suffix(".scope").unwrap_or(id);
        hex(id)?;
        let pod = parts.iter().find_map(|p| {
            p.strip_prefix("machine-libpod_pod_")
                .or_else(|| p.strip_prefix("user-libpod_pod_"))
                .and_then(|s| s.strip_suffix(".slice"))
        });
        let pod = pod.or(parent.filter(|p| is_hex_id(p)));
        return c(id, None, "podman", pod);
    }
    if let Some(id) = strip(last, "cri-containerd-", ".scope") {
        hex(id)?;
        return c(id, None, "containerd", None);
    }
    if let Some(id) = strip(last, "nerdctl-", ".scope") {
        hex(id)?;
        return c(id, None, "containerd", None);
    }
    if last.starts_with("crio-conmon-") {
        return None;
    }
    if let Some(id) = strip(last, "crio-", ".scope") {
        hex(id)?;
        return c(id, None, "cri-o", None);
    }
    lxc_or_nspawn(&parts)
}

fn lxc_or_nspawn(parts: &[&str]) -> Option<Container> {
    for (i, p) in parts.iter().enumerate() {
        if let Some(name) = p.strip_prefix("lxc.payload.") {
            return c(name, Some(name), "lxc", None);
        }
        if *p == "lxc" {
            let name = parts.get(i + 1)?;
            return c(name, Some(name), "lxc", None);
        }
        if let Some(name) = strip(p, "systemd-nspawn@", ".service") {
            return c(name, Some(name), "nspawn", None);
        }
        if let Some(name) = strip(p, "machine-", ".scope") {
            let name = name.replace("\\x2d", "-");
            return c(&name, Some(&name), "nspawn", None);
        }
    }
    None
}

fn strip<'a>(s: &'a str, pre: &str, suf: &str) -> Option<&'a str> {
    s.strip_prefix(pre)?.strip_suffix(suf)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "1a1e71f525f988d78f10260da16aa180313fa8ea2aa6bed62a544689f256fb66";

    fn rt(path: &str) -> Option<(&'static str, String, Option<String>)> {
        container_of_path(path).map(|c| (c.runtime, c.id, c.pod))
    }

    #[test]
    fn cgroup_patterns() {
        let pod = "754add790037110d5a8671b2d83a40a65dbe6ebeeff3b0adec80e68cd0a3dedf";
        assert_eq!(
            rt(&format!("/docker/{ID}")),
            Some(("docker", ID.into(), None))
        );
        assert_eq!(
            rt(&format!("/system.slice/docker-{ID}.scope")).unwrap().0,
            "docker"
        );
        assert_eq!(
            rt(&format!("/libpod_parent/libpod-{ID}")).unwrap().0,
            "podman"
        );
        assert_eq!(
            rt(&format!("/libpod_parent/{pod}/libpod-{ID}")),
            Some(("podman", ID.into(), Some(pod.into())))
        );
        assert_eq!(
            rt(&format!(
                "/machine.slice/machine-libpod_pod_{pod}.slice/libpod-{ID}.scope"
            ))
            .unwrap()
            .2,
            Some(pod.into())
        );
        assert_eq!(
            rt(&format!("/machine.slice/libpod-conmon-{ID}.scope")),
            None
        );
        assert_eq!(rt("/libpod_parent/conmon"), None);
        assert_eq!(
            rt(&format!("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podx.slice/cri-containerd-{ID}.scope")).unwrap().0,
            "containerd"
        );
        assert_eq!(
            rt(&format!("/system.slice/crio-{ID}.scope")).unwrap().0,
            "cri-o"
        );
        assert_eq!(rt(&format!("/system.slice/crio-conmon-{ID}.scope")), None);
        assert_eq!(rt("/lxc.payload.web/init.scope").unwrap().1, "web");
        assert_eq!(rt("/lxc/web").unwrap().0, "lxc");
        assert_eq!(rt("/lxc.monitor.web"), None);
        assert_eq!(
            rt("/machine.slice/systemd-nspawn@deb.service/payload")
                .unwrap()
                .1,
            "deb"
        );
        assert_eq!(
            rt("/machine.slice/machine-my\\x2dbox.scope").unwrap().1,
            "my-box"
        );
        assert_eq!(rt("/user.slice/user-1000.slice/session-2.scope"), None);
        assert_eq!(rt("/docker/notanid"), None);
        assert_eq!(rt("/"), None);
    }

    fn mount(point: &str, root: &str, fstype: &str, opts: &str) -> Mount {
        Mount {
            id: 1,
            parent: 1,
            root: root.into(),
            mount_point: point.into(),
            shared: None,
            master: None,
            fstype: fstype.into(),
            source: fstype.into(),
            super_opts: opts.into(),
        }
    }

    #[test]
    fn the_walked_hierarchy_is_the_one_a_cgroup_file_is_read_by() {
        let v1 = [
            mount(
                "/sys/fs/cgroup/cpu,cpuacct",
                "/",
                "cgroup",
                "rw,cpu,cpuacct",
            ),
            mount(
                "/sys/fs/cgroup/systemd",
                "/",
                "cgroup",
                "rw,xattr,name=systemd",
            ),
            mount("/sys/fs/cgroup/unified", "/", "cgroup2", "rw"),
        ];
        let at = |own: &str, m: &[Mount]| container_hierarchy(own.as_bytes(), m);
        let hybrid = "4:cpu,cpuacct:/\n1:name=systemd:/user.slice\n0::/user.slice\n";
        assert_eq!(at(hybrid, &v1), Some("/sys/fs/cgroup/systemd".into()));
        assert_eq!(
            at("0::/init.scope\n", &v1),
            Some("/sys/fs/cgroup/unified".into())
        );
        // No name=systemd hierarchy: the first controller line's.
        assert_eq!(
            at("4:cpu,cpuacct:/\n", &v1),
            Some("/sys/fs/cgroup/cpu,cpuacct".into())
        );
        assert_eq!(
            at("4:cpuacct,cpu:/\n", &v1),
            Some("/sys/fs/cgroup/cpu,cpuacct".into())
        );
        assert_eq!(at("4:cpu:/\n", &v1[1..]), None);
        // Mounted below its root (another cgroup namespace's view): the
        // paths beneath it are not the paths /proc/PID/cgroup shows.
        let inner = [mount("/sys/fs/cgroup", "/lxc.payload.c1", "cgroup2", "rw")];
        assert_eq!(at("0::/\n", &inner), None);
        assert_eq!(at("", &v1), None);
    }

    #[test]
    fn cgroup_file_prefers_the_unified_or_systemd_line() {
        let text = format!("12:pids:/\n9:name=systemd:/docker/{ID}\n0::/\n");
        assert_eq!(container_of_cgroup(&text).unwrap().id, ID);
    }
}
