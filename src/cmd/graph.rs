//! `graph [--dot]` and `-j graph` (README "See the wiring", ledger R8): the host's
//! network as a tree (host uplinks, bridges and their ports, veth pairs
//! into other namespaces, those namespaces' interfaces, nested), as
//! Graphviz DOT (one cluster per namespace, one node per interface,
//! edges for veth pairs, lower devices and bridge ports), or as JSON
//! `{"nodes": [...], "edges": [...]}`. Every name is escaped in the tree
//! and the DOT text. Syscalls: those of `list --all-runtimes --links`.

use super::links::scan_and_wire;
use super::{Ctx, Status};
use crate::error::{eprint_bytes, Error};
use crate::netlink::dump::{operstate_name, Link};
use crate::output::escape::escape;
use crate::output::json::{render as render_json, Node};
use crate::runtimes::Namespace;
use crate::wiring::render::{far_text, kind, label};
use crate::wiring::{Far, Wiring};

/// The extension subcommand's word (whole word only).
pub const WORD: &[u8] = b"graph";
pub const DOT: &[u8] = b"--dot";

pub fn graph(ctx: &mut Ctx, args: &[Vec<u8>]) -> Status {
    let dot = match args {
        [] => false,
        [a] if a == DOT => true,
        _ => return Err(Error::Plain("usage: graph [--dot]")),
    };
    let (spaces, w, notes) = scan_and_wire();
    let bytes = if ctx.globals.json {
        json(&spaces, &w, ctx.globals.pretty)
    } else if dot {
        dot_text(&spaces, &w).into_bytes()
    } else {
        tree(&spaces, &w).into_bytes()
    };
    ctx.out.write(&bytes);
    ctx.out.flush();
    for n in notes {
        eprint_bytes(format!("{}: note: {n}\n", crate::prog::prog()).as_bytes());
    }
    Ok(0)
}

fn links(w: &Wiring, ns: usize) -> &[Link] {
    w.links
        .get(ns)
        .and_then(|l| l.as_deref())
        .unwrap_or_default()
}

/// `LABEL (inode N, nsid K) RUNTIME CONTAINERS`.
fn ns_line(n: &Namespace) -> String {
    let mut t = label(n);
    let mut ids = Vec::new();
    if let Some(k) = n.key {
        ids.push(format!("inode {}", k.1));
    }
    if let Some(id) = n.nsid {
        ids.push(format!("nsid {id}"));
    }
    if !ids.is_empty() {
        t.push_str(&format!(" ({})", ids.join(", ")));
    }
    t.push_str(&format!(" {}", n.runtime));
    for c in &n.containers {
        let name = c.name.as_deref().unwrap_or(c.short_id());
        t.push_str(&format!(" {}", escape(name.as_bytes())));
        if let Some(p) = &c.pod {
            t.push_str(&format!(" (pod {})", escape(p.as_bytes())));
        }
    }
    t
}

fn iface_line(spaces: &[Namespace], w: &Wiring, ns: usize, l: &Link) -> String {
    let mut t = format!(
        "{} {} {}",
        escape(&l.ifname),
        kind(l),
        operstate_name(l.operstate)
    );
    for a in &l.addrs {
        t.push_str(&format!(" {a}/{}", a.prefixlen));
    }
    if let Some(f) = far_text(w, spaces, ns, l) {
        t.push(' ');
        t.push_str(&f);
    }
    t
}

/// Host uplinks first, then bridges, then the rest, loopback last.
fn rank(l: &Link) -> u8 {
    match (l.kind.as_deref(), l.link_type) {
        (_, 772) => 3,
        (None, _) => 0,
        (Some("bridge"), _) => 1,
        _ => 2,
    }
}

struct Tree<'a> {
    spaces: &'a [Namespace],
    w: &'a Wiring,
    seen: Vec<bool>,
    /// (namespace, ifindex) -> namespaces whose interfaces point at it.
    back: std::collections::HashMap<(usize, u32), Vec<usize>>,
    /// (namespace, master ifindex) -> its ports, so a namespace with
    /// thousands of interfaces is drawn in linear time.
    ports: std::collections::HashMap<(usize, u32), Vec<&'a Link>>,
    out: String,
}

impl<'a> Tree<'a> {
    fn line(&mut self, prefix: &str, last: bool, text: &str) {
        let branch = if last { "`-- " } else { "|-- " };
        self.out.push_str(&format!("{prefix}{branch}{text}\n"));
    }

