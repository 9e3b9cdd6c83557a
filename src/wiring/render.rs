//! Interfaces for people and for programs. JSON uses the field names of
//! `ip -j -d link` and `ip -j addr` (`ifindex`, `ifname`, `mtu`,
//! `master`, `operstate`, `link_type`, `address`, `link_netnsid`,
//! `linkinfo.info_kind`, `addr_info[].family/local/prefixlen`) plus
//! `peer` for a far end in another namespace. Plain lines escape every
//! name ([`crate::output::escape::escape`]) and wrap at 80 columns.

use super::{Far, Wiring};
use crate::netlink::dump::{link_type_name, mac_text, operstate_name, push_mac, Link};
use crate::output::escape::escape;
use crate::output::json::Node;
use crate::runtimes::Namespace;

/// A short name for a namespace that `rnetns exec` accepts where one
/// exists: `host`; a container's runtime reference, `docker:NAME`,
/// `podman:NAME` or, for a pod, `podman:POD` (it says whose it is, where
/// podman's own run-dir name, `netns-UUID`, does not); a run-dir name;
/// `pid:PID`; else its inode. Escaped.
pub fn label(n: &Namespace) -> String {
    let mut out = String::new();
    push_label(&mut out, n);
    out
}

/// [`label`], appended to `out`.
pub fn push_label(out: &mut String, n: &Namespace) {
    use std::fmt::Write;
    if n.runtime == "host" {
        return out.push_str("host");
    }
    let referable = |c: &&crate::runtimes::Container| matches!(c.runtime, "docker" | "podman");
    if let Some(c) = n.containers.iter().find(referable) {
        let who = match (c.runtime, c.pod.as_deref()) {
            ("podman", Some(pod)) => pod,
            _ => c.name.as_deref().unwrap_or(c.short_id()),
        };
        out.push_str(c.runtime);
        out.push(':');
        return out.push_str(&escape(who.as_bytes()));
    }
    if let Some(name) = n.names.first() {
        return out.push_str(&escape(name));
    }
    let _ = match (n.pids.first(), n.key) {
        (Some(p), _) => write!(out, "pid:{p}"),
        (None, Some(k)) => write!(out, "netns {}", k.1),
        (None, None) => write!(out, "?"),
    };
}

/// What `ip -d link` calls the interface: its IFLA_INFO_KIND (`tun`
/// split into `tun`/`tap`), else the link type (`loopback`, `ether`...).
pub fn kind(l: &Link) -> String {
    let mut out = String::new();
    push_kind(&mut out, l);
    out
}

