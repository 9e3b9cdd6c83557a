//! Repair that survives a kill (ARCHITECTURE.md "Locks"), in the sandbox, with the real
//! iproute2 `ip netns add` running beside `rnetns doctor --fix`:
//! - a kill of `doctor --fix` at every step of a rebuild between two
//!   mount-changing syscalls (the test hook `RNETNS_TEST_PAUSE=STEP` stops
//!   it there with SIGSTOP; the test then SIGKILLs it) and at random
//!   moments: after each kill every earlier name resolves to the same
//!   namespace, every name `ip` reported as added resolves to a
//!   namespace, and a second `doctor --fix` leaves a clean run dir;
//! - rebuilds back to back against an `ip netns add` loop: 0 names lost.
//!   1,000 rebuilds, or as many as fit in 110 s (the number is reported;
//!   about 300 on a loaded 2-vCPU machine, each `doctor --fix` scanning
//!   three times).

#[path = "support/inner.rs"]
mod inner;
#[path = "support/sandbox.rs"]
mod sandbox;

use inner::{report, run, Rng};
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The steps of a window-free rebuild where the hook can stop it: after
/// the copy is built, after it is shared, after the old top is made
/// private, after the copy is slid beneath, after the old top left the
/// peer group (just before it is unmounted).
const STEPS: [&str; 5] = ["built", "shared", "private", "beneath", "leaving"];

type NsId = (u64, u64);

/// The namespace `name` resolves to, if it is one.
fn ns_of(name: &str) -> Option<NsId> {
    let f = std::fs::File::open(format!("/run/netns/{name}")).ok()?;
    let m = f.metadata().ok()?;
    rnetns::nsident::is_nsfs(&f).then(|| (m.dev(), m.ino()))
}

/// Every entry that resolves to a namespace, and which.
fn snapshot() -> HashMap<String, NsId> {
    let mut out = HashMap::new();
    for e in std::fs::read_dir("/run/netns").unwrap().flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if let Some(id) = ns_of(&n) {
            out.insert(n, id);
        }
    }
    out
}

fn ip(args: &[&str]) -> i32 {
    run("ip", args).rc
}

/// Makes the run dir need a rebuild: a second namespace stacked on `p1`.
fn stack_an_entry() {
    let r = run("mount", &["--bind", "/run/netns/p0", "/run/netns/p1"]);
    assert_eq!(r.rc, 0, "{}", r.err_text());
}

/// `ip netns add` in a loop until stopped: each name `ip` added (exit 0)
/// is checked before the loop deletes it again, `live` names later; a name
/// that no longer resolves to a namespace then is lost.
struct Adder {
    stop: Arc<AtomicBool>,
    lost: Arc<Mutex<Vec<String>>>,
    added: Arc<AtomicUsize>,
    /// Names added and not yet deleted.
    alive: Arc<Mutex<Vec<String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Adder {
    fn start(prefix: &str, live: usize) -> Adder {
        let stop = Arc::new(AtomicBool::new(false));
        let lost = Arc::new(Mutex::new(Vec::new()));
        let added = Arc::new(AtomicUsize::new(0));
        let alive = Arc::new(Mutex::new(Vec::new()));
        let (s, l, a, al) = (stop.clone(), lost.clone(), added.clone(), alive.clone());
        let prefix = prefix.to_string();
        let thread = std::thread::spawn(move || {
            let mut k = 0u64;
            while !s.load(Ordering::Relaxed) {
                let name = format!("{prefix}{k}");
                k += 1;
                if ip(&["netns", "add", &name]) == 0 {
                    a.fetch_add(1, Ordering::Relaxed);
                    al.lock().unwrap().push(name);
                }
                let old = {
                    let mut v = al.lock().unwrap();
                    (v.len() > live).then(|| v.remove(0))
                };
                if let Some(old) = old {
                    if ns_of(&old).is_none() {
                        l.lock().unwrap().push(old.clone());
                    }
                    ip(&["netns", "delete", &old]);
                }
            }
        });
        Adder {
            stop,
            lost,
            added,
            alive,
            thread: Some(thread),
        }
    }

    /// Stops the loop; returns the names lost, counting those still alive.
    fn finish(mut self) -> (Vec<String>, usize) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        let mut lost = self.lost.lock().unwrap().clone();
        for n in self.alive.lock().unwrap().iter() {
            if ns_of(n).is_none() {
                lost.push(n.clone());
            }
        }
        (lost, self.added.load(Ordering::Relaxed))
    }
}

fn doctor_fix() -> String {
    let r = run(inner::rnetns(), &["doctor", "--fix"]);
    r.out_text()
}

