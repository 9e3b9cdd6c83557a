//! C-style escaping for human-readable views that are not iproute2 output.
//!
//! Names, paths and IDs that come from runtime state or the filesystem can be
//! written by an unprivileged user; root must never send their control bytes
//! to a terminal. Every plain view that is not byte-compatible `ip netns`
//! output (the `--all-runtimes` table, `doctor`, notes and errors on stderr,
//! `graph`, `identify --iface`) passes such text through [`escape`]. The
//! iproute2-compatible outputs of run-dir names (`list`, `identify`, `pids`,
//! `list-id`) stay raw, as 6.1 prints them. JSON has its own escaping (D5).
//!
//! The form is `ls --quoting-style=escape`'s and systemd's `cescape`'s:
//! `\t`, `\n`, `\r`, `\\`-style short escapes where C has them, `\xHH` for
//! every other byte below 0x20, 0x7f and every byte of invalid UTF-8. A
//! backslash is doubled so the escaped text reads back unambiguously.

use std::borrow::Cow;

/// `bytes` with control bytes, backslashes and invalid UTF-8 escaped.
/// Borrows when nothing needs escaping (the common case).
pub fn escape(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        if !s.bytes().any(needs_escape) {
            return Cow::Borrowed(s);
        }
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\\' => out.push_str("\\\\"),
                c if c.is_ascii() && needs_escape(c as u8) => push_hex(&mut out, c as u8),
                c => out.push(c),
            }
        }
        for &b in chunk.invalid() {
            push_hex(&mut out, b);
        }
    }
    Cow::Owned(out)
}

/// [`escape`] for an `OsStr` (names and paths).
pub fn escape_os(s: &std::ffi::OsStr) -> Cow<'_, str> {
    use std::os::unix::ffi::OsStrExt;
    escape(s.as_bytes())
}

fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == 0x7f || b == b'\\'
}

fn push_hex(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('\\');
    out.push('x');
    out.push(HEX[usize::from(b >> 4)] as char);
    out.push(HEX[usize::from(b & 0xf)] as char);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(escape(b"web-1.2_x"), Cow::Borrowed("web-1.2_x")));
        assert!(matches!(escape("caf\u{e9}".as_bytes()), Cow::Borrowed(_)));
    }

    #[test]
    fn control_bytes_become_c_escapes() {
        assert_eq!(escape(b"\x1b]0;pwned\x07"), "\\x1b]0;pwned\\x07");
        assert_eq!(escape(b"\x1b[2J"), "\\x1b[2J");
        assert_eq!(escape(b"a\tb\nc\r\x7f\0"), "a\\tb\\nc\\r\\x7f\\x00");
        assert_eq!(escape(b"back\\slash"), "back\\\\slash");
    }

    #[test]
    fn invalid_utf8_is_escaped_per_byte() {
        assert_eq!(escape(b"a\xffb\xc3"), "a\\xffb\\xc3");
        assert_eq!(escape("\u{e9}\x01".as_bytes()), "\u{e9}\\x01");
    }

    #[test]
    fn nothing_below_0x20_or_0x7f_survives() {
        let all: Vec<u8> = (0..=255u8).collect();
        let e = escape(&all);
        assert!(!e.bytes().any(|b| b < 0x20 || b == 0x7f));
    }
}
