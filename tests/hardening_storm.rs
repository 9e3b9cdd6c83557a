//! Storm (concurrency): 16 processes at a time doing add, delete,
//! set, exec and list on an overlapping set of 20 names in one sandbox,
//! 5 s by default, 20 s with `HARDENING_LONG=1`. Invariants, checked
//! continuously under the run dir's lock and at the end:
//! - every entry is absent or a live nsfs mount, one mount deep; no nsfs
//!   mount without its entry;
//! - per name, successful adds minus successful deletes is 0 or 1 and
//!   equals whether the name exists at the end (so no two adds of a name
//!   succeeded while it existed);
//! - every failure is an expected one (`File exists`, `No such file or
//!   directory`, `already has a nsid`); `list` never prints an error;
//! - after the final `-all delete`: no nsfs mount anywhere in the sandbox
//!   and no namespace left alive.
//!
//! The same storm runs with iproute2 6.1 for the record; its anomalies
//! (6.1 has no lock around create+mount, so readers see placeholders) are
//! reported, not asserted.

#[path = "support/inner.rs"]
mod inner;
#[path = "support/sandbox.rs"]
mod sandbox;
#[path = "support/skip.rs"]
mod skip;

use inner::{report, Rng};
use std::collections::HashMap;
use std::ffi::OsString;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WORKERS: usize = 16;

/// The storm's own names: n0 .. n19.
fn ours(name: &[u8]) -> bool {
    name.len() > 1 && name[0] == b'n' && name[1..].iter().all(u8::is_ascii_digit)
}
const NAMES: u64 = 20;

#[derive(Default)]
struct Tally {
    ops: usize,
    anomalies: Vec<String>,
    adds_ok: HashMap<String, i64>,
    by_op: HashMap<&'static str, usize>,
}

