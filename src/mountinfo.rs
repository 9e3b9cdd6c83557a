//! /proc/PID/mountinfo parsing (proc(5)): one [`Mount`] per line, mount
//! points unescaped (`\040` and friends), optional fields kept as
//! propagation data. Used by `doctor` to see the run dir's mount state in
//! this and other mount namespaces.

/// One mountinfo line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Mount {
    pub id: u64,
    pub parent: u64,
    pub root: Vec<u8>,
    pub mount_point: Vec<u8>,
    /// `shared:N`: the peer group this mount belongs to.
    pub shared: Option<u64>,
    /// `master:N`: the peer group it receives propagation from (a slave).
    pub master: Option<u64>,
    pub fstype: Vec<u8>,
    pub source: Vec<u8>,
    /// Per-superblock options (`rw,name=systemd` for a cgroup hierarchy).
    pub super_opts: Vec<u8>,
}

impl Mount {
    pub fn is_nsfs(&self) -> bool {
        self.fstype == b"nsfs"
    }

    /// The propagation type as findmnt words it.
    pub fn propagation(&self) -> &'static str {
        match (self.shared, self.master) {
            (Some(_), Some(_)) => "shared,slave",
            (Some(_), None) => "shared",
            (None, Some(_)) => "slave",
            (None, None) => "private",
        }
    }
}

/// Undoes the octal escapes the kernel applies to paths (`\040` = space).
pub fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        if field[i] == b'\\' && i + 3 < field.len() {
            let oct = &field[i + 1..i + 4];
            if oct.iter().all(|c| (b'0'..=b'7').contains(c)) {
                let v = oct.iter().fold(0u32, |a, c| a * 8 + u32::from(c - b'0'));
                if let Ok(b) = u8::try_from(v) {
                    out.push(b);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(field[i]);
        i += 1;
    }
    out
}

/// Parses one line; `None` for a malformed one.
pub fn parse_line(line: &[u8]) -> Option<Mount> {
    let fields: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    let dash = fields.iter().position(|f| *f == b"-")?;
    if dash < 6 || fields.len() < dash + 3 {
        return None;
    }
    let num = |f: &[u8]| std::str::from_utf8(f).ok()?.parse::<u64>().ok();
    let mut m = Mount {
        id: num(fields[0])?,
        parent: num(fields[1])?,
        root: unescape(fields[3]),
        mount_point: unescape(fields[4]),
        shared: None,
        master: None,
        fstype: fields[dash + 1].to_vec(),
        source: unescape(fields[dash + 2]),
        super_opts: fields.get(dash + 3).map_or(Vec::new(), |o| o.to_vec()),
    };
    for opt in &fields[6..dash] {
        if let Some(v) = opt.strip_prefix(b"shared:") {
            m.shared = num(v);
        } else if let Some(v) = opt.strip_prefix(b"master:") {
            m.master = num(v);
        }
    }
    Some(m)
}

/// Parses a whole mountinfo file, skipping malformed lines.
pub fn parse(text: &[u8]) -> Vec<Mount> {
    text.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .filter_map(parse_line)
        .collect()
}

/// Filesystems [`of_fs_types`] can pick: name and superblock magic.
pub const NSFS: (&[u8], u64) = (b"nsfs", crate::nsident::NSFS_MAGIC as u64);
pub const CGROUP: (&[u8], u64) = (b"cgroup", 0x0027_e0eb);
pub const CGROUP2: (&[u8], u64) = (b"cgroup2", 0x6367_7270);

/// Our mounts of the filesystem types `types`, in mountinfo order. Through
/// listmount(2) and statmount(2) where the kernel has them (Linux 6.8+):
/// one small statmount per mount and one more, with its strings, per mount
/// of those types, where reading mountinfo makes the kernel format every
/// mount's options (50 docker overlay mounts are ~25 KiB of them). Else
/// from /proc/self/mountinfo. `id` and `parent` are the mountinfo ids.
pub fn of_fs_types(types: &[(&[u8], u64)]) -> Vec<Mount> {
    if let Some(ids) = crate::sys::list_mounts() {
        if let Some(found) = stat_mounts(&ids, types) {
            return found;
        }
    }
    let all = read("self").unwrap_or_default();
    all.into_iter()
        .filter(|m| types.iter().any(|(name, _)| m.fstype == *name))
        .collect()
}

fn stat_mounts(ids: &[u64], types: &[(&[u8], u64)]) -> Option<Vec<Mount>> {
    use crate::sys::StatMount as S;
    let mut sm = S::default();
    let mut out = Vec::new();
    for &id in ids {
        match sm.fetch(id, S::SB_BASIC) {
            Ok(()) => {}
            Err(nix::errno::Errno::ENOENT) => continue, // unmounted meanwhile
            Err(_) => return None,
        }
        let magic = sm.sb_magic();
        if !types.iter().any(|(_, m)| *m == magic) {
            continue;
        }
        let needed = S::MNT_BASIC | S::MNT_ROOT | S::MNT_POINT | S::FS_TYPE;
        match sm.fetch(id, needed | S::MNT_OPTS) {
            Ok(()) => {}
            Err(nix::errno::Errno::ENOENT) => continue,
            Err(_) => return None,
        }
        // Before Linux 6.11 there are no options: a v1 cgroup hierarchy's
        // controllers would be missing, so mountinfo is read instead.
        if !sm.has(needed) || (magic == CGROUP.1 && !sm.has(S::MNT_OPTS)) {
            return None;
        }
        let (id, parent) = sm.ids();
        out.push(Mount {
            id,
            parent,
            root: sm.mnt_root(),
            mount_point: sm.mnt_point(),
            shared: sm.shared(),
            master: sm.master(),
            fstype: sm.fs_type(),
            source: Vec::new(),
            super_opts: sm.mnt_opts(),
        });
    }
    Some(out)
}

/// A mount kept from another namespace's mountinfo, with the device
/// (`major:minor`) of the filesystem it shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Line {
    pub mount: Mount,
    pub dev: (u32, u32),
}

