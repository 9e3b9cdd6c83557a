//! Keeps a real-runtime test's containers up before its cleanup, for a
//! person (or docs/all-runtimes.sh) looking at a host where they run.
//! Shared through `#[path]` by runtime_host.rs and runtimes_daemons.rs.
//!
//! - `RNETNS_TEST_HOLD_SECS=N`: sleeps N seconds (at most 600).
//! - `RNETNS_TEST_HOLD=DIR`: creates `DIR/NAME.ready` (NAME: the test
//!   binary's crate, e.g. `runtimes_cri`), then waits until
//!   `DIR/NAME.release` or `DIR/release` exists, 180 s at most.
//!
//! Neither set: returns at once and writes nothing.

use std::path::Path;
use std::time::{Duration, Instant};

const RELEASE_WAIT: Duration = Duration::from_secs(180);

pub fn hold() {
    let secs = std::env::var("RNETNS_TEST_HOLD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0u64);
    std::thread::sleep(Duration::from_secs(secs.min(600)));
    let Some(dir) = std::env::var_os("RNETNS_TEST_HOLD") else {
        return;
    };
    let dir = Path::new(&dir);
    let name = env!("CARGO_CRATE_NAME");
    if let Err(e) = std::fs::write(dir.join(format!("{name}.ready")), "") {
        eprintln!("hold: cannot write {name}.ready in {}: {e}", dir.display());
        return;
    }
    let mine = dir.join(format!("{name}.release"));
    let t = Instant::now();
    while !mine.exists() && !dir.join("release").exists() {
        if t.elapsed() > RELEASE_WAIT {
            eprintln!(
                "hold: no {}/release after {RELEASE_WAIT:?}; cleaning up",
                dir.display()
            );
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    println!("hold: released after {:?}", t.elapsed());
}
