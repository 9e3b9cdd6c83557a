//! One skip rule for every privileged test (README "Tests"): a test that needs a
//! sandbox (root, or user namespaces) and cannot build one is reported as
//! `ignored, SKIP: ...` in cargo's own summary: it never passes silently
//! and never fails, except under `CI=true`, where the machine is meant to
//! run everything and a skip is a failure. Test files that use it are
//! `harness = false` (Cargo.toml) and list their tests in `main`.
#![allow(dead_code)]

use super::sandbox;
use libtest_mimic::{Completion, Failed, Trial};

/// A test that runs `body` when sandboxes can be built here; otherwise
/// ignored with the reason (a failure under CI). A panic in `body` fails
/// the test, as with `#[test]`.
pub fn privileged(name: &str, body: impl FnOnce() -> Result<(), Failed> + Send + 'static) -> Trial {
    // The inner run of a sandboxed test (tests/support/inner.rs) is
    // already inside the sandbox its outer run built: it just runs.
    if std::env::var_os("HARDENING_INNER").is_some_and(|v| v == name) {
        return Trial::test(name, body);
    }
    Trial::ignorable_test(name, move || match sandbox::unavailable() {
        Some(why) if sandbox::in_ci() => {
            Err(format!("CI=true but no sandbox can be built: {why}").into())
        }
        Some(why) => Ok(Completion::ignored_with(format!(
            "SKIP: needs root or user namespaces ({why})"
        ))),
        None => body().map(|()| Completion::Completed),
    })
}

/// What `sandbox::run_checked` inside a `privileged` test expects: it
/// skips only where no sandbox can be built, and then `privileged` has
/// already reported the test as ignored without running it.
pub const IN_PRIVILEGED: &str =
    "run_checked skipped inside skip::privileged, which had found a sandbox";

/// `privileged` for a body that asserts (panics) instead of returning.
pub fn privileged_fn(name: &str, body: fn()) -> Trial {
    privileged(name, move || {
        body();
        Ok(())
    })
}

/// `privileged_fn` for each `(name, test)` pair (see `named!`).
pub fn privileged_all(tests: &[(&str, fn())]) -> Vec<Trial> {
    tests
        .iter()
        .map(|&(name, f)| privileged_fn(name, f))
        .collect()
}

/// The whole `main` of a test file whose tests are all privileged.
pub fn main_privileged(tests: &[(&str, fn())]) -> ! {
    let args = libtest_mimic::Arguments::from_args();
    libtest_mimic::run(&args, privileged_all(tests)).exit()
}

/// `(name, test)` pairs from test function names, for `privileged_all`.
#[macro_export]
macro_rules! named {
    ($($f:ident),* $(,)?) => {
        [$((stringify!($f), $f as fn())),*]
    };
}

/// A test that needs `tool` on PATH: ignored with the reason where it is
/// missing (a failure under CI, which installs it).
pub fn needs_tool(name: &str, tool: &'static str, body: fn()) -> Trial {
    Trial::ignorable_test(name, move || {
        let found = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        match found {
            true => {
                body();
                Ok(Completion::Completed)
            }
            false if sandbox::in_ci() => {
                Err(format!("CI=true but {tool} is not installed (.ci/run installs it)").into())
            }
            false => Ok(Completion::ignored_with(format!(
                "SKIP: {tool} is not installed"
            ))),
        }
    })
}

/// A test that is not run in this configuration, with the reason.
pub fn ignored(name: &str, reason: &str) -> Trial {
    let reason = format!("SKIP: {reason}");
    Trial::ignorable_test(name, move || Ok(Completion::ignored_with(reason)))
}

/// A test that needs what this host may lack (root, a runtime's
/// packages): run when `missing` is `None`, else ignored with
/// `SKIP: why` (a failure under CI), like `privileged`.
pub fn requires(
    name: &str,
    missing: Option<String>,
    body: impl FnOnce() -> Result<(), Failed> + Send + 'static,
) -> Trial {
    Trial::ignorable_test(name, move || match missing {
        Some(why) if sandbox::in_ci() => Err(format!("CI=true but {why}").into()),
        Some(why) => Ok(Completion::ignored_with(format!("SKIP: {why}"))),
        None => body().map(|()| Completion::Completed),
    })
}