/// Waits until process `pid` is stopped (state T); false if it exits.
fn wait_stopped(pid: u32) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(20) {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(s) => {
                let state = s
                    .rsplit(')')
                    .next()
                    .and_then(|r| r.split_whitespace().next());
                match state {
                    Some("T") | Some("t") => return true,
                    Some("Z") => return false,
                    _ => {}
                }
            }
            Err(_) => return false,
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

fn setup(n: usize) {
    let batch: String = (0..n).map(|i| format!("netns add p{i}\n")).collect();
    let path = std::env::temp_dir().join("repair-setup.batch");
    std::fs::write(&path, batch).unwrap();
    assert_eq!(ip(&["-b", &path.to_string_lossy()]), 0);
}

/// After a kill: the earlier names keep their namespaces and `ip`'s adds
/// resolve; then a second `--fix` leaves a clean run dir.
fn check_after_kill(what: &str, before: &HashMap<String, NsId>, adder: Adder) {
    let now = snapshot();
    for (name, id) in before {
        assert_eq!(
            now.get(name),
            Some(id),
            "{what}: {name} changed or was lost by the kill"
        );
    }
    let (lost, _) = adder.finish();
    assert!(lost.is_empty(), "{what}: ip's adds lost: {lost:?}");
    let fixed = doctor_fix();
    let r = run(inner::rnetns(), &["doctor"]);
    assert_eq!(
        r.rc,
        0,
        "{what}: not clean after a second --fix ({fixed}):\n{}",
        r.out_text()
    );
    let after = snapshot();
    for (name, id) in before {
        assert_eq!(
            after.get(name),
            Some(id),
            "{what}: {name} lost by the repair"
        );
    }
}

fn kill_at_every_step() {
    setup(100);
    let seed = inner::seed();
    let mut rng = Rng::new(seed);
    let mut rounds = 0;
    for step in STEPS {
        for round in 0..2 {
            stack_an_entry();
            let before = snapshot();
            let adder = Adder::start(&format!("k{step}{round}x"), 1_000_000);
            let mut child = Command::new(inner::rnetns())
                .args(["doctor", "--fix"])
                .env("RNETNS_TEST_PAUSE", step)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            assert!(
                wait_stopped(child.id()),
                "doctor --fix never reached step {step}"
            );
            std::thread::sleep(Duration::from_millis(rng.below(50)));
            child.kill().unwrap();
            child.wait().unwrap();
            std::thread::sleep(Duration::from_millis(50));
            check_after_kill(&format!("kill at {step}"), &before, adder);
            rounds += 1;
        }
    }
    // Kills at random moments of an uninterrupted rebuild.
    let span = {
        stack_an_entry();
        let t = Instant::now();
        doctor_fix();
        t.elapsed().as_micros() as u64
    };
    for i in 0..20 {
        stack_an_entry();
        let before = snapshot();
        let adder = Adder::start(&format!("r{i}x"), 1_000_000);
        let mut child = Command::new(inner::rnetns())
            .args(["doctor", "--fix"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.below(span + 1)));
        let _ = child.kill();
        child.wait().unwrap();
        check_after_kill(&format!("random kill {i}"), &before, adder);
        rounds += 1;
    }
    report(&format!(
        "repair kill: seed {seed}, {rounds} kills ({} steps x 2, 20 random), 0 names lost",
        STEPS.len()
    ));
}

#[test]
fn doctor_fix_killed_at_every_step_of_a_rebuild_loses_no_name() {
    inner::sandboxed(
        "doctor_fix_killed_at_every_step_of_a_rebuild_loses_no_name",
        kill_at_every_step,
    );
}

fn rebuilds_against_an_add_loop() {
    // Few entries, so that a rebuild (three doctor scans) is quick and
    // many fit in the budget; the adder keeps 50 of its own alive.
    setup(20);
    let budget = Duration::from_secs(110);
    let adder = Adder::start("a", 50);
    let t = Instant::now();
    let mut rebuilds = 0;
    while rebuilds < 1000 && t.elapsed() < budget {
        stack_an_entry();
        let out = doctor_fix();
        assert!(out.contains("rebuilt /run/netns"), "no rebuild: {out}");
        rebuilds += 1;
    }
    let secs = t.elapsed().as_secs_f64();
    let (lost, added) = adder.finish();
    report(&format!(
        "repair race: {rebuilds} rebuilds in {secs:.1} s against {added} `ip netns add`s: {} lost",
        lost.len()
    ));
    assert!(lost.is_empty(), "lost: {lost:?}");
    assert!(rebuilds >= 100, "only {rebuilds} rebuilds");
}

#[test]
fn rebuilds_against_an_ip_add_loop_lose_nothing() {
    inner::sandboxed(
        "rebuilds_against_an_ip_add_loop_lose_nothing",
        rebuilds_against_an_add_loop,
    );
}