/// [`kind`], appended to `out`.
fn push_kind(out: &mut String, l: &Link) {
    use std::fmt::Write;
    match (l.kind.as_deref(), l.tun_type) {
        (Some("tun"), Some(t)) => out.push_str(t),
        (Some(k), _) => out.push_str(k),
        (None, _) => match link_type_name(l.link_type) {
            Some(t) => out.push_str(t),
            None => {
                let _ = write!(out, "link/{}", l.link_type);
            }
        },
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
                ("local", s(a.to_string().as_bytes())),
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
    let mut out = String::new();
    push_far(&mut out, w, spaces, ns, l).then_some(out)
}

/// [`far_text`], appended to `out`; false (and nothing appended) when
/// the interface leads nowhere else.
fn push_far(out: &mut String, w: &Wiring, spaces: &[Namespace], ns: usize, l: &Link) -> bool {
    use std::fmt::Write;
    if !w.holders.is_empty() {
        if let Some(t) = holder_text(w, spaces, ns, l) {
            out.push_str(&t);
            return true;
        }
    }
    let Some(far) = w.far.get(&(ns, l.ifindex)) else {
        return false;
    };
    out.push_str(if l.kind.as_deref() == Some("veth") {
        "<-> "
    } else {
        "-> "
    });
    match far {
        Far::Same(i) => push_name(out, w, ns, *i),
        Far::Other { ns: m, ifindex } => {
            push_name(out, w, *m, *ifindex);
            out.push_str(" (");
            push_label(out, &spaces[*m]);
            out.push(')');
            if let Some(b) = w.link(*m, *ifindex).and_then(|o| o.master) {
                out.push_str(" master ");
                push_name(out, w, *m, b);
            }
        }
        Far::Unresolved {
            nsid,
            ifindex,
            ambiguous,
        } => {
            let why = if *ambiguous {
                "ambiguous"
            } else {
                "unknown netns"
            };
            let _ = write!(out, "if{ifindex} (nsid {nsid}, {why})");
        }
    }
    true
}

/// Interface `i` of namespace `ns` by name (escaped), else `ifI`.
fn push_name(out: &mut String, w: &Wiring, ns: usize, i: u32) {
    use std::fmt::Write;
    match w.name(ns, i) {
        Some(n) => out.push_str(&escape(n)),
        None => {
            let _ = write!(out, "if{i}");
        }
    }
}

/// One interface in plain text, appended to `out`: `IDX: NAME KIND STATE
/// [master M] [FAR]` then addresses, `mtu N` and the MAC, wrapped at 80
/// columns. A listing writes thousands of these, so each is formatted in
/// place rather than from pieces.
pub fn push_iface_lines(
    out: &mut String,
    w: &Wiring,
    spaces: &[Namespace],
    ns: usize,
    l: &Link,
    indent: usize,
) {
    use std::fmt::Write;
    let start = out.len();
    out.extend(std::iter::repeat_n(' ', indent));
    let _ = write!(out, "{}: ", l.ifindex);
    out.push_str(&escape(&l.ifname));
    out.push(' ');
    push_kind(out, l);
    out.push(' ');
    out.push_str(operstate_name(l.operstate));
    if let Some(m) = l.master {
        out.push_str(" master ");
        push_name(out, w, ns, m);
    }
    out.push(' ');
    if !push_far(out, w, spaces, ns, l) {
        out.pop();
    }
    let mut line = Line {
        cols: out[start..].chars().count(),
        indent,
    };
    let mut word = String::new();
    for a in &l.addrs {
        word.clear();
        let _ = write!(word, "{a}/{}", a.prefixlen);
        line.push(out, &word);
    }
    if let Some(m) = l.mtu {
        word.clear();
        let _ = write!(word, "mtu {m}");
        line.push(out, &word);
    }
    if let Some(a) = l.address.as_ref().filter(|a| a.len() == 6) {
        word.clear();
        push_mac(&mut word, a);
        line.push(out, &word);
    }
    out.push('\n');
}

/// The line being written: its width so far in columns, and the indent
/// of the interface it belongs to.
struct Line {
    cols: usize,
    indent: usize,
}

impl Line {
    /// Appends `word` after a space, or on a new line indented 4 more
    /// than the first when it would pass column 80 (a word longer than
    /// that stands alone).
    fn push(&mut self, out: &mut String, word: &str) {
        let n = word.chars().count();
        if self.cols + 1 + n > 80 {
            let pad = self.indent + 4;
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', pad));
            self.cols = pad + n;
        } else {
            out.push(' ');
            self.cols += 1 + n;
        }
        out.push_str(word);
    }
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
        // podman's rootful netns has a run-dir name too; the reference
        // says whose it is. A pod is named by its pod.
        assert_eq!(
            label(&ns(
                "podman",
                &["netns-1a2b"],
                vec![c("podman", Some("db"))]
            )),
            "podman:db"
        );
        let member = |name: &str| crate::runtimes::Container {
            pod: Some("shop".into()),
            ..c("podman", Some(name))
        };
        assert_eq!(
            label(&ns(
                "podman",
                &["netns-3c4d"],
                vec![member("x-infra"), member("web")]
            )),
            "podman:shop"
        );
        assert_eq!(label(&ns("process", &[], vec![])), "pid:42");
        assert_eq!(label(&ns("iproute2", &["a\x1bb"], vec![])), "a\\x1bb");
    }

    #[test]
    fn wrap_keeps_lines_within_80_columns() {
        let mut t = String::from("    2: eth0 veth UP");
        let mut line = Line {
            cols: t.len(),
            indent: 4,
        };
        for i in 0..12 {
            line.push(&mut t, &format!("10.0.0.{i}/24"));
        }
        assert!(t.lines().all(|l| l.chars().count() <= 80), "{t}");
        assert!(t.starts_with("    2: eth0 veth UP 10.0.0.0/24"));
        assert!(t.lines().nth(1).unwrap().starts_with("        10.0.0."));
    }
}
