//! The /proc/PID/mountinfo parser: any bytes in, mounts out, no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for m in rnetns::mountinfo::parse(data) {
        let _ = m.propagation();
        let _ = m.is_nsfs();
    }
});
