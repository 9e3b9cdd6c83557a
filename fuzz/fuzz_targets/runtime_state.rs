//! The runtime state readers' parsing (docker config.v2.json, podman's
//! spec, containers.json and bolt database, containerd and CRI-O bundle
//! specs, pidfiles, cgroup paths): any bytes in, no panic; docker's two
//! ways of reading config.v2.json agree; the plain table of whatever names
//! they hold carries no control byte.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rnetns::runtimes::parse_state_bytes(data);
    assert!(rnetns::runtimes::docker_parses_agree(data));
    // Hostile names (README "Trust"): nothing they hold reaches a terminal raw.
    assert!(rnetns::cmd::discover::table_of_state_bytes_is_clean(data));
});