    fn child_prefix(prefix: &str, last: bool) -> String {
        format!("{prefix}{}", if last { "    " } else { "|   " })
    }

    /// The interfaces of `ns` with no master (ports go under their master).
    fn namespace(&mut self, ns: usize, prefix: &str) {
        self.seen[ns] = true;
        let mut top: Vec<&Link> = links(self.w, ns)
            .iter()
            .filter(|l| l.master.is_none())
            .collect();
        top.sort_by_key(|l| (rank(l), l.ifindex));
        let n = top.len();
        for (k, l) in top.into_iter().enumerate() {
            self.iface(ns, l, prefix, k + 1 == n);
        }
    }

    /// An interface, then its ports and the namespaces it leads to.
    fn iface(&mut self, ns: usize, l: &Link, prefix: &str, last: bool) {
        let text = iface_line(self.spaces, self.w, ns, l);
        self.line(prefix, last, &text);
        let inner = Self::child_prefix(prefix, last);
        let ports: Vec<&'a Link> = self
            .ports
            .get(&(ns, l.ifindex))
            .cloned()
            .unwrap_or_default();
        let mut far: Vec<usize> = Vec::new();
        if let Some(Far::Other { ns: m, .. }) = self.w.far.get(&(ns, l.ifindex)) {
            far.push(*m);
        }
        far.extend(self.back.get(&(ns, l.ifindex)).into_iter().flatten());
        far.retain(|&m| !self.seen[m]);
        far.dedup();
        for &m in &far {
            self.seen[m] = true;
        }
        let total = ports.len() + far.len();
        for (k, p) in ports.into_iter().enumerate() {
            self.iface(ns, p, &inner, k + 1 == total);
        }
        let done = total - far.len();
        for (k, m) in far.into_iter().enumerate() {
            let last = done + k + 1 == total;
            self.line(&inner, last, &ns_line(&self.spaces[m]));
            self.namespace(m, &Self::child_prefix(&inner, last));
        }
    }
}

/// The terminal tree: the host first, then every namespace not reached.
pub fn tree(spaces: &[Namespace], w: &Wiring) -> String {
    let mut back: std::collections::HashMap<(usize, u32), Vec<usize>> = Default::default();
    let mut far: Vec<_> = w.far.iter().collect();
    far.sort_by_key(|(k, _)| **k);
    for ((from, _), f) in far {
        if let Far::Other { ns, ifindex } = f {
            back.entry((*ns, *ifindex)).or_default().push(*from);
        }
    }
    let mut ports: std::collections::HashMap<(usize, u32), Vec<&Link>> = Default::default();
    for (i, links) in w.links.iter().enumerate() {
        for l in links.iter().flatten() {
            if let Some(m) = l.master {
                ports.entry((i, m)).or_default().push(l);
            }
        }
    }
    let mut t = Tree {
        spaces,
        w,
        seen: vec![false; spaces.len()],
        back,
        ports,
        out: String::new(),
    };
    let mut order: Vec<usize> = (0..spaces.len())
        .filter(|&i| spaces[i].key.is_some())
        .collect();
    order.sort_by_key(|&i| spaces[i].runtime != "host");
    for i in order {
        if t.seen[i] {
            continue;
        }
        t.out.push_str(&ns_line(&spaces[i]));
        t.out.push('\n');
        t.namespace(i, "");
    }
    t.out
}

fn ns_id(spaces: &[Namespace], i: usize) -> String {
    spaces[i]
        .key
        .map_or_else(|| format!("x{i}"), |k| k.1.to_string())
}

