//! Interfaces for people and for programs. JSON uses the field names of
//! `ip -j -d link` and `ip -j addr` (`ifindex`, `ifname`, `mtu`,
//! `master`, `operstate`, `link_type`, `address`, `link_netnsid`,
//! `linkinfo.info_kind`, `addr_info[].family/local/prefixlen`) plus
//! `peer` for a far end in another namespace. Plain lines escape every
//! name ([`crate::output::escape::escape`]) and wrap at 80 columns.

use super::{Far, Wiring};
use crate::netlink::dump::{link_type_name, mac_text, operstate_name, Link};
use crate::output::escape::escape;
use crate::output::json::Node;
use crate::runtimes::Namespace;

/// A short name for a namespace that `rnetns exec` accepts where one
/// exists: `host`, a run-dir name, `docker:NAME`, `podman:NAME`,
/// `pid:PID`; else its inode. Escaped.
pub fn label(n: &Namespace) -> String {
    if n.runtime == "host" {
        return "host".into();
    }
    if let Some(name) = n.names.first() {
        return escape(name).into_owned();
    }
    for c in &n.containers {
        if matches!(c.runtime, "docker" | "podman") {
            let who = c.name.as_deref().unwrap_or(c.short_id());
            return format!("{}:{}", c.runtime, escape(who.as_bytes()));
        }
    }
    if let Some(p) = n.pids.first() {
        return format!("pid:{p}");
    }
    n.key
        .map_or_else(|| "?".into(), |k| format!("netns {}", k.1))
}

/// What `ip -d link` calls the interface: its IFLA_INFO_KIND (`tun`
/// split into `tun`/`tap`), else the link type (`loopback`, `ether`...).
pub fn kind(l: &Link) -> String {
    match (l.kind.as_deref(), l.tun_type) {
        (Some("tun"), Some(t)) => t.into(),
        (Some(k), _) => k.into(),
        (None, _) => link_type_name(l.link_type)
            .map_or_else(|| format!("link/{}", l.link_type), |s| s.to_string()),
    }
}

fn s(b: &[u8]) -> Node {
    Node::Str(b.to_vec())
}

/// One interface as a JSON object.
pub fn iface_node(w: &Wiring, spaces: &[Namespace], ns: usize, l: &Link) -> Node {
    let mut o = vec![
        ("ifindex", Node::Int(l.ifindex.into())),
        ("ifname", s(&l.ifname)),
    ];
    let far = w.far.get(&(ns, l.ifindex));
    match far {
        Some(Far::Same(i)) => match w.name(ns, *i) {
            Some(n) => o.push(("link", s(n))),
            None => o.push(("link_index", Node::Int((*i).into()))),
        },
        Some(Far::Other { ifindex, .. }) | Some(Far::Unresolved { ifindex, .. }) => {
            o.push(("link_index", Node::Int((*ifindex).into())))
        }
        None => {}
    }
    if let Some(m) = l.mtu {
        o.push(("mtu", Node::Int(m.into())));
    }
    if let Some(m) = l.master {
        match w.name(ns, m) {
            Some(n) => o.push(("master", s(n))),
            None => o.push(("master", Node::Int(m.into()))),
        }
    }
    o.push(("operstate", s(operstate_name(l.operstate).as_bytes())));
    if let Some(t) = link_type_name(l.link_type) {
        o.push(("link_type", s(t.as_bytes())));
    }
    if let Some(a) = &l.address {
        o.push(("address", s(mac_text(a).as_bytes())));
    }
    if let Some(id) = l.link_netnsid {
        o.push(("link_netnsid", Node::Int(id.into())));
    }
    if let Some(k) = &l.kind {
        let mut info = vec![("info_kind", s(k.as_bytes()))];
        if let Some(t) = l.tun_type {
            info.push(("info_data", Node::Object(vec![("type", s(t.as_bytes()))])));
        }
        o.push(("linkinfo", Node::Object(info)));
    }
    let addrs = l
        .addrs
        .iter()
        .map(|a| {
            Node::Object(vec![
                ("family", s(a.family().as_bytes())),
                ("local", s(a.text().as_bytes())),
                ("prefixlen", Node::Int(a.prefixlen.into())),
            ])
        })
        .collect();
    o.push(("addr_info", Node::Array(addrs)));
    if let Some(pids) = w.holders.get(&(ns, l.ifindex)) {
        let holders = pids
            .iter()
            .map(|&pid| {
                let mut h = vec![("pid", Node::Int(pid.into()))];
                let key = spaces
                    .iter()
                    .find(|n| n.pids.contains(&pid))
                    .and_then(|n| n.key);
                if let Some(k) = key {
                    h.push(("inode", Node::Int(k.1 as i64)));
                }
                Node::Object(h)
            })
            .collect();
        o.push(("holders", Node::Array(holders)));
    }
    match far {
        Some(Far::Other { ns: m, ifindex }) => {
            let mut p = Vec::new();
            if let Some(k) = spaces[*m].key {
                p.push(("inode", Node::Int(k.1 as i64)));
            }
            p.push(("ifindex", Node::Int((*ifindex).into())));
            if let Some(n) = w.name(*m, *ifindex) {
                p.push(("ifname", s(n)));
            }
            o.push(("peer", Node::Object(p)));
        }
        Some(Far::Unresolved {
            ifindex, ambiguous, ..
        }) => o.push((
            "peer",
            Node::Object(vec![
                ("ifindex", Node::Int((*ifindex).into())),
                ("ambiguous", Node::Bool(*ambiguous)),
            ]),
        )),
        _ => {}
    }
    Node::Object(o)
}

