//! Link the unwinder (libgcc_eh) into the `rnetns` binary instead of
//! loading libgcc_s.so at every start: with panic=abort nothing unwinds,
//! but std still references `_Unwind_*`, and mapping one more shared
//! object is a third of a `-V` run (benches/RESULTS.md, start-up). glibc
//! stays dynamic and the binary stays PIE. Skipped where the C compiler
//! has no libgcc_eh.a (non-GNU toolchains): the binary is then only a
//! little slower to start.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CC");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    if os != "linux" || env != "gnu" || features.split(',').any(|f| f == "crt-static") {
        return;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let found = Command::new(cc)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|p| Path::new(p).is_absolute() && Path::new(p).is_file());
    if found.is_some() {
        // --whole-archive: the archive comes after std on the link line, so
        // it must define the unwinder before `--as-needed` sees libgcc_s.
        println!("cargo:rustc-link-arg-bin=rnetns=-Wl,--push-state,--whole-archive,-Bstatic,-lgcc_eh,--pop-state");
    }
}
