//! rnetns: a drop-in replacement for iproute2's `ip netns`.
//!
//! The C `main` is ours (`no_main`): std's start-up would set SIGPIPE to
//! ignored, which every program `exec` or the `ip` hand-off starts would
//! inherit (`ip netns exec NAME yes | head` then prints "Broken pipe"; case
//! exec_keeps_sigpipe_default), and it asks glibc for the main thread's
//! stack bounds by parsing /proc/self/maps, a third of the start-up cost.
//! glibc hands `main` the arguments and std reads them through its own
//! init hook, so `std::env::args_os` works unchanged.
#![no_main]

#[no_mangle]
extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    rnetns::app::main_with(std::env::args_os().collect())
}