/// The `interfaces` array of namespace `ns`.
pub fn interfaces_node(w: &Wiring, spaces: &[Namespace], ns: usize) -> Node {
    let links = w.links.get(ns).and_then(|l| l.as_ref());
    Node::Array(
        links
            .into_iter()
            .flatten()
            .map(|l| iface_node(w, spaces, ns, l))
            .collect(),
    )
}

/// `held by pid P (NS)`: the processes holding a tun/tap open.
fn holder_text(w: &Wiring, spaces: &[Namespace], ns: usize, l: &Link) -> Option<String> {
    let pids = w.holders.get(&(ns, l.ifindex))?;
    let each: Vec<String> = pids
        .iter()
        .map(|&pid| match spaces.iter().find(|n| n.pids.contains(&pid)) {
            Some(n) => format!("pid {pid} ({})", label(n)),
            None => format!("pid {pid}"),
        })
        .collect();
    Some(format!("held by {}", each.join(", ")))
}

/// `<-> NAME (NS) master BR` / `-> NAME (NS)` / `held by pid P (NS)`: the
/// far end, for plain views.
pub fn far_text(w: &Wiring, spaces: &[Namespace], ns: usize, l: &Link) -> Option<String> {
    if let Some(t) = holder_text(w, spaces, ns, l) {
        return Some(t);
    }
    let arrow = if l.kind.as_deref() == Some("veth") {
        "<->"
    } else {
        "->"
    };
    let name = |m: usize, i: u32| {
        w.name(m, i)
            .map_or_else(|| format!("if{i}"), |n| escape(n).into_owned())
    };
    Some(match w.far.get(&(ns, l.ifindex))? {
        Far::Same(i) => format!("{arrow} {}", name(ns, *i)),
        Far::Other { ns: m, ifindex } => {
            let mut t = format!("{arrow} {} ({})", name(*m, *ifindex), label(&spaces[*m]));
            let master = w.link(*m, *ifindex).and_then(|o| o.master);
            if let Some(b) = master {
                t.push_str(&format!(" master {}", name(*m, b)));
            }
            t
        }
        Far::Unresolved {
            nsid,
            ifindex,
            ambiguous,
        } => format!(
            "{arrow} if{ifindex} (nsid {nsid}, {})",
            if *ambiguous {
                "ambiguous"
            } else {
                "unknown netns"
            }
        ),
    })
}