/// A DOT string literal's body from already escaped text: backslashes
/// doubled (so `\x1b` reads as written, not as Graphviz's `\x`) and `"`
/// quoted.
fn dot_str(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Graphviz DOT: a cluster per namespace, a node per interface.
pub fn dot_text(spaces: &[Namespace], w: &Wiring) -> String {
    let mut out = String::from(
        "graph rnetns {\n\trankdir=LR;\n\tnode [shape=box, fontname=\"monospace\"];\n",
    );
    let node = |i: usize, ifindex: u32| format!("\"if_{}_{}\"", ns_id(spaces, i), ifindex);
    for (i, n) in spaces.iter().enumerate() {
        let Some(links) = w.links[i].as_ref() else {
            continue;
        };
        out.push_str(&format!(
            "\tsubgraph \"cluster_{}\" {{\n\t\tlabel=\"{}\";\n",
            ns_id(spaces, i),
            dot_str(&ns_line(n))
        ));
        for l in links {
            let addrs: Vec<String> = l
                .addrs
                .iter()
                .map(|a| format!("{a}/{}", a.prefixlen))
                .collect();
            let mut text = format!(
                "{}\\n{} {}",
                dot_str(&escape(&l.ifname)),
                kind(l),
                operstate_name(l.operstate)
            );
            for a in addrs {
                text.push_str(&format!("\\n{a}"));
            }
            out.push_str(&format!("\t\t{} [label=\"{text}\"];\n", node(i, l.ifindex)));
        }
        out.push_str("\t}\n");
    }
    for (from, to, style) in edges(spaces, w) {
        let attrs = match style {
            "veth" => "label=\"veth\"",
            "master" => "style=dashed, label=\"master\"",
            _ => "style=dotted, label=\"lower\"",
        };
        out.push_str(&format!(
            "\t{} -- {} [{attrs}];\n",
            node(from.0, from.1),
            node(to.0, to.1)
        ));
    }
    out.push_str("}\n");
    out
}

type End = (usize, u32);

/// Every edge once: veth pairs (lower end first), lower devices, ports.
fn edges(spaces: &[Namespace], w: &Wiring) -> Vec<(End, End, &'static str)> {
    let _ = spaces;
    let mut out = Vec::new();
    for (i, links) in w.links.iter().enumerate() {
        for l in links.iter().flatten() {
            if let Some(m) = l.master {
                out.push(((i, l.ifindex), (i, m), "master"));
            }
            let to = match w.far.get(&(i, l.ifindex)) {
                Some(Far::Same(t)) => (i, *t),
                Some(Far::Other { ns, ifindex }) => (*ns, *ifindex),
                _ => continue,
            };
            if l.kind.as_deref() == Some("veth") {
                let back = w.far.get(&to).is_some_and(|f| match f {
                    Far::Same(t) => (to.0, *t) == (i, l.ifindex),
                    Far::Other { ns, ifindex } => (*ns, *ifindex) == (i, l.ifindex),
                    _ => false,
                });
                if back && to < (i, l.ifindex) {
                    continue;
                }
                out.push(((i, l.ifindex), to, "veth"));
            } else {
                out.push(((i, l.ifindex), to, "lower"));
            }
        }
    }
    out
}

/// `{"nodes": [...], "edges": [...]}`: namespace and interface nodes
/// (`id` `ns:INODE`, `if:INODE:IFINDEX`), edges `veth`, `lower`,
/// `master` and `in` (interface to its namespace).
pub fn json(spaces: &[Namespace], w: &Wiring, pretty: bool) -> Vec<u8> {
    let s = |t: String| Node::Str(t.into_bytes());
    let ifid = |i: usize, x: u32| s(format!("if:{}:{x}", ns_id(spaces, i)));
    let mut nodes = Vec::new();
    let mut edge_nodes = Vec::new();
    for (i, n) in spaces.iter().enumerate() {
        let Some(links) = w.links[i].as_ref() else {
            continue;
        };
        let mut o = vec![
            ("id", s(format!("ns:{}", ns_id(spaces, i)))),
            ("type", s("netns".into())),
        ];
        o.extend(super::discover::object(n));
        o.push(("label", s(label(n))));
        nodes.push(Node::Object(o));
        for l in links {
            let crate::output::json::Node::Object(mut fields) =
                crate::wiring::render::iface_node(w, spaces, i, l)
            else {
                continue;
            };
            let mut o = vec![("id", ifid(i, l.ifindex)), ("type", s("interface".into()))];
            o.append(&mut fields);
            nodes.push(Node::Object(o));
            edge_nodes.push(Node::Object(vec![
                ("from", ifid(i, l.ifindex)),
                ("to", s(format!("ns:{}", ns_id(spaces, i)))),
                ("type", s("in".into())),
            ]));
        }
    }
    for (from, to, kind) in edges(spaces, w) {
        edge_nodes.push(Node::Object(vec![
            ("from", ifid(from.0, from.1)),
            ("to", ifid(to.0, to.1)),
            ("type", s(kind.into())),
        ]));
    }
    render_json(
        &Node::Object(vec![
            ("nodes", Node::Array(nodes)),
            ("edges", Node::Array(edge_nodes)),
        ]),
        pretty,
    )
}
