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

/// `privileged` for a body that asserts (panics) instead of returning.
pub fn privileged_fn(name: &str, body: fn()) -> Trial {
    privileged(name, move || {
        body();
        Ok(())
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
