//! /proc/PID/mountinfo parsing (proc(5)): one [`Mount`] per line, mount
//! points unescaped (`\040` and friends), optional fields kept as
//! propagation data. Used by `doctor` to see the run dir's mount state in
//! this and other mount namespaces.

/// One mountinfo line.
#[derive(Debug, Clone, PartialEq, Eq)]
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
fn unescape(field: &[u8]) -> Vec<u8> {
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

/// Reads and parses `/proc/PID/mountinfo` (`self` for ours).
pub fn read(pid: &str) -> std::io::Result<Vec<Mount>> {
    Ok(parse(&std::fs::read(format!("/proc/{pid}/mountinfo"))?))
}

#[cfg(test)]
mod tests {
    use super::*;

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
