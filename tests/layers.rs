//! One way down (ARCHITECTURE.md "Layers"): every reference from one
//! room of `src/` to another (`use crate::X`, `crate::X::` and `super::`
//! paths, a parent's `child::` paths, and names brought in by `use`) goes
//! down the layer order or stays in its layer, and no two files reach each
//! other (no circle), except a file's own parent module, whose shared types
//! its children use. Test-only code (`#[cfg(test)]` items) is left out.
//! Pure file reading; no root needed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layer order, top (highest number) first; a room may use rooms of
/// its own layer or below. Mirrors the table in ARCHITECTURE.md "Layers"
/// (checked by `architecture_md_shows_the_same_table`).
const LAYERS: &[(u8, &[&str])] = &[
    (4, &["app", "cli", "cmd"]),
    (3, &["resolve", "wiring"]),
    (2, &["runtimes"]),
    (
        1,
        &[
            "handoff",
            "listing",
            "mountinfo",
            "mounts",
            "netlink",
            "ns",
            "pool",
            "procscan",
            "store",
        ],
    ),
    (0, &["bytes", "error", "nsident", "output", "prog", "sys"]),
];

fn layer_of(room: &str) -> Option<u8> {
    LAYERS
        .iter()
        .find(|(_, rooms)| rooms.contains(&room))
        .map(|(n, _)| *n)
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// A source file and the module path it defines (`src/a/b.rs` and
/// `src/a/b/mod.rs` are `["a", "b"]`; `src/lib.rs` is `[]`).
struct File {
    path: PathBuf,
    module: Vec<String>,
}

fn files() -> Vec<File> {
    let mut out = Vec::new();
    let mut stack = vec![src()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(src()).unwrap().with_extension("");
                let mut module: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_str().unwrap().to_string())
                    .collect();
                if module.last().is_some_and(|m| m == "mod" || m == "lib") {
                    module.pop();
                }
                // The binary's `main.rs` is a crate of its own, above all.
                if module != ["main"] {
                    out.push(File { path: p, module });
                }
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// The code with comments, string and char literals blanked out.
fn strip(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    while i < c.len() {
        // `r"` starts a raw string unless it ends a name (`br"` does).
        let raw_ok = i == 0 || !ident(c[i - 1]) || (c[i - 1] == 'b' && (i < 2 || !ident(c[i - 2])));
        if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c[i] == 'r' && raw_ok && matches!(c.get(i + 1), Some('"' | '#')) {
            // A raw string: r"..." or r#"..."#.
            let mut j = i + 1;
            while c.get(j) == Some(&'#') {
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                out.push(c[i]);
                i += 1;
                continue;
            }
            let hashes = j - i - 1;
            j += 1;
            while j < c.len()
                && !(c[j] == '"' && (0..hashes).all(|k| c.get(j + 1 + k) == Some(&'#')))
            {
                j += 1;
            }
            i = j + 1 + hashes;
            out.push_str("\"\"");
        } else if c[i] == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c[i] == '\'' {
            // A char or byte literal ('x', b'x', '\n', '\'', '\u{..}'),
            // else a lifetime.
            if c.get(i + 1) == Some(&'\\') {
                let mut j = i + 3;
                while j < c.len() && c[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
                out.push_str("' '");
            } else if c.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push_str("' '");
            } else {
                out.push(c[i]);
                i += 1;
            }
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

fn tokens(code: &str) -> Vec<String> {
    let c: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if c[i].is_alphabetic() || c[i] == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(c[start..i].iter().collect());
        } else if c[i] == ':' && c.get(i + 1) == Some(&':') {
            out.push("::".into());
            i += 2;
        } else if c[i].is_whitespace() {
            i += 1;
        } else {
            out.push(c[i].to_string());
            i += 1;
        }
    }
    out
}

/// The tokens without `#[cfg(test)]` items. An inline module that is not
/// test-only is a panic: this check resolves `super::` by file.
fn without_tests(t: Vec<String>, path: &Path) -> Vec<String> {
    let cfg_test = ["#", "[", "cfg", "(", "test", ")", "]"];
    let mut out = Vec::new();
    let mut i = 0;
    while i < t.len() {
        if t[i..].starts_with(&cfg_test.map(String::from)) {
            i += cfg_test.len();
            // Skip the item: up to its `;`, or through its first block.
            while i < t.len() && t[i] != ";" && t[i] != "{" {
                i += 1;
            }
            if t.get(i).is_some_and(|x| x == "{") {
                let mut depth = 0;
                loop {
                    match t[i].as_str() {
                        "{" => depth += 1,
                        "}" => depth -= 1,
                        _ => {}
                    }
                    i += 1;
                    if depth == 0 {
                        break;
                    }
                }
            } else {
                i += 1;
            }
            continue;
        }
        if t[i] == "mod" && t.get(i + 2).is_some_and(|x| x == "{") {
            panic!(
                "{}: inline module `{}` outside #[cfg(test)]: teach tests/layers.rs about it",
                path.display(),
                t[i + 1]
            );
        }
        out.push(t[i].clone());
        i += 1;
    }
    out
}

fn is_ident(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

/// Reads a use tree at `t[*i]` into `(path, name it binds)` pairs.
fn use_tree(t: &[String], i: &mut usize, prefix: &[String], out: &mut Vec<(Vec<String>, String)>) {
    let mut path = prefix.to_vec();
    loop {
        match t.get(*i).map(String::as_str) {
            Some("{") => {
                *i += 1;
                while t.get(*i).is_some_and(|x| x != "}") {
                    use_tree(t, i, &path, out);
                    if t.get(*i).is_some_and(|x| x == ",") {
                        *i += 1;
                    }
                }
                *i += 1;
                return;
            }
            Some("*") => {
                *i += 1;
                out.push((path, String::new()));
                return;
            }
            Some(s) if is_ident(s) => {
                path.push(s.to_string());
                *i += 1;
                if t.get(*i).is_some_and(|x| x == "::") {
                    *i += 1;
                    continue;
                }
                break;
            }
            _ => return,
        }
    }
    if path.last().is_some_and(|s| s == "self") {
        path.pop();
    }
    let mut name = path.last().cloned().unwrap_or_default();
    if t.get(*i).is_some_and(|x| x == "as") {
        name = t[*i + 1].clone();
        *i += 2;
    }
    out.push((path, name));
}

/// One file's references to crate modules, as absolute module paths.
fn references(file: &File, text: &str) -> Vec<Vec<String>> {
    let t = without_tests(tokens(&strip(text)), &file.path);
    // Child modules declared here (`mod x;`), reachable as `x::`.
    let children: BTreeSet<&str> = t
        .windows(3)
        .filter(|w| w[0] == "mod" && w[2] == ";")
        .map(|w| w[1].as_str())
        .collect();
    let mut aliases: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let resolve =
        |path: &[String], aliases: &BTreeMap<String, Vec<String>>| -> Option<Vec<String>> {
            let (first, rest) = path.split_first()?;
            let mut base = match first.as_str() {
                "crate" => Vec::new(),
                "self" => file.module.clone(),
                "super" => {
                    let mut m = file.module.clone();
                    m.pop();
                    let mut rest = rest;
                    while rest.first().is_some_and(|s| s == "super") {
                        m.pop();
                        rest = &rest[1..];
                    }
                    m.extend(rest.iter().cloned());
                    return Some(m);
                }
                c if children.contains(c) => {
                    let mut m = file.module.clone();
                    m.push(c.to_string());
                    m
                }
                a => aliases.get(a)?.clone(),
            };
            base.extend(rest.iter().cloned());
            Some(base)
        };
    let mut out = Vec::new();
    let mut i = 0;
    while i < t.len() {
        if t[i] == "use" {
            i += 1;
            let mut trees = Vec::new();
            use_tree(&t, &mut i, &[], &mut trees);
            for (path, name) in trees {
                if let Some(abs) = resolve(&path, &aliases) {
                    if !name.is_empty() {
                        aliases.insert(name, abs.clone());
                    }
                    out.push(abs);
                }
            }
            continue;
        }
        let starts_path = is_ident(&t[i])
            && t.get(i + 1).is_some_and(|x| x == "::")
            && (i == 0 || t[i - 1] != "::");
        if starts_path {
            let mut path = vec![t[i].clone()];
            i += 1;
            while t.get(i).is_some_and(|x| x == "::") && t.get(i + 1).is_some_and(|x| is_ident(x)) {
                path.push(t[i + 1].clone());
                i += 2;
            }
            if let Some(abs) = resolve(&path, &aliases) {
                out.push(abs);
            }
            continue;
        }
        i += 1;
    }
    out
}

/// Every file's references, as edges between files (by index).
fn edges(files: &[File]) -> BTreeMap<(usize, usize), Vec<String>> {
    let by_module: BTreeMap<&[String], usize> = files
        .iter()
        .enumerate()
        .map(|(n, f)| (&f.module[..], n))
        .collect();
    let mut out: BTreeMap<(usize, usize), Vec<String>> = BTreeMap::new();
    for (n, f) in files.iter().enumerate() {
        let text = std::fs::read_to_string(&f.path).unwrap();
        for path in references(f, &text) {
            // The longest prefix that is a file's module.
            let target = (0..=path.len())
                .rev()
                .find_map(|k| by_module.get(&path[..k]).copied());
            if let Some(to) = target.filter(|&to| to != n) {
                out.entry((n, to))
                    .or_default()
                    .push(format!("crate::{}", path.join("::")));
            }
        }
    }
    out
}

fn show(f: &File) -> String {
    f.path
        .strip_prefix(src().parent().unwrap())
        .unwrap()
        .display()
        .to_string()
}

fn room(f: &File) -> Option<&str> {
    f.module.first().map(String::as_str)
}

#[test]
fn every_room_has_a_layer() {
    let rooms: BTreeSet<String> = files()
        .iter()
        .filter_map(|f| room(f).map(str::to_string))
        .collect();
    let missing: Vec<_> = rooms.iter().filter(|r| layer_of(r).is_none()).collect();
    assert!(
        missing.is_empty(),
        "rooms with no layer in tests/layers.rs and ARCHITECTURE.md: {missing:?}"
    );
    let gone: Vec<_> = LAYERS
        .iter()
        .flat_map(|(_, r)| r.iter())
        .filter(|r| !rooms.contains(**r))
        .collect();
    assert!(
        gone.is_empty(),
        "layer table names rooms src/ does not have: {gone:?}"
    );
}

#[test]
fn no_reference_goes_up() {
    let files = files();
    let mut up = Vec::new();
    for ((from, to), paths) in edges(&files) {
        let (Some(a), Some(b)) = (room(&files[from]), room(&files[to])) else {
            continue;
        };
        let (la, lb) = (layer_of(a).unwrap_or(0), layer_of(b).unwrap_or(0));
        if la < lb {
            up.push(format!(
                "{} (`{a}`, layer {la}) -> {} (`{b}`, layer {lb}): {}",
                show(&files[from]),
                show(&files[to]),
                paths.join(", ")
            ));
        }
    }
    assert!(
        up.is_empty(),
        "references up the layer order (ARCHITECTURE.md \"Layers\"):\n{}",
        up.join("\n")
    );
}

/// A circle in `graph` (node -> nodes), as the nodes on it, if any.
fn circle(graph: &BTreeMap<usize, BTreeSet<usize>>) -> Option<Vec<usize>> {
    // 0: unseen, 1: on the current path, 2: done.
    let mut state: BTreeMap<usize, u8> = BTreeMap::new();
    fn visit(
        n: usize,
        graph: &BTreeMap<usize, BTreeSet<usize>>,
        state: &mut BTreeMap<usize, u8>,
        path: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        state.insert(n, 1);
        path.push(n);
        for &m in graph.get(&n).into_iter().flatten() {
            match state.get(&m).copied().unwrap_or(0) {
                1 => {
                    let start = path.iter().position(|&p| p == m).unwrap();
                    let mut c = path[start..].to_vec();
                    c.push(m);
                    return Some(c);
                }
                0 => {
                    if let Some(c) = visit(m, graph, state, path) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        path.pop();
        state.insert(n, 2);
        None
    }
    for &n in graph.keys() {
        if state.get(&n).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(n, graph, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn no_circle_between_files() {
    let files = files();
    let mut graph: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for (from, to) in edges(&files).into_keys() {
        // A file may use its ancestors' shared types (`super::Evidence`):
        // that is how a Rust module's children reach their parent.
        if files[from].module.starts_with(&files[to].module) {
            continue;
        }
        graph.entry(from).or_default().insert(to);
    }
    if let Some(c) = circle(&graph) {
        let names: Vec<String> = c.iter().map(|&n| show(&files[n])).collect();
        panic!("files that reach each other: {}", names.join(" -> "));
    }
}

#[test]
fn no_circle_between_rooms() {
    let files = files();
    let rooms: Vec<&str> = files
        .iter()
        .filter_map(room)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let index = |f: &File| room(f).and_then(|r| rooms.iter().position(|x| *x == r));
    let mut graph: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for (from, to) in edges(&files).into_keys() {
        if let (Some(a), Some(b)) = (index(&files[from]), index(&files[to])) {
            if a != b {
                graph.entry(a).or_default().insert(b);
            }
        }
    }
    if let Some(c) = circle(&graph) {
        let names: Vec<&str> = c.iter().map(|&n| rooms[n]).collect();
        panic!("rooms that reach each other: {}", names.join(" -> "));
    }
}

#[test]
fn architecture_md_shows_the_same_table() {
    let doc = std::fs::read_to_string(src().parent().unwrap().join("ARCHITECTURE.md")).unwrap();
    let section = doc
        .split("\n## Layers\n")
        .nth(1)
        .expect("ARCHITECTURE.md has a \"Layers\" section");
    let mut shown: Vec<(u8, Vec<String>)> = Vec::new();
    for line in section.lines().take_while(|l| !l.starts_with("## ")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let Some(n) = cells.get(1).and_then(|c| c.parse::<u8>().ok()) else {
            continue;
        };
        let mut rooms: Vec<String> = cells[2]
            .split(',')
            .map(|r| r.trim().trim_matches('`').to_string())
            .collect();
        rooms.sort();
        shown.push((n, rooms));
    }
    let want: Vec<(u8, Vec<String>)> = LAYERS
        .iter()
        .map(|(n, r)| {
            let mut r: Vec<String> = r.iter().map(|s| s.to_string()).collect();
            r.sort();
            (*n, r)
        })
        .collect();
    assert_eq!(
        shown, want,
        "ARCHITECTURE.md \"Layers\" and tests/layers.rs disagree"
    );
}

#[test]
fn the_parser_sees_each_kind_of_reference() {
    let file = File {
        path: PathBuf::from("src/runtimes/x.rs"),
        module: vec!["runtimes".into(), "x".into()],
    };
    let text = r#"
        use crate::store::{self, lock::{lock_own as own}, RUN_DIR};
        use super::{procs, Key};
        // crate::comment::ignored
        fn f() { let s = "crate::string::ignored"; let c = '{'; store::open(); procs::Procs::scan(); crate::sys::fork(); }
        #[cfg(test)]
        mod tests { use crate::cli::parse; }
    "#;
    let got: BTreeSet<String> = references(&file, text)
        .iter()
        .map(|p| p.join("::"))
        .collect();
    let want: BTreeSet<String> = [
        "store",
        "store::lock::lock_own",
        "store::RUN_DIR",
        "runtimes::procs",
        "runtimes::Key",
        "store::open",
        "runtimes::procs::Procs::scan",
        "sys::fork",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(got, want);
}
