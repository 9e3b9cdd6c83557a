//! A small read-only SQLite reader over bytes (pure), for podman's
//! `db.sql` (podman >= 4.8 with `database_backend = "sqlite"`): the rows
//! of a named table, walked through its table b-tree as the file format
//! (sqlite.org/fileformat2.html) lays it out, with the committed frames
//! of the write-ahead log (`db.sql-wal`) applied over the main file.
//! Bounded: each page is visited at most once per walk, a walk stops
//! after `limit` rows, b-trees deeper than [`MAX_DEPTH`] and overflow
//! chains longer than the payload are malformed. Anything malformed
//! yields `None` (the caller notes it), never a panic.

use std::collections::{HashMap, HashSet};

const MAGIC: &[u8; 16] = b"SQLite format 3\0";
const MAX_DEPTH: usize = 32;
/// Bytes of a row read: the ids and names come first in podman's rows;
/// what lies past this (the end of a long JSON column) is not read.
const ROW_BYTES: usize = 64 << 10;

/// One column of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Col {
    Null,
    Int(i64),
    Text(Vec<u8>),
    /// A blob or a real: not needed here.
    Other,
}

impl Col {
    pub fn text(&self) -> Option<&str> {
        match self {
            Col::Text(t) => std::str::from_utf8(t).ok(),
            _ => None,
        }
    }
}

/// A database: the main file's bytes and the log's committed pages.
pub struct Db<'a> {
    main: &'a [u8],
    page_size: usize,
    usable: usize,
    wal: HashMap<u32, &'a [u8]>,
}

impl<'a> Db<'a> {
    /// The database in `main` with the log `wal` (if any) applied; `None`
    /// if `main` is not an SQLite 3 database.
    pub fn new(main: &'a [u8], wal: Option<&'a [u8]>) -> Option<Db<'a>> {
        if main.len() < 100 || &main[..16] != MAGIC {
            return None;
        }
        let page_size = match u16::from_be_bytes([main[16], main[17]]) {
            1 => 65536,
            n if n >= 512 && n.is_power_of_two() => n as usize,
            _ => return None,
        };
        let usable = page_size.checked_sub(main[20] as usize)?;
        if usable < 480 {
            return None;
        }
        let wal = wal.map(|w| committed(w, page_size)).unwrap_or_default();
        Some(Db {
            main,
            page_size,
            usable,
            wal,
        })
    }

    /// Page `n` (1-based): the log's latest committed copy, else the
    /// main file's.
    fn page(&self, n: u32) -> Option<&'a [u8]> {
        if let Some(p) = self.wal.get(&n) {
            return Some(p);
        }
        let at = (n as usize).checked_sub(1)?.checked_mul(self.page_size)?;
        self.main.get(at..at.checked_add(self.page_size)?)
    }

    /// The rows of table `name` (at most `limit`), in rowid order; `None`
    /// if there is no such table or its b-tree is malformed.
    pub fn table(&self, name: &str, limit: usize) -> Option<Vec<Vec<Col>>> {
        // sqlite_master (page 1): type, name, tbl_name, rootpage, sql.
        let master = self.rows(1, usize::MAX)?;
        let root = master.iter().find_map(|r| {
            let is = r.first()?.text() == Some("table") && r.get(1)?.text() == Some(name);
            match (is, r.get(3)?) {
                (true, Col::Int(p)) => u32::try_from(*p).ok(),
                _ => None,
            }
        })?;
        self.rows(root, limit)
    }

    /// Every row of the table b-tree rooted at page `root`, up to `limit`.
    fn rows(&self, root: u32, limit: usize) -> Option<Vec<Vec<Col>>> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        self.walk(root, 0, limit, &mut seen, &mut out)?;
        Some(out)
    }

    fn walk(
        &self,
        n: u32,
        depth: usize,
        limit: usize,
        seen: &mut HashSet<u32>,
        out: &mut Vec<Vec<Col>>,
    ) -> Option<()> {
        if depth > MAX_DEPTH || !seen.insert(n) || out.len() >= limit {
            return (out.len() >= limit).then_some(());
        }
        let page = self.page(n)?;
        // Page 1 holds the database header before its b-tree header.
        let head = if n == 1 { 100 } else { 0 };
        let kind = *page.get(head)?;
        let cells = be16(page, head + 3)? as usize;
        let (hlen, leaf) = match kind {
            13 => (8, true),
            5 => (12, false),
            _ => return None,
        };
        for i in 0..cells {
            let ptr = be16(page, head + hlen + 2 * i)? as usize;
            if leaf {
                if out.len() >= limit {
                    return Some(());
                }
                out.push(self.leaf_cell(page, ptr)?);
            } else {
                let child = be32(page, ptr)?;
                self.walk(child, depth + 1, limit, seen, out)?;
            }
        }
        if !leaf {
            let right = be32(page, head + 8)?;
            self.walk(right, depth + 1, limit, seen, out)?;
        }
        Some(())
    }

    /// A table leaf cell's record, its overflow pages followed.
    fn leaf_cell(&self, page: &[u8], at: usize) -> Option<Vec<Col>> {
        let (size, a) = varint(page, at)?;
        let (_rowid, b) = varint(page, at + a)?;
        let start = at + a + b;
        let size = usize::try_from(size).ok()?;
        let u = self.usable;
        let max_local = u - 35;
        let want = size.min(ROW_BYTES);
        let payload = if size <= max_local {
            page.get(start..start + size)?.to_vec()
        } else {
            let min_local = (u - 12) * 32 / 255 - 23;
            let k = min_local + (size - min_local) % (u - 4);
            let local = if k <= max_local { k } else { min_local };
            let mut p = page.get(start..start + local)?.to_vec();
            let mut next = be32(page, start + local)?;
            let mut hops = 0;
            while p.len() < want {
                hops += 1;
                if next == 0 || hops > want / (u - 4) + 1 {
                    return None;
                }
                let o = self.page(next)?;
                next = be32(o, 0)?;
                let take = (size - p.len()).min(u - 4);
                p.extend_from_slice(o.get(4..4 + take)?);
            }
            p
        };
        record(&payload)
    }
}

