//! An interface's addresses as a set to compare: `addr_info` as
//! `ip -j addr` gives it (the oracle) and as rnetns's `interfaces[]`
//! gives it, in one shape for every wiring test (`wiring.rs`,
//! `wiring_daemons.rs`).

use serde_json::Value;
use std::collections::BTreeSet;

/// (family, local, prefixlen) of each entry of an `addr_info` array; an
/// entry without one of them panics, which fails the trial that met it.
pub fn addr_set(v: &Value) -> BTreeSet<(String, String, i64)> {
    let field = |a: &Value, k: &str| match a[k].as_str() {
        Some(s) => s.to_string(),
        None => panic!("addr_info entry without {k}: {a}"),
    };
    v.as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            let prefix = a["prefixlen"].as_i64();
            let prefix = prefix.unwrap_or_else(|| panic!("addr_info entry without prefixlen: {a}"));
            (field(a, "family"), field(a, "local"), prefix)
        })
        .collect()
}
