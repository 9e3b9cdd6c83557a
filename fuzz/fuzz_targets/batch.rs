//! The batch-file reader and word splitter: logical lines (comments,
//! continuations, NUL bytes) and quoted words. Must never panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rnetns::cli::batch::{split_words, Reader};

fuzz_target!(|data: &[u8]| {
    let _ = split_words(data);
    let mut r = Reader::new(data);
    let mut last = 0;
    while let Some((n, line)) = r.next_line() {
        assert!(n > last, "line numbers go forward");
        last = n;
        let _ = split_words(&line);
    }
});