/// What [`stream`] kept of one mountinfo.
#[derive(Debug, Default)]
pub struct Kept {
    pub lines: Vec<Line>,
    /// Propagation of the namespace's `/`.
    pub root_propagation: Option<&'static str>,
    /// More than `cap` lines matched: the rest were dropped.
    pub capped: bool,
}

/// Reads `/proc/PID/mountinfo` one line at a time and keeps only the
/// lines whose mount point `keep` accepts, at most `cap` of them (issue
/// 21: another mount namespace can hold any number of mounts; memory
/// grows with what matters, not with what a user mounted). Lines longer
/// than 64 KiB (the kernel's own are far shorter) are skipped.
pub fn stream(pid: &str, keep: impl Fn(&[u8]) -> bool, cap: usize) -> std::io::Result<Kept> {
    use std::io::{BufRead, Read};
    let file = std::fs::File::open(format!("/proc/{pid}/mountinfo"))?;
    let mut reader = std::io::BufReader::with_capacity(64 * 1024, file);
    let mut kept = Kept::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = Read::by_ref(&mut reader)
            .take(64 * 1024)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        if line.last() != Some(&b'\n') && n == 64 * 1024 {
            // Skip the rest of an overlong line.
            let mut sink = Vec::new();
            reader.read_until(b'\n', &mut sink)?;
            continue;
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let Some(point) = text.split(|&b| b == b' ').nth(4) else {
            continue;
        };
        if point == b"/" && kept.root_propagation.is_none() {
            kept.root_propagation = parse_line(text).map(|m| m.propagation());
        }
        if !keep(&unescape(point)) {
            continue;
        }
        if kept.lines.len() >= cap {
            kept.capped = true;
            continue;
        }
        let Some(mut mount) = parse_line(text) else {
            continue;
        };
        let Some(dev) = parse_dev(text) else { continue };
        mount.super_opts = Vec::new();
        mount.source = Vec::new();
        kept.lines.push(Line { mount, dev });
    }
    Ok(kept)
}

