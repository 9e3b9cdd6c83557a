//! `ip netns list` / `show` / `lst` and bare `ip netns` (spec 4.1): the
//! run dir's entries in readdir order with their nsids, from the shared
//! scan ([`crate::listing`]), as text or JSON.

use super::{Ctx, Status};
use crate::error::eprint_bytes;
use crate::listing::{report_errors, scan, Answer};
use crate::output::json::{self, Value};
use crate::store;

pub fn list(ctx: &mut Ctx) -> Status {
    // spec 4.1: a missing or unusable run dir prints nothing, even in JSON (D6).
    let Ok(names) = store::entry_names() else {
        return Ok(0);
    };
    let listing = scan(names);
    report_errors(&listing);
    if ctx.globals.json {
        let objects: Vec<Vec<(&str, Value)>> = listing
            .iter()
            .map(|(name, answer)| {
                let mut o = vec![("name", Value::Str(name))];
                o.extend(id_of(answer).map(|id| ("id", Value::Int(id.into()))));
                o
            })
            .collect();
        report_errors(&listing);
        ctx.out.write(&json::array(&objects, ctx.globals.pretty));
        return Ok(0);
    }
    let mut line = Vec::new();
    for (name, answer) in listing.iter() {
        line.clear();
        line.extend_from_slice(name);
        if let Some(id) = id_of(answer) {
            line.extend_from_slice(format!(" (id: {id})").as_bytes());
        }
        line.push(b'\n');
        ctx.out.write(&line);
        if let Answer::Error(err) = answer {
            eprint_bytes(format!("{err}\n").as_bytes());
        }
    }
    Ok(0)
}

/// The nsid of an entry the kernel gave one.
fn id_of(answer: &Answer) -> Option<i32> {
    match answer {
        Answer::Id(id) => Some(*id),
        _ => None,
    }
}
