//! The argument grammar: argv (NUL-separated words) -> Invocation, in both
//! modes (`rnetns ARGS` and `ip ARGS`). Must never panic; parsing is pure.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rnetns::cli::{parse, Mode};
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

fuzz_target!(|data: &[u8]| {
    let words: Vec<OsString> = data
        .split(|&b| b == 0)
        .map(|w| OsString::from_vec(w.to_vec()))
        .collect();
    let _ = parse(Mode::Rnetns, &words);
    let _ = parse(Mode::Ip, &words);
});