/// The third field of a mountinfo line, `major:minor`.
fn parse_dev(line: &[u8]) -> Option<(u32, u32)> {
    let field = line.split(|&b| b == b' ').nth(2)?;
    let text = std::str::from_utf8(field).ok()?;
    let (major, minor) = text.split_once(':')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Reads and parses `/proc/PID/mountinfo` (`self` for ours).
pub fn read(pid: &str) -> std::io::Result<Vec<Mount>> {
    Ok(parse(&std::fs::read(format!("/proc/{pid}/mountinfo"))?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statmount_and_mountinfo_agree_on_this_hosts_mounts() {
        let types = [NSFS, CGROUP, CGROUP2];
        let fast = of_fs_types(&types);
        let parsed: Vec<Mount> = read("self")
            .unwrap()
            .into_iter()
            .filter(|m| types.iter().any(|(n, _)| m.fstype == *n))
            .collect();
        let key = |m: &Mount| {
            let f = (m.id, m.parent, m.root.clone(), m.mount_point.clone());
            (f, m.fstype.clone(), m.shared, m.master)
        };
        assert_eq!(
            fast.iter().map(key).collect::<Vec<_>>(),
            parsed.iter().map(key).collect::<Vec<_>>()
        );
        for (f, p) in fast.iter().zip(&parsed) {
            let opts = |o: &[u8]| -> Vec<Vec<u8>> {
                o.split(|&b| b == b',').map(<[u8]>::to_vec).collect()
            };
            let all = opts(&p.super_opts);
            assert!(
                f.super_opts.is_empty() || opts(&f.super_opts).iter().all(|o| all.contains(o)),
                "{f:?} vs {p:?}"
            );
        }
    }

    #[test]
    fn parses_propagation_and_escapes() {
        let m = parse_line(
            b"520 519 0:4 net:[4026533866] /run/netns/a\\040b rw shared:18 master:3 - nsfs nsfs rw",
        )
        .unwrap();
        assert_eq!((m.id, m.parent), (520, 519));
        assert_eq!(m.mount_point, b"/run/netns/a b");
        assert_eq!((m.shared, m.master), (Some(18), Some(3)));
        assert!(m.is_nsfs());
        assert_eq!(m.propagation(), "shared,slave");
    }

    #[test]
    fn stream_keeps_only_matching_lines_up_to_the_cap() {
        let keep = |p: &[u8]| p.starts_with(b"/proc");
        let all = stream("self", keep, usize::MAX).unwrap();
        assert!(all.root_propagation.is_some());
        assert!(!all.capped);
        assert!(!all.lines.is_empty());
        assert!(all
            .lines
            .iter()
            .all(|l| l.mount.mount_point.starts_with(b"/proc")));
        let one = stream("self", keep, 1).unwrap();
        assert_eq!(one.lines.len(), 1);
        assert_eq!(one.capped, all.lines.len() > 1);
        assert_eq!(
            parse_dev(b"520 519 0:4 / /x rw - nsfs nsfs rw"),
            Some((0, 4))
        );
        assert_eq!(parse_dev(b"520 519 x / /x rw - nsfs nsfs rw"), None);
    }

    #[test]
    fn malformed_lines_are_skipped() {
        assert_eq!(parse_line(b""), None);
        assert_eq!(parse_line(b"1 2 3"), None);
        assert_eq!(parse_line(b"x 2 0:1 / / rw - tmpfs t rw"), None);
        assert_eq!(
            parse(b"garbage\n1 0 0:1 / / rw - ext4 /dev/vda rw\n").len(),
            1
        );
        assert_eq!(unescape(b"a\\"), b"a\\");
        assert_eq!(unescape(b"a\\04"), b"a\\04");
        assert_eq!(unescape(b"\\134x"), b"\\x");
    }
}