/// The columns of a record (pure); one whose bytes lie past the end of
/// `p` (a row read in part, [`ROW_BYTES`]) is `Other`.
fn record(p: &[u8]) -> Option<Vec<Col>> {
    let (hsize, mut at) = varint(p, 0)?;
    let hsize = usize::try_from(hsize).ok()?;
    let mut body = hsize;
    let mut cols = Vec::new();
    while at < hsize {
        let (t, n) = varint(p, at)?;
        at += n;
        let (len, col) = match t {
            0 => (0, Some(Col::Null)),
            1..=6 => {
                let len = [1, 2, 3, 4, 6, 8][t as usize - 1];
                // Big-endian two's complement, sign-extended.
                let int = p.get(body..body + len).map(|bytes| {
                    let mut v: i64 = if bytes[0] & 0x80 != 0 { -1 } else { 0 };
                    for &b in bytes {
                        v = (v << 8) | i64::from(b);
                    }
                    Col::Int(v)
                });
                (len, int)
            }
            7 => (8, Some(Col::Other)),
            8 => (0, Some(Col::Int(0))),
            9 => (0, Some(Col::Int(1))),
            10 | 11 => return None,
            t if t % 2 == 0 => (usize::try_from((t - 12) / 2).ok()?, Some(Col::Other)),
            t => {
                let len = usize::try_from((t - 13) / 2).ok()?;
                let text = p
                    .get(body..body.checked_add(len)?)
                    .map(|t| Col::Text(t.to_vec()));
                (len, text)
            }
        };
        body = body.checked_add(len)?;
        cols.push(col.filter(|_| body <= p.len()).unwrap_or(Col::Other));
    }
    Some(cols)
}

