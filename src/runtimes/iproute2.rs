//! The iproute2 run dir (`/run/netns`): every entry is a name, followed
//! through symlinks as `ip netns` does. Who made it is read from the name:
//! podman's `netns-` and containerd's `cni-` followed by five hex groups,
//! CRI-O's bare UUIDs, neutron's role prefixes; anything else is plain
//! iproute2. An entry that is not a live namespace (an empty placeholder, a
//! dangling symlink) is listed as stale. Syscalls: getdents, open, ioctl, fstat.

use super::state::netns_file_at;
use super::{neutron, Evidence, PathHit, Rank};
use crate::store::{self, entry_display, entry_path};
use nix::errno::Errno;

/// `PREFIX` followed by five `-`-separated groups of 1-12 hex digits, as
/// podman and containerd print 16 random bytes (4-2-2-2-6) with `%x`
/// (no zero padding).
fn hex_groups(name: &[u8], prefix: &[u8]) -> bool {
    let Some(rest) = name.strip_prefix(prefix) else {
        return false;
    };
    let groups: Vec<&[u8]> = rest.split(|&b| b == b'-').collect();
    groups.len() == 5
        && groups
            .iter()
            .all(|g| (1..=12).contains(&g.len()) && g.iter().all(u8::is_ascii_hexdigit))
}

/// The runtime a run-dir name's pattern implies.
pub fn owner_of_name(name: &[u8]) -> (&'static str, Rank) {
    if hex_groups(name, b"netns-") {
        ("podman", Rank::Runtime)
    } else if hex_groups(name, b"cni-") {
        ("containerd", Rank::Runtime)
    } else if neutron::classify(name).is_some() {
        ("neutron", Rank::Runtime)
    } else if std::str::from_utf8(name).is_ok_and(neutron::is_uuid) {
        ("cri-o", Rank::Runtime)
    } else {
        ("iproute2", Rank::Named)
    }
}

pub fn scan(ev: &mut Evidence) {
    let names = match store::entries() {
        Ok(n) => n,
        Err(e) => {
            ev.notes.errno(std::path::Path::new(store::RUN_DIR), e);
            return;
        }
    };
    for name in names {
        let key = match netns_file_at(&entry_path(&name)) {
            Ok(found) => found.map(|(k, f)| {
                ev.hold(k, f);
                k
            }),
            Err(Errno::ENOENT | Errno::ELOOP) => None,
            Err(e) => {
                ev.notes.errno(&entry_path(&name), e);
                continue;
            }
        };
        if let (Some(k), Some(c)) = (key, neutron::classify(&name)) {
            ev.members.push((k, c));
        }
        ev.paths.push(PathHit {
            path: entry_display(&name),
            key,
            owner: Some(owner_of_name(&name)),
            name: Some(name),
            uid: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_patterns() {
        assert_eq!(
            owner_of_name(b"netns-b78918e6-6381-c330-b870-4a88b0047acb").0,
            "podman"
        );
        assert_eq!(
            owner_of_name(b"netns-b78918e6-681-c30-b870-4a88b004").0,
            "podman"
        );
        assert_eq!(
            owner_of_name(b"cni-04cec250-78f9-8bce-c762-43fc60d4f87c").0,
            "containerd"
        );
        assert_eq!(
            owner_of_name(b"5b1a2c3d-0000-4000-8000-00000000abcd").0,
            "cri-o"
        );
        assert_eq!(
            owner_of_name(b"qdhcp-5b1a2c3d-0000-4000-8000-00000000abcd").0,
            "neutron"
        );
        assert_eq!(owner_of_name(b"netns-blue"), ("iproute2", Rank::Named));
        assert_eq!(owner_of_name(b"blue"), ("iproute2", Rank::Named));
    }
}
