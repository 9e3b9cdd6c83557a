//! Namespaces held by processes: one pass over /proc gives each process's
//! netns identity; `/proc/PID/cgroup` gives the container it belongs to
//! (docker, libpod, cri-containerd, crio, nerdctl, lxc and nspawn path
//! patterns, conmon and monitors skipped); and nsfs bind mounts anywhere
//! come from /proc/self/mountinfo. Processes that exit mid-scan are simply
//! not counted; processes the caller may not inspect are counted for a note.
//! Syscalls: getdents, readlinkat, openat/read of /proc files.

use super::state::{is_hex_id, netns_at, Notes};
use super::{Container, Evidence, Key};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

#[derive(Debug, Default)]
pub struct Procs {
    pub by_pid: HashMap<u32, Key>,
    /// /proc, open for the per-process reads.
    proc_dir: Option<nix::dir::Dir>,
    /// `/proc/PID/cgroup` of each process read so far (discovery asks for
    /// some, membership for all), and the buffer they are read through.
    cgroups: std::cell::RefCell<HashMap<u32, Option<Box<[u8]>>>>,
    scratch: std::cell::RefCell<Vec<u8>>,
    /// The caller's own netns.
    pub own: Option<Key>,
    /// Processes whose netns could not be read (EACCES for non-root).
    pub unreadable: usize,
}

impl Procs {
    pub fn scan() -> Procs {
        let mut p = Procs {
            own: netns_at(Path::new("/proc/self/ns/net")).ok().flatten(),
            ..Procs::default()
        };
        let Ok(mut dir) = nix::dir::Dir::open(
            "/proc",
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) else {
            return p;
        };
        let pids: Vec<u32> = dir
            .iter()
            .flatten()
            .filter_map(|e| e.file_name().to_str().ok()?.parse().ok())
            .collect();
        // Every netns is on nsfs, the device of our own: `N/ns/net` read as
        // a link (`net:[INO]`) is cheaper than following it with stat.
        let nsfs_dev = p.own.map(|k| k.0);
        for pid in pids {
            let rel = format!("{pid}/ns/net");
            match nix::fcntl::readlinkat(&dir, rel.as_str()) {
                Ok(link) => {
                    let ino = link
                        .as_bytes()
                        .strip_prefix(b"net:[")
                        .and_then(|r| r.strip_suffix(b"]"))
                        .and_then(|i| std::str::from_utf8(i).ok()?.parse().ok());
                    if let (Some(dev), Some(ino)) = (nsfs_dev, ino) {
                        p.by_pid.insert(pid, (dev, ino));
                    }
                }
                Err(Errno::EACCES | Errno::EPERM) => p.unreadable += 1,
                Err(_) => {} // exited mid-scan, or a zombie
            }
        }
        p.proc_dir = Some(dir);
        p
    }

    /// `f` of `/proc/PID/cgroup`, read once through the open /proc fd with
    /// plain reads (`read_to_end` on a File would stat and seek it for a
    /// size hint, which /proc does not give).
    fn with_cgroup<T>(&self, pid: u32, f: impl FnOnce(&[u8]) -> T) -> Option<T> {
        let mut cache = self.cgroups.borrow_mut();
        let text = cache.entry(pid).or_insert_with(|| self.read_cgroup(pid));
        text.as_deref().map(f)
    }