/// The pages of the log's committed transactions (pure): frames whose
/// salts match the header and whose running checksum holds, up to the
/// last commit frame; a log for another page size counts for nothing.
fn committed(w: &[u8], page_size: usize) -> HashMap<u32, &[u8]> {
    let mut out = HashMap::new();
    let magic = be32(w, 0).unwrap_or(0);
    if w.len() < 32 || (magic != 0x377f_0682 && magic != 0x377f_0683) {
        return out;
    }
    let big = magic == 0x377f_0683;
    if be32(w, 8).map(|p| p as usize) != Some(page_size) {
        return out;
    }
    let salts = &w[16..24];
    let mut sum = checksum(big, (0, 0), &w[..24]);
    if Some(sum) != be32(w, 24).zip(be32(w, 28)) {
        return out;
    }
    let mut pending: Vec<(u32, &[u8])> = Vec::new();
    let mut at = 32;
    while let Some(frame) = w.get(at..at + 24 + page_size) {
        if &frame[8..16] != salts {
            break;
        }
        sum = checksum(big, sum, &frame[..8]);
        sum = checksum(big, sum, &frame[24..]);
        if Some(sum) != be32(frame, 16).zip(be32(frame, 20)) {
            break;
        }
        pending.push((be32(frame, 0).unwrap_or(0), &frame[24..]));
        if be32(frame, 4).unwrap_or(0) != 0 {
            out.extend(pending.drain(..));
        }
        at += 24 + page_size;
    }
    out
}

