//! `list --all-runtimes --links` and `identify --iface IFACE [REF]`
//! (README "See the wiring", ledger R6/R7): the owner listing with each namespace's
//! interfaces, and the namespace at the far end of one interface. Plain:
//! the listing's table, each namespace's interfaces indented under its row
//! (crate::wiring::render). `-j`: each namespace object gains an
//! `interfaces` array. Syscalls: the scan's, then crate::wiring's.

use super::discover::{fill_nsids_keeping, object, plain, without_self};
use super::{Ctx, Status};
use crate::bytes::cat;
use crate::error::{eprint_bytes, Error};
use crate::output::json::{render as render_json, Node};
use crate::runtimes::{self, state, Namespace};
use crate::wiring::{self, render, Far, Wiring};

/// The flag that adds interfaces to `list --all-runtimes`.
pub const LINKS: &[u8] = b"--links";
/// The flag that selects `identify --iface`.
pub const IFACE: &[u8] = b"--iface";

/// Scans, asks NSIDs, and dumps every namespace's interfaces.
pub fn scan_and_wire() -> (Vec<Namespace>, Wiring, Vec<String>) {
    let mut scan = runtimes::scan();
    let mut spaces = scan.namespaces;
    // The files the NSID questions opened are the ones the dumps enter.
    let files = fill_nsids_keeping(&mut spaces, &mut scan.held, wiring::KEEP_OPEN);
    drop(scan.held);
    let spaces = without_self(&spaces);
    let w = wiring::wire(&spaces, files);
    let mut notes = scan.notes;
    notes.extend(w.notes.iter().cloned());
    (spaces, w, notes)
}

pub fn list(ctx: &mut Ctx) -> Status {
    let (spaces, w, notes) = scan_and_wire();
    let all: Vec<usize> = (0..spaces.len()).collect();
    print(ctx, &spaces, &w, &all, &notes);
    Ok(0)
}

/// Prints namespaces `which` of `spaces` with their interfaces.
fn print(ctx: &mut Ctx, spaces: &[Namespace], w: &Wiring, which: &[usize], notes: &[String]) {
    let bytes = if ctx.globals.json {
        let objects = which
            .iter()
            .map(|&i| {
                let mut o = object(&spaces[i]);
                o.push(("interfaces", render::interfaces_node(w, spaces, i)));
                Node::Object(o)
            })
            .collect();
        render_json(&Node::Array(objects), ctx.globals.pretty)
    } else {
        plain_with_links(spaces, w, which)
    };
    ctx.out.write(&bytes);
    ctx.out.flush();
    for n in notes {
        eprint_bytes(format!("{}: note: {n}\n", crate::prog::prog()).as_bytes());
    }
}

/// The listing's table with each namespace's interfaces under its row.
pub fn plain_with_links(spaces: &[Namespace], w: &Wiring, which: &[usize]) -> Vec<u8> {
    let table = plain(which.iter().map(|&i| &spaces[i]));
    let mut rows = table.split_inclusive(|&b| b == b'\n');
    let mut out = Vec::with_capacity(table.len() * 2);
    if let Some(h) = rows.next() {
        out.extend_from_slice(h);
    }
    let mut lines = String::new();
    for (&i, row) in which.iter().zip(rows) {
        out.extend_from_slice(row);
        lines.clear();
        for l in w
            .links
            .get(i)
            .and_then(|l| l.as_ref())
            .into_iter()
            .flatten()
        {
            render::push_iface_lines(&mut lines, w, spaces, i, l, 4);
        }
        out.extend_from_slice(lines.as_bytes());
    }
    out
}

/// `identify --iface IFACE [REF]` (ARGS after the flag): IFACE (a name,
/// else an ifindex) in this namespace or in REF's; prints the namespace
/// at its far end, and every other namespace with a link pointing at it.
pub fn identify(ctx: &mut Ctx, args: &[Vec<u8>]) -> Status {
    let (Some(iface), rest) = (args.first(), args.get(1..).unwrap_or_default()) else {
        return Err(Error::Plain("No interface specified"));
    };
    if rest.len() > 1 {
        return Err(Error::Plain("extra arguments specified"));
    }
    let key = match rest.first() {
        Some(r) => key_of_ref(r)?,
        None => state::netns_at(std::path::Path::new("/proc/self/ns/net"))
            .ok()
            .flatten()
            .ok_or_else(|| {
                Error::sys("Cannot open network namespace", nix::errno::Errno::EINVAL)
            })?,
    };
    let (spaces, w, notes) = scan_and_wire();
    let at = spaces
        .iter()
        .position(|n| n.key == Some(key))
        .ok_or_else(|| Error::Text(b"the namespace was not found by the scan".to_vec()))?;
    let links = w.links[at].as_deref().unwrap_or_default();
    let found = links.iter().find(|l| l.ifname == *iface).or_else(|| {
        let idx = std::str::from_utf8(iface).ok()?.parse::<u32>().ok()?;
        links.iter().find(|l| l.ifindex == idx)
    });
    let Some(l) = found else {
        return Err(Error::Text(cat(&[
            b"Cannot find device \"",
            crate::output::escape::escape(iface).as_bytes(),
            b"\"",
        ])));
    };
    let which = far_ends(&w, at, l.ifindex);
    print(ctx, &spaces, &w, &which, &notes);
    Ok(0)
}

/// Namespaces at the far end of interface `ifindex` of namespace `at`: its
/// own link's, then those of every interface elsewhere pointing at it.
fn far_ends(w: &Wiring, at: usize, ifindex: u32) -> Vec<usize> {
    let mut which = Vec::new();
    match w.far.get(&(at, ifindex)) {
        Some(Far::Other { ns, .. }) => which.push(*ns),
        Some(Far::Same(_)) => which.push(at),
        _ => {}
    }
    let mut back: Vec<usize> = w
        .far
        .iter()
        .filter(|(_, f)| matches!(f, Far::Other { ns, ifindex: i } if *ns == at && *i == ifindex))
        .map(|((m, _), _)| *m)
        .collect();
    back.sort_unstable();
    for m in back {
        if !which.contains(&m) {
            which.push(m);
        }
    }
    which
}

/// The namespace a name or runtime reference points at.
fn key_of_ref(word: &[u8]) -> Result<runtimes::Key, Error> {
    let cannot = |e: nix::errno::Errno| {
        Error::Text(cat(&[
            b"Cannot open network namespace \"",
            word,
            b"\": ",
            crate::sys::strerror(e as i32).as_bytes(),
        ]))
    };
    let file = match crate::resolve::resolve(word)? {
        Some(t) => t.file,
        None => crate::store::open_entry_locked(word).map_err(cannot)?,
    };
    crate::nsident::netns_of(&file).ok_or_else(|| cannot(nix::errno::Errno::EINVAL))
}
