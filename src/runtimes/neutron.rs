//! OpenStack neutron: its agents name their namespaces in the iproute2 run
//! dir by role and UUID (`qrouter-`, `qdhcp-`, `snat-`, `fip-`,
//! `ovnmeta-`), so the name alone says whose it is. No syscalls.

use super::Container;

/// Name prefixes and the role each one stands for.
const PREFIXES: &[(&str, &str)] = &[
    ("qrouter-", "router"),
    ("qdhcp-", "dhcp"),
    ("snat-", "snat"),
    ("fip-", "fip"),
    ("ovnmeta-", "metadata"),
];

/// The router/network a neutron run-dir name stands for, if it is one.
pub fn classify(name: &[u8]) -> Option<Container> {
    let name = std::str::from_utf8(name).ok()?;
    PREFIXES.iter().find_map(|(prefix, role)| {
        let uuid = name.strip_prefix(prefix)?;
        is_uuid(uuid).then(|| Container {
            id: uuid.to_string(),
            name: Some(role.to_string()),
            runtime: "neutron",
            pod: None,
            owner: None,
        })
    })
}

/// A canonical 8-4-4-4-12 hex UUID.
pub fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutron_names() {
        let c = classify(b"qrouter-0a6a3f0e-2b1d-4c8e-9f00-123456789abc").unwrap();
        assert_eq!(
            (c.id.as_str(), c.name.as_deref()),
            ("0a6a3f0e-2b1d-4c8e-9f00-123456789abc", Some("router"))
        );
        assert_eq!(
            classify(b"ovnmeta-0a6a3f0e-2b1d-4c8e-9f00-123456789abc")
                .unwrap()
                .name
                .as_deref(),
            Some("metadata")
        );
        assert!(classify(b"qrouter-nope").is_none());
        assert!(classify(b"blue").is_none());
    }
}
