//! Who this process is, for every message: the [`Mode`] it was started in
//! (`rnetns ARGS` or the `ip` shim, spec 0.1) and the program name that
//! mode prints (`rnetns` or `ip`). A leaf: set once by `app`, read by any
//! room that names the program, so none of them reaches up into `cli`.
//! No syscalls.

use std::sync::OnceLock;

/// How rnetns was invoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Rnetns,
    Ip,
}

static MODE: OnceLock<Mode> = OnceLock::new();

/// Records the mode for the rest of the process (the first call wins).
pub fn set_mode(mode: Mode) {
    let _ = MODE.set(mode);
}

/// The mode set by [`set_mode`]; `Rnetns` before it is set (unit tests).
pub fn mode() -> Mode {
    MODE.get().copied().unwrap_or(Mode::Rnetns)
}

/// Whether rnetns runs as itself, where its extensions (R rows of the
/// ledger) are accepted; as `ip` it takes only what 6.1 takes.
pub fn is_rnetns() -> bool {
    mode() == Mode::Rnetns
}

/// The program name used in messages: `ip` or `rnetns`.
pub fn prog() -> &'static str {
    match mode() {
        Mode::Ip => "ip",
        Mode::Rnetns => "rnetns",
    }
}