/// One interface in plain text: `IDX: NAME KIND STATE [master M] [FAR]`
/// then addresses, `mtu N` and the MAC, wrapped at 80 columns.
pub fn iface_lines(w: &Wiring, spaces: &[Namespace], ns: usize, l: &Link, indent: usize) -> String {
    let mut head = format!(
        "{}: {} {} {}",
        l.ifindex,
        escape(&l.ifname),
        kind(l),
        operstate_name(l.operstate)
    );
    if let Some(m) = l.master {
        let n = w
            .name(ns, m)
            .map_or_else(|| format!("if{m}"), |n| escape(n).into_owned());
        head.push_str(&format!(" master {n}"));
    }
    if let Some(f) = far_text(w, spaces, ns, l) {
        head.push(' ');
        head.push_str(&f);
    }
    let mut words: Vec<String> = l
        .addrs
        .iter()
        .map(|a| format!("{}/{}", a.text(), a.prefixlen))
        .collect();
    if let Some(m) = l.mtu {
        words.push(format!("mtu {m}"));
    }
    if let Some(a) = l.address.as_ref().filter(|a| a.len() == 6) {
        words.push(mac_text(a));
    }
    wrap(&head, &words, indent)
}

/// `head` then `words` joined by spaces, broken into lines of at most 80
/// columns (a word longer than that stands alone); continuation lines are
/// indented 4 more than the first.
fn wrap(head: &str, words: &[String], indent: usize) -> String {
    let mut out = String::new();
    let mut line = format!("{:indent$}{head}", "");
    for word in words {
        if line.chars().count() + 1 + word.chars().count() > 80 {
            out.push_str(&line);
            out.push('\n');
            line = format!("{:w$}{word}", "", w = indent + 4);
        } else {
            line.push(' ');
            line.push_str(word);
        }
    }
    out.push_str(&line);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(
        runtime: &'static str,
        names: &[&str],
        containers: Vec<crate::runtimes::Container>,
    ) -> Namespace {
        Namespace {
            key: Some((4, 77)),
            nsid: None,
            names: names.iter().map(|n| n.as_bytes().to_vec()).collect(),
            paths: vec![],
            runtime,
            containers,
            pids: vec![42],
            stale: false,
            owner_uid: None,
        }
    }

    #[test]
    fn labels_are_references_exec_accepts() {
        let c = |rt, name: Option<&str>| crate::runtimes::Container {
            id: "0123456789abcdef".into(),
            name: name.map(String::from),
            runtime: rt,
            pod: None,
            owner: None,
        };
        assert_eq!(label(&ns("host", &["x"], vec![])), "host");
        assert_eq!(label(&ns("iproute2", &["blue"], vec![])), "blue");
        assert_eq!(
            label(&ns("docker", &[], vec![c("docker", Some("web"))])),
            "docker:web"
        );
        assert_eq!(
            label(&ns("podman", &[], vec![c("podman", None)])),
            "podman:0123456789ab"
        );
        assert_eq!(label(&ns("process", &[], vec![])), "pid:42");
        assert_eq!(label(&ns("iproute2", &["a\x1bb"], vec![])), "a\\x1bb");
    }

    #[test]
    fn wrap_keeps_lines_within_80_columns() {
        let words: Vec<String> = (0..12).map(|i| format!("10.0.0.{i}/24")).collect();
        let t = wrap("2: eth0 veth UP", &words, 4);
        assert!(t.lines().all(|l| l.chars().count() <= 80), "{t}");
        assert!(t.starts_with("    2: eth0 veth UP 10.0.0.0/24"));
        assert!(t.lines().nth(1).unwrap().starts_with("        10.0.0."));
    }
}