/// SQLite's log checksum over `data` (a multiple of 8 bytes), from `s`.
fn checksum(big: bool, (mut s0, mut s1): (u32, u32), data: &[u8]) -> (u32, u32) {
    for w in data.chunks_exact(8) {
        let word = |b: &[u8]| {
            let b = [b[0], b[1], b[2], b[3]];
            if big {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        s0 = s0.wrapping_add(word(&w[..4])).wrapping_add(s1);
        s1 = s1.wrapping_add(word(&w[4..])).wrapping_add(s0);
    }
    (s0, s1)
}

/// An SQLite varint at `at`: its value and length.
fn varint(p: &[u8], at: usize) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for i in 0..9 {
        let b = *p.get(at + i)?;
        if i == 8 {
            return Some(((v << 8) | u64::from(b), 9));
        }
        v = (v << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

fn be16(p: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(p.get(at..at + 2)?.try_into().ok()?))
}

fn be32(p: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(p.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_decode() {
        assert_eq!(varint(&[0x05], 0), Some((5, 1)));
        assert_eq!(varint(&[0x81, 0x00], 0), Some((128, 2)));
        assert_eq!(varint(&[0xff; 9], 0), Some((u64::MAX, 9)));
        assert_eq!(varint(&[0x81], 0), None);
    }

    #[test]
    fn records_decode() {
        // header 4: int8, text of 2, null; body: -2, "ab".
        let r = record(&[4, 1, 17, 0, 0xfe, b'a', b'b']).unwrap();
        assert_eq!(r, [Col::Int(-2), Col::Text(b"ab".to_vec()), Col::Null]);
        // A text longer than the record (read in part): not taken.
        assert_eq!(record(&[2, 21, b'a']), Some(vec![Col::Other]));
        // A header longer than the record.
        assert_eq!(record(&[9, 1]), None);
    }

    /// A 2-page database of 512-byte pages whose page 1 is an interior
    /// table page; `edit` shapes it.
    fn tiny(edit: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
        let mut d = vec![0u8; 1024];
        d[..16].copy_from_slice(MAGIC);
        d[16..18].copy_from_slice(&512u16.to_be_bytes());
        d[100] = 5;
        edit(&mut d);
        d
    }

    #[test]
    fn hostile_btrees_end() {
        // Page 1 points at itself, then at a page that points back.
        let own = tiny(|d| d[108..112].copy_from_slice(&1u32.to_be_bytes()));
        assert_eq!(Db::new(&own, None).unwrap().rows(1, 10), None);
        let back = tiny(|d| {
            d[108..112].copy_from_slice(&2u32.to_be_bytes());
            d[512] = 5;
            d[520..524].copy_from_slice(&1u32.to_be_bytes());
        });
        assert_eq!(Db::new(&back, None).unwrap().rows(1, 10), None);
        // A child past the end of the file.
        let past = tiny(|d| d[108..112].copy_from_slice(&9u32.to_be_bytes()));
        assert_eq!(Db::new(&past, None).unwrap().rows(1, 10), None);
        // A leaf whose one cell claims a 1 GiB payload, its overflow
        // pointer past the page.
        let chain = tiny(|d| {
            d[108..112].copy_from_slice(&2u32.to_be_bytes());
            let leaf = 512;
            d[leaf] = 13;
            d[leaf + 3..leaf + 5].copy_from_slice(&1u16.to_be_bytes());
            d[leaf + 8..leaf + 10].copy_from_slice(&20u16.to_be_bytes());
            // payload varint 2^30, rowid 1
            d[leaf + 20..leaf + 25].copy_from_slice(&[0x84, 0x80, 0x80, 0x80, 0x00]);
            d[leaf + 25] = 1;
        });
        let db = Db::new(&chain, None).unwrap();
        assert_eq!(db.rows(1, 10), None);
        // ... and one whose overflow chain loops on itself: at most
        // ROW_BYTES are gathered, then the row is read in part.
        let looped = tiny(|d| {
            d[108..112].copy_from_slice(&2u32.to_be_bytes());
            let leaf = 512;
            d[leaf] = 13;
            d[leaf + 3..leaf + 5].copy_from_slice(&1u16.to_be_bytes());
            d[leaf + 8..leaf + 10].copy_from_slice(&400u16.to_be_bytes());
            d[leaf + 400..leaf + 405].copy_from_slice(&[0x84, 0x80, 0x80, 0x80, 0x00]);
            d[leaf + 405] = 1;
            // record header: 3 bytes, one text; local part 39 bytes,
            // then the overflow pointer: page 3, which points at itself.
            d[leaf + 406..leaf + 409].copy_from_slice(&[3, 0x87, 0x7f]);
            d[leaf + 406 + 39..leaf + 406 + 43].copy_from_slice(&3u32.to_be_bytes());
            d.resize(1536, 0);
            d[1024..1028].copy_from_slice(&3u32.to_be_bytes());
        });
        let db = Db::new(&looped, None).unwrap();
        let rows = db.rows(1, 10).unwrap();
        assert_eq!(rows.len(), 1);
    }

    #[test]
    fn a_log_of_another_page_size_or_bad_sum_is_ignored() {
        let mut w = vec![0u8; 32 + 24 + 512];
        w[..4].copy_from_slice(&0x377f_0682u32.to_be_bytes());
        w[8..12].copy_from_slice(&1024u32.to_be_bytes());
        assert!(committed(&w, 512).is_empty());
        w[8..12].copy_from_slice(&512u32.to_be_bytes());
        // Header checksum wrong.
        assert!(committed(&w, 512).is_empty());
        let (a, b) = checksum(false, (0, 0), &w[..24]);
        w[24..28].copy_from_slice(&a.to_be_bytes());
        w[28..32].copy_from_slice(&b.to_be_bytes());
        // A commit frame for page 1 with a wrong frame checksum.
        w[32..36].copy_from_slice(&1u32.to_be_bytes());
        w[36..40].copy_from_slice(&1u32.to_be_bytes());
        assert!(committed(&w, 512).is_empty());
        let s = checksum(false, (a, b), &w[32..40]);
        let (c, d) = checksum(false, s, &w[56..]);
        w[48..52].copy_from_slice(&c.to_be_bytes());
        w[52..56].copy_from_slice(&d.to_be_bytes());
        assert_eq!(committed(&w, 512).len(), 1);
    }

    #[test]
    fn garbage_is_not_a_database() {
        assert!(Db::new(b"not a database", None).is_none());
        let mut h = vec![0u8; 4096];
        h[..16].copy_from_slice(MAGIC);
        h[16..18].copy_from_slice(&1000u16.to_be_bytes());
        assert!(Db::new(&h, None).is_none());
        // A right page size, but page 1 is no b-tree page.
        h[16..18].copy_from_slice(&4096u16.to_be_bytes());
        assert_eq!(Db::new(&h, None).unwrap().table("t", 10), None);
    }
}