fn storm(label: &str, prefix: Vec<OsString>) -> (usize, Vec<String>) {
    let secs = if inner::long_mode() { 20 } else { 5 };
    let seed = inner::seed();
    println!("storm {label}: seed {seed}, {secs} s");
    let deadline = Instant::now() + Duration::from_secs(secs);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let checks = Arc::new(AtomicUsize::new(0));
    // The continuous checker: the run dir's state under its lock.
    let checker = {
        let (tally, stop, checks) = (tally.clone(), stop.clone(), checks.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let bad = inner::with_run_dir_lock(|| inner::run_dir_anomalies(ours));
                if let Some(bad) = bad {
                    checks.fetch_add(1, Ordering::Relaxed);
                    let mut t = tally.lock().unwrap();
                    for b in bad {
                        t.anomalies.push(format!("continuous check: {b}"));
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (tally, prefix) = (tally.clone(), prefix.clone());
            let mut rng = Rng::new(seed.wrapping_add(w as u64 * 7919));
            std::thread::spawn(move || {
                while Instant::now() < deadline {
                    let name = format!("n{}", rng.below(NAMES));
                    let (op, args): (&'static str, Vec<&str>) = match rng.below(20) {
                        0..=5 => ("add", vec!["add", &name]),
                        6..=10 => ("delete", vec!["delete", &name]),
                        11..=13 => ("set", vec!["set", &name, "auto"]),
                        14..=16 => ("exec", vec!["exec", &name, "true"]),
                        _ => ("list", vec!["list"]),
                    };
                    let mut all: Vec<OsString> = prefix[1..].to_vec();
                    all.extend(args.iter().map(OsString::from));
                    let r = inner::run(&prefix[0], &all);
                    let verdict = judge(op, &name, &r);
                    let mut t = tally.lock().unwrap();
                    t.ops += 1;
                    *t.by_op.entry(op).or_default() += 1;
                    match verdict {
                        Ok(delta) => *t.adds_ok.entry(name.clone()).or_default() += delta,
                        Err(why) => t.anomalies.push(format!("{op} {name}: {why}")),
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    checker.join().unwrap();
    let mut t = Arc::try_unwrap(tally).ok().unwrap().into_inner().unwrap();
    // The continuous invariant was judged, not skipped for want of a lock.
    if checks.load(Ordering::Relaxed) < 10 {
        t.anomalies.push(format!(
            "only {} continuous checks ran under the run dir's lock",
            checks.load(Ordering::Relaxed)
        ));
    }
    // Final checks: the books balance, then -all delete leaves nothing.
    for bad in inner::run_dir_anomalies(ours) {
        t.anomalies.push(format!("final check: {bad}"));
    }
    for i in 0..NAMES {
        let name = format!("n{i}");
        let exists = std::path::Path::new("/run/netns").join(&name).exists() as i64;
        let net = t.adds_ok.get(&name).copied().unwrap_or(0);
        if net != exists {
            t.anomalies.push(format!(
                "{name}: successful adds - deletes = {net}, but it {}",
                if exists == 1 { "exists" } else { "is absent" }
            ));
        }
    }
    let mut all: Vec<OsString> = vec!["-all".into()];
    if prefix.len() > 1 {
        all = vec!["-all".into(), "netns".into()];
    }
    all.push("delete".into());
    let r = inner::run(&prefix[0], &all);
    if r.rc != 0 || !r.err.is_empty() {
        t.anomalies
            .push(format!("-all delete: rc {} {}", r.rc, r.err_text()));
    }
    let left = inner::nsfs_mounts_everywhere(ours);
    if left != 0 {
        t.anomalies
            .push(format!("{left} nsfs mounts left after -all delete"));
    }
    // Peers this netns holds an id for (every storm namespace got one from
    // `set auto`), once the kernel's asynchronous teardown is done.
    let alive = inner::peer_netns_alive(Duration::from_secs(10));
    println!("storm {label}: {alive} peer namespaces with an id still alive after -all delete");
    if alive != 0 {
        t.anomalies
            .push(format!("{alive} namespaces still alive after -all delete"));
    }
    let procs = inner::netns_of_processes();
    if procs != 1 {
        t.anomalies
            .push(format!("processes in {procs} network namespaces (want 1)"));
    }
    let mut ops: Vec<_> = t.by_op.iter().map(|(k, v)| format!("{k}={v}")).collect();
    ops.sort();
    report(&format!(
        "storm {label}: {secs} s, {WORKERS} processes, {} operations ({}), {} continuous checks, {} anomalies",
        t.ops,
        ops.join(" "),
        checks.load(Ordering::Relaxed),
        t.anomalies.len()
    ));
    for a in t.anomalies.iter().take(15) {
        println!("  anomaly: {a}");
    }
    (t.ops, t.anomalies)
}

/// Whether one operation's result is one of the expected outcomes under
/// concurrency; `Ok(1)` for a successful add, `Ok(-1)` for a delete.
fn judge(op: &str, name: &str, r: &inner::Run) -> Result<i64, String> {
    let err = r.err_text();
    let path = format!("\"/run/netns/{name}\"");
    let ok = |cond: bool, delta: i64| {
        if cond {
            Ok(delta)
        } else {
            Err(format!("rc {} stderr {err:?}", r.rc))
        }
    };
    match op {
        "add" if r.rc == 0 && err.is_empty() => Ok(1),
        "add" => ok(
            r.rc == 1 && err == format!("Cannot create namespace file {path}: File exists\n"),
            0,
        ),
        "delete" if r.rc == 0 && err.is_empty() => Ok(-1),
        "delete" => ok(
            r.rc == 1
                && err
                    == format!("Cannot remove namespace file {path}: No such file or directory\n"),
            0,
        ),
        "set" => ok(
            (r.rc == 0 && err.is_empty())
                || (r.rc == 2 && err == "Error: Peer netns already has a nsid assigned.\n")
                || (r.rc == 1
                    && err
                        == format!(
                            "Cannot open network namespace \"{name}\": No such file or directory\n"
                        )),
            0,
        ),
        "exec" => ok(
            (r.rc == 0 && err.is_empty())
                || (r.rc == 255
                    && err
                        == format!(
                            "Cannot open network namespace \"{name}\": No such file or directory\n"
                        )),
            0,
        ),
        _ => ok(r.rc == 0 && err.is_empty(), 0),
    }
}

fn storm_rnetns_keeps_every_invariant() {
    inner::sandboxed("storm_rnetns_keeps_every_invariant", || {
        let (ops, anomalies) = storm("rnetns", vec![inner::rnetns().into()]);
        assert!(ops > 100, "too few operations ({ops})");
        assert!(
            anomalies.is_empty(),
            "{} anomalies, first: {:?}",
            anomalies.len(),
            &anomalies[..anomalies.len().min(10)]
        );
    });
}

/// For the record only: iproute2 6.1 under the same storm.
fn storm_iproute2_for_the_record() {
    inner::sandboxed("storm_iproute2_for_the_record", || {
        let (ops, _) = storm("iproute2", vec![sandbox::real_ip().into(), "netns".into()]);
        assert!(ops > 100, "too few operations ({ops})");
    });
}

/// The first `add` of a sandbox creates the run dir while an `exec`, a
/// `set` and a `delete` of the same name run: each answers either from "no
/// run dir" or from the entry under the run dir's lock, so none meets the
/// placeholder (before: `set` now and then said `Peer netns reference is
/// invalid`, and a `delete` unlinked the placeholder under the `add`, whose
/// bind then failed). Every round starts without a run dir; the books
/// balance after each round. A race, so a regression shows in some runs
/// only (the code before: 15 anomalies in 2,000 rounds on a 2-vCPU VM).
fn first_add_races_readers_and_delete() {
    inner::sandboxed("first_add_races_readers_and_delete", || {
        let rn = inner::rnetns();
        let rounds = if inner::long_mode() { 2000 } else { 300 };
        let mut anomalies = Vec::new();
        for round in 0..rounds {
            if std::path::Path::new("/run/netns").exists() {
                let _ = nix::mount::umount2("/run/netns", nix::mount::MntFlags::MNT_DETACH);
                std::fs::remove_dir_all("/run/netns").expect("remove the run dir");
            }
            let ops: [(&'static str, &[&str]); 4] = [
                ("add", &["add", "n0"]),
                ("exec", &["exec", "n0", "true"]),
                ("set", &["set", "n0", "auto"]),
                ("delete", &["delete", "n0"]),
            ];
            let results: Vec<_> = std::thread::scope(|s| {
                let handles: Vec<_> = ops
                    .iter()
                    .map(|(op, args)| {
                        let rn = &rn;
                        s.spawn(move || (*op, inner::run(rn, args)))
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let mut net = 0;
            for (op, r) in &results {
                match judge(op, "n0", r) {
                    Ok(d) => net += d,
                    Err(why) => anomalies.push(format!("round {round}: {op}: {why}")),
                }
            }
            for bad in inner::run_dir_anomalies(ours) {
                anomalies.push(format!("round {round}: {bad}"));
            }
            let exists = std::path::Path::new("/run/netns/n0").exists() as i64;
            if net != exists {
                anomalies.push(format!(
                    "round {round}: adds - deletes = {net}, but n0 exists: {exists}"
                ));
            }
        }
        report(&format!(
            "first add races: {rounds} rounds, {} anomalies",
            anomalies.len()
        ));
        assert!(
            anomalies.is_empty(),
            "{:?}",
            &anomalies[..anomalies.len().min(10)]
        );
    });
}

/// Each privileged test is reported as ignored where no sandbox can be
/// built (a failure under `CI=true`): tests/support/skip.rs.
fn main() {
    skip::main_privileged(&named![
        storm_rnetns_keeps_every_invariant,
        storm_iproute2_for_the_record,
        first_add_races_readers_and_delete,
    ]);
}
