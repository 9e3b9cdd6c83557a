//! The batch's pool of helper processes (src/pool.rs) with both helpers
//! dead: each take that asks them for a namespace gets an error back (the
//! batch then makes its own namespaces), and the process lives on with
//! SIGPIPE's default action as rnetns has it (a SEQPACKET write to a dead
//! peer is EPIPE without a signal; rnetns also passes MSG_NOSIGNAL).
//!
//! The pool forks, and `sys::fork` forks only a single-threaded process,
//! as rnetns is on its batch path. A test harness is not (it runs tests
//! on threads), so the pool runs in a child process of its own: this
//! binary again, started in a sandbox with `POOL_CHILD=1`, which `main`
//! handles before any thread exists.

#[path = "support/sandbox.rs"]
mod sandbox;
#[path = "support/skip.rs"]
mod skip;

use std::time::Duration;

fn main() {
    if std::env::var_os("POOL_CHILD").is_some_and(|v| v == "1") {
        child();
    }
    let args = libtest_mimic::Arguments::from_args();
    let trials = vec![skip::privileged_fn(
        "pool_with_dead_helpers_answers_each_take_with_an_error",
        pool_with_dead_helpers_answers_each_take_with_an_error,
    )];
    libtest_mimic::run(&args, trials).exit();
}

fn pool_with_dead_helpers_answers_each_take_with_an_error() {
    let exe = std::env::current_exe().unwrap();
    let out = sandbox::run_checked(
        "pool-dead-helpers",
        &format!(
            "POOL_CHILD=1 {} 2>&1; echo rc=$?",
            sandbox::shell_quote(exe.to_str().unwrap())
        ),
    )
    .expect("sandbox");
    assert_eq!(
        out,
        "single-threaded\ntakes from dead helpers: 3 errors\nrc=0\n"
    );
}

/// The child: single-threaded, SIGPIPE at its default as in rnetns (own C
/// main), not as in a Rust program; exits 0 when every check held.
fn child() -> ! {
    // SAFETY: resetting a disposition to its default, before any thread.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert!(rnetns::sys::single_threaded(), "the child has one thread");
    println!("single-threaded");
    let mut pool = rnetns::pool::Pool::start(2).expect("pool");
    let first = pool.take().expect("a namespace from a live helper");
    drop(first);
    for pid in pool.helper_pids() {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        // Dead (a zombie until the pool reaps it) before the next take.
        let stat = format!("/proc/{pid}/stat");
        while !std::fs::read_to_string(&stat)
            .unwrap_or_default()
            .contains(") Z ")
        {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let errors: usize = (0..3).map(|_| usize::from(pool.take().is_err())).sum();
    println!("takes from dead helpers: {errors} errors");
    drop(pool);
    std::process::exit(0);
}
