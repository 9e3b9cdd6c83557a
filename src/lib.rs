//! rnetns: a drop-in replacement for iproute2's `ip netns` (see README).
//! The binary is a thin wrapper around [`app::main_with`]; the modules are
//! public so integration tests and fuzz targets can reach the parsers.

// The unsafe fence (ARCHITECTURE.md): only `sys` may use `unsafe`.
#![deny(unsafe_code)]

pub mod app;
pub mod bytes;
pub mod cli;
pub mod cmd;
pub mod error;
pub mod handoff;
pub mod listing;
pub mod mountinfo;
pub mod mounts;
pub mod netlink;
pub mod ns;
pub mod nsident;
pub mod output;
pub mod pool;
pub mod procscan;
pub mod prog;
pub mod resolve;
pub mod runtimes;
pub mod store;
#[allow(unsafe_code)]
pub mod sys;
pub mod wiring;
