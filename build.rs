//! Start-up and memory of the `rnetns` binary (benches/RESULTS.md).
//!
//! `.cargo/config.toml` builds it static-pie (`+crt-static` for the host's
//! tuple named explicitly, so that proc-macros and this script stay
//! dynamic): no dynamic loader, no binding of glibc's symbols at every
//! start (-V: 0.8x /bin/true instead of 1.15-1.25x). Here:
//!
//! - relative relocations are packed (DT_RELR, glibc 2.36+; static-pie
//!   too): 75 KiB of `.rela.dyn` that every start reads shrink to 1.5 KiB;
//! - when the build is dynamic after all (RUSTFLAGS from the environment
//!   replace the config's), the unwinder (libgcc_eh) is linked in instead of
//!   loading libgcc_s.so at every start: with panic=abort nothing unwinds,
//!   but std still references `_Unwind_*`, and mapping one more shared
//!   object is a third of a `-V` run.
//!
//! Each is probed with the C compiler first and skipped where the toolchain
//! lacks it: the binary is then only a little slower to start. Like every
//! build script, this one writes only inside `OUT_DIR` (the probe); the
//! convenience link `target/release/rnetns` is made by `make build`.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CC");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    if os != "linux" || env != "gnu" {
        return;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let static_crt = features.split(',').any(|f| f == "crt-static");
    let found = Command::new(&cc)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|p| Path::new(p).is_absolute() && Path::new(p).is_file());
    if found.is_some() && !static_crt {
        // --whole-archive: the archive comes after std on the link line, so
        // it must define the unwinder before `--as-needed` sees libgcc_s.
        println!("cargo:rustc-link-arg-bin=rnetns=-Wl,--push-state,--whole-archive,-Bstatic,-lgcc_eh,--pop-state");
    }
    let crt = if static_crt { "-static-pie" } else { "-pie" };
    if links_and_runs(&cc, &[crt, "-Wl,-z,pack-relative-relocs"]) {
        println!("cargo:rustc-link-arg-bin=rnetns=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether a trivial C program links with `flag` and (when not cross
/// compiling) runs: an old glibc refuses DT_RELR binaries at load time.
fn links_and_runs(cc: &str, flags: &[&str]) -> bool {
    let Some(out) = std::env::var_os("OUT_DIR").map(std::path::PathBuf::from) else {
        return false;
    };
    let src = out.join("probe.c");
    let bin = out.join("probe");
    if std::fs::write(&src, "int main(void) { return 0; }\n").is_err() {
        return false;
    }
    let linked = Command::new(cc)
        .args(flags)
        .arg(&src)
        .arg("-o")
        .arg(&bin)
        .output()
        .is_ok_and(|o| o.status.success() && o.stderr.is_empty());
    let native = std::env::var("TARGET").ok() == std::env::var("HOST").ok();
    linked && (!native || Command::new(&bin).status().is_ok_and(|s| s.success()))
}
