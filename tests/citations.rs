//! Citations resolve inside the repo: every `spec N.N` that code, tests,
//! benches or compat cases cite is a section of `docs/ip-netns-6.1.md` (a
//! heading, or a numbered step of a section), every divergence `D<n>` and
//! extension `R<n>` they name is a row of `compat/ledger.tsv` or of the
//! doc's tables, and nothing cites the issue tracker (`issue N`), which a
//! clone does not have. Pure file reading; no root needed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Every file under the repo's code, test, bench and compat trees that a
/// citation can live in.
fn cited_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = [
        "src",
        "tests",
        "benches",
        "compat/cases",
        "fuzz/fuzz_targets",
    ]
    .iter()
    .map(|d| repo(d))
    .collect();
    stack.push(repo("build.rs"));
    stack.push(repo("compat/ledger.tsv"));
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).expect("read_dir") {
                stack.push(e.expect("dir entry").path());
            }
        } else if p.is_file()
            && p.extension()
                .is_some_and(|e| ["rs", "case", "tsv", "sh"].contains(&e.to_str().unwrap_or("")))
            && p.file_name() != Some("citations.rs".as_ref())
        {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// The section numbers the doc defines: `## 4.`, `### 4.4`, `## 0.1`, and
/// `N.M` for a numbered step `M.` inside section `N` (section 3's steps).
fn sections(doc: &str) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    let mut top: Option<String> = None;
    for line in doc.lines() {
        if let Some(rest) = line
            .strip_prefix("## ")
            .or_else(|| line.strip_prefix("### "))
        {
            let num: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let num = num.trim_end_matches('.').to_string();
            if !num.is_empty() {
                if line.starts_with("## ") && !num.contains('.') {
                    top = Some(num.clone());
                }
                set.insert(num);
            }
        } else if let Some(t) = &top {
            let step: String = line.chars().take_while(|c| c.is_ascii_digit()).collect();
            if !step.is_empty() && line[step.len()..].starts_with(". ") {
                set.insert(format!("{t}.{step}"));
            }
        }
    }
    set
}

/// `D<n>` and `R<n>` rows: the ledger's reasons start with them, the doc's
/// tables have them in their first column.
fn rows(doc: &str, ledger: &str) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    for line in ledger.lines() {
        if let Some(reason) = line.split('\t').nth(1) {
            if let Some(id) = reason.split(':').next() {
                set.insert(id.trim().to_string());
            }
        }
    }
    for line in doc.lines() {
        if let Some(rest) = line.strip_prefix("| ") {
            let id = rest.split(' ').next().unwrap_or("");
            if is_row_id(id) {
                set.insert(id.to_string());
            }
        }
    }
    set
}

fn is_row_id(w: &str) -> bool {
    let mut c = w.chars();
    matches!(c.next(), Some('D' | 'R')) && w.len() > 1 && c.all(|c| c.is_ascii_digit())
}

/// Words of `text` split on anything but alphanumerics and `.`/`§`.
fn spec_citations(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || "(),;:`'\"[]".contains(c))
        .filter(|w| !w.is_empty())
        .collect();
    for pair in words.windows(2) {
        if pair[0].eq_ignore_ascii_case("spec") {
            let n = pair[1].trim_start_matches('§');
            let n: String = n
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let n = n.trim_end_matches('.');
            if !n.is_empty() {
                out.push(n.to_string());
            }
        }
    }
    out
}

#[test]
fn every_citation_resolves_in_the_repo() {
    let doc = std::fs::read_to_string(repo("docs/ip-netns-6.1.md")).expect("docs/ip-netns-6.1.md");
    let ledger = std::fs::read_to_string(repo("compat/ledger.tsv")).expect("ledger");
    let sections = sections(&doc);
    let rows = rows(&doc, &ledger);
    let mut bad = Vec::new();
    for file in cited_files() {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let name = file
            .strip_prefix(repo(""))
            .unwrap_or(&file)
            .display()
            .to_string();
        for (i, line) in text.lines().enumerate() {
            for n in spec_citations(line) {
                if !sections.contains(&n) {
                    bad.push(format!(
                        "{name}:{}: spec {n} is no section of docs/ip-netns-6.1.md",
                        i + 1
                    ));
                }
            }
            for w in line.split(|c: char| !c.is_ascii_alphanumeric()) {
                if is_row_id(w) && !rows.contains(w) {
                    bad.push(format!(
                        "{name}:{}: {w} is no row of compat/ledger.tsv or the doc",
                        i + 1
                    ));
                }
            }
            let lower = line.to_ascii_lowercase();
            if let Some(at) = lower.find("issue ") {
                if lower[at + 6..].starts_with(|c: char| c.is_ascii_digit()) {
                    bad.push(format!(
                        "{name}:{}: cites the issue tracker; point to a doc section, ledger row or compat case",
                        i + 1
                    ));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} unresolved citations:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn the_checker_sees_what_it_checks() {
    let doc = "## 3. x\n1. a\n2. b\n### 3.9 y\n## 0.1 z\n| D1 | a |\n";
    let s = sections(doc);
    for n in ["3", "3.1", "3.2", "3.9", "0.1"] {
        assert!(s.contains(n), "{n} in {s:?}");
    }
    assert!(!s.contains("3.3"));
    assert!(rows(doc, "case\tR7: reason\n").contains("R7"));
    assert!(rows(doc, "").contains("D1"));
    assert_eq!(spec_citations("(spec §4.4, spec 2.7)"), ["4.4", "2.7"]);
    assert_eq!(spec_citations("// spec 4.11: verbatim."), ["4.11"]);
    assert!(is_row_id("D10") && !is_row_id("DX") && !is_row_id("D"));
}
