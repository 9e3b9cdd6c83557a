//! Byte-string helpers for messages and paths that mix text with raw
//! names (names are bytes, ARCHITECTURE.md "Invariants"). A leaf: it
//! imports nothing of the crate. No syscalls.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

/// Concatenates byte strings (messages mixing text and raw names).
pub fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Turns a word back into an OsString (for exec and paths).
pub fn os(word: &[u8]) -> OsString {
    std::ffi::OsStr::from_bytes(word).to_os_string()
}
