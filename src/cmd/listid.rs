//! `ip netns list-id [target-nsid N] [nsid N]` (spec 4.3): the nsid dump
//! or a single nsid, each named from the nsid cache (spec 4.2).

use super::{Ctx, Status};
use crate::cli::grammar::parse_c_int;
use crate::error::{eprint_bytes, Error};
use crate::listing::{cache, report_errors, scan};
use crate::netlink::nsid::{self, NsidReply};
use crate::output::json::{self, Value};
use crate::store;
use std::collections::HashMap;

/// The words of `list-id`, parsed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Args {
    pub target: Option<i32>,
    pub nsid: Option<i32>,
}

pub fn parse(words: &[Vec<u8>]) -> Result<Args, Error> {
    let mut a = Args::default();
    let mut i = 0;
    while i < words.len() {
        let (key, slot) = match words[i].as_slice() {
            b"target-nsid" => ("target-nsid", &mut a.target),
            b"nsid" => ("nsid", &mut a.nsid),
            _ => return Err(Error::Usage),
        };
        if slot.is_some() {
            return Err(Error::Duplicate(key));
        }
        let value = words.get(i + 1).ok_or(Error::Incomplete)?;
        let n = parse_c_int(value).ok_or_else(|| {
            Error::BadArgument(value.clone(), format!("\"{key}\" value is invalid"))
        })?;
        if n < 0 {
            // spec 4.3 quirk: the word printed is the one after the value.
            let next = words
                .get(i + 2)
                .cloned()
                .unwrap_or_else(|| b"(null)".to_vec());
            return Err(Error::BadArgument(
                next,
                format!("\"{key}\" value should be >= 0"),
            ));
        }
        *slot = Some(n);
        i += 2;
    }
    Ok(a)
}

/// The nsid -> name cache, rebuilt when a lookup misses (spec 4.2).
struct Names {
    map: HashMap<i32, Vec<u8>>,
}

impl Names {
    fn build() -> Self {
        let listing = scan(store::entry_names().unwrap_or_default());
        report_errors(&listing);
        Names {
            map: cache(&listing),
        }
    }

    fn take(&mut self, id: i32) -> Option<Vec<u8>> {
        if let Some(n) = self.map.remove(&id) {
            return Some(n);
        }
        *self = Names::build();
        self.map.remove(&id)
    }
}

fn plain_line(r: &NsidReply, name: Option<&[u8]>) -> Vec<u8> {
    let show = |v: Option<i32>| v.map_or("unassigned".to_string(), |n| n.to_string());
    let mut s = format!("nsid {} ", show(r.nsid)).into_bytes();
    if let Some(cur) = r.current {
        s.extend_from_slice(format!("current-nsid {} ", show(cur)).as_bytes());
    }
    if let Some(n) = name {
        s.extend_from_slice(b"(iproute2 netns name: ");
        s.extend_from_slice(n);
        s.push(b')');
    }
    s.push(b'\n');
    s
}

pub fn list_id(ctx: &mut Ctx, words: &[Vec<u8>]) -> Status {
    let args = parse(words)?;
    let mut names = Names::build();
    let (replies, failure) = match args.nsid {
        Some(n) => match nsid::get(n, args.target) {
            Ok(r) => (vec![r], None),
            Err(e) => return Err(Error::Netlink(e)),
        },
        None => match nsid::dump(args.target) {
            Ok(r) => (r, None),
            Err(d) => (d.partial, Some(d.error)),
        },
    };
    let mut rows: Vec<(NsidReply, Option<Vec<u8>>)> = Vec::new();
    for r in replies {
        let key = if args.target.is_some() {
            r.current.flatten()
        } else {
            r.nsid
        };
        let name = key.and_then(|k| names.take(k));
        rows.push((r, name));
    }
    if let Some(e) = &failure {
        eprint_bytes(format!("{e}\nDump terminated\n").as_bytes());
    }
    if ctx.globals.json {
        let objects: Vec<Vec<(&str, Value)>> = rows
            .iter()
            .map(|(r, name)| {
                let mut o = Vec::new();
                o.extend(r.nsid.map(|n| ("nsid", Value::Int(n.into()))));
                o.extend(
                    r.current
                        .flatten()
                        .map(|n| ("current-nsid", Value::Int(n.into()))),
                );
                o.extend(name.as_deref().map(|n| ("name", Value::Str(n))));
                o
            })
            .collect();
        ctx.out.write(&json::array(&objects, ctx.globals.pretty));
    } else {
        for (r, name) in &rows {
            ctx.out.write(&plain_line(r, name.as_deref()));
        }
    }
    Ok(if failure.is_some() { 1 } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &[&str]) -> Vec<Vec<u8>> {
        s.iter().map(|x| x.as_bytes().to_vec()).collect()
    }

    #[test]
    fn parse_errors_follow_6_1() {
        assert_eq!(parse(&w(&["nsid"])), Err(Error::Incomplete));
        assert_eq!(parse(&w(&["bogus"])), Err(Error::Usage));
        assert_eq!(
            parse(&w(&["nsid", "1", "nsid", "2"])),
            Err(Error::Duplicate("nsid"))
        );
        assert_eq!(
            parse(&w(&["nsid", "-1", "foo"])),
            Err(Error::BadArgument(
                b"foo".to_vec(),
                "\"nsid\" value should be >= 0".into()
            ))
        );
        assert_eq!(
            parse(&w(&["target-nsid", "08"])),
            Err(Error::BadArgument(
                b"08".to_vec(),
                "\"target-nsid\" value is invalid".into()
            ))
        );
        assert_eq!(
            parse(&w(&["nsid", "0x7", "target-nsid", "07"])),
            Ok(Args {
                target: Some(7),
                nsid: Some(7)
            })
        );
    }

    #[test]
    fn plain_lines() {
        let r = NsidReply {
            nsid: Some(0),
            current: None,
        };
        assert_eq!(plain_line(&r, None), b"nsid 0 \n");
        let r = NsidReply {
            nsid: None,
            current: Some(Some(13)),
        };
        assert_eq!(
            plain_line(&r, Some(b"bar")),
            b"nsid unassigned current-nsid 13 (iproute2 netns name: bar)\n"
        );
    }
}