    fn read_cgroup(&self, pid: u32) -> Option<Box<[u8]>> {
        let dir = self.proc_dir.as_ref()?;
        let flags = OFlag::O_RDONLY | OFlag::O_CLOEXEC;
        let fd = nix::fcntl::openat(dir, format!("{pid}/cgroup").as_str(), flags, Mode::empty());
        let fd = fd.ok()?;
        let mut buf = self.scratch.borrow_mut();
        if buf.is_empty() {
            buf.resize(8192, 0);
        }
        let mut len = 0;
        loop {
            if len == buf.len() {
                let grown = len * 2;
                buf.resize(grown, 0);
            }
            match nix::unistd::read(&fd, &mut buf[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(Errno::EINTR) => {}
                Err(_) => return None,
            }
        }
        Some(buf[..len].into())
    }

    pub fn note_unreadable(&self, notes: &mut Notes) {
        if self.unreadable > 0 {
            let n = self.unreadable;
            let s = if n == 1 { "" } else { "es" };
            let hint = if nix::unistd::geteuid().is_root() {
                ""
            } else {
                "; run as root for a complete list"
            };
            notes.add(format!(
                "{n} process{s} could not be inspected (Permission denied){hint}"
            ));
        }
    }

    /// Adds the container each process's cgroup names, in that process's
    /// namespace; ids are named from the runtimes' catalogs.
    pub fn attach_cgroup_members(&self, ev: &mut Evidence) {
        let mut pids: Vec<_> = self.by_pid.iter().collect();
        pids.sort_unstable();
        for (pid, key) in pids {
            let found =
                self.with_cgroup(*pid, |t| container_of_cgroup(&String::from_utf8_lossy(t)));
            let Some(found) = found.flatten() else {
                continue;
            };
            let c = ev
                .catalog
                .iter()
                .find(|c| c.id == found.id && c.runtime == found.runtime)
                .cloned()
                .unwrap_or(found);
            ev.members.push((*key, c));
        }
    }

    /// The netns of `pid` if its cgroup names container `id` (guards
    /// against a reused PID in a stale state file).
    pub fn pid_runs(&self, pid: u32, id: &str) -> Option<Key> {
        self.pid_in_cgroup(pid, id, false)
    }

    /// The same for rootless podman, whose containers on cgroup v1 get no
    /// cgroup at all: a process only in root cgroups is accepted too.
    pub fn pid_runs_rootless(&self, pid: u32, id: &str) -> Option<Key> {
        self.pid_in_cgroup(pid, id, true)
    }

    fn pid_in_cgroup(&self, pid: u32, id: &str, rootless: bool) -> Option<Key> {
        let key = *self.by_pid.get(&pid)?;
        let found = self.with_cgroup(pid, |text| {
            let text = String::from_utf8_lossy(text);
            let paths = text.lines().filter_map(|l| l.splitn(3, ':').nth(2));
            let mut all_root = true;
            for p in paths {
                if p.contains(id) {
                    return true;
                }
                all_root &= p == "/";
            }
            rootless && all_root
        })?;
        found.then_some(key)
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
            return c(name, Some(name), "systemd-nspawn", None);
        }
        if let Some(name) = strip(p, "machine-", ".scope") {
            let name = name.replace("\\x2d", "-");
            return c(&name, Some(&name), "systemd-nspawn", None);
        }
    }
    None
}

fn strip<'a>(s: &'a str, pre: &str, suf: &str) -> Option<&'a str> {
    s.strip_prefix(pre)?.strip_suffix(suf)
}

/// Adds every nsfs mount of a network namespace listed in the caller's
/// mountinfo (bind mounts anywhere, as `lsns` finds them).
pub fn scan_mounts(ev: &mut Evidence) {
    let Ok(text) = std::fs::read("/proc/self/mountinfo") else {
        return;
    };
    for line in text.split(|&b| b == b'\n') {
        let f: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
        let Some(sep) = f.iter().position(|w| *w == b"-") else {
            continue;
        };
        if f.get(sep + 1) != Some(&&b"nsfs"[..])
            || !f.get(3).is_some_and(|r| r.starts_with(b"net:["))
        {
            continue;
        }
        let Some(mnt) = f.get(4) else { continue };
        let ino = f[3][5..]
            .strip_suffix(b"]")
            .and_then(|i| std::str::from_utf8(i).ok()?.parse::<u64>().ok());
        let path = unescape(mnt);
        let p = std::path::PathBuf::from(std::ffi::OsStr::from_bytes(&path));
        // Only when the path still shows that mount (not overmounted).
        if let Ok(Some(key)) = netns_at(&p) {
            if Some(key.1) == ino {
                ev.path(path, Some(key), None);
            }
        }
    }
}

/// mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\'
            && i + 3 < s.len()
            && s[i + 1..i + 4].iter().all(|b| (b'0'..=b'7').contains(b))
        {
            out.push((s[i + 1] - b'0') * 64 + (s[i + 2] - b'0') * 8 + (s[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
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

    #[test]
    fn cgroup_file_prefers_the_unified_or_systemd_line() {
        let text = format!("12:pids:/\n9:name=systemd:/docker/{ID}\n0::/\n");
        assert_eq!(container_of_cgroup(&text).unwrap().id, ID);
    }

    #[test]
    fn mountinfo_unescape() {
        assert_eq!(unescape(b"/run/a\\040b"), b"/run/a b");
        assert_eq!(unescape(b"/x\\"), b"/x\\");
    }
}
