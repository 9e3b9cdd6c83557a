//! The program's top level: argv -> [`cli::Invocation`] -> [`cmd`] ->
//! exit status, plus batch files and the hand-off of non-netns `ip`
//! command lines to the real iproute2 `ip`.

use crate::cli::{self, Action, Invocation};
use crate::cmd::{self, Ctx};
use crate::error::{self, eprint_bytes, Error};
use crate::{ns, sys};
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

/// The iproute2 release whose `ip netns` rnetns reproduces.
const IPROUTE2_VERSION: &str = "6.1.0";

/// The whole program: argv in, exit status out (never returns when a
/// command is exec'd or handed to the real `ip`).
pub fn main_with(argv: Vec<OsString>) -> i32 {
    let argv0 = argv
        .first()
        .map(|a| a.as_bytes().to_vec())
        .unwrap_or_default();
    let mode = cli::mode_from_argv0(&argv0);
    crate::prog::set_mode(mode);
    if sys::is_setid() {
        eprint_bytes(b"rnetns: refusing to run set-uid or set-gid\n");
        return 1;
    }
    let inv = cli::parse(mode, argv.get(1..).unwrap_or(&[]));
    run(inv, &argv)
}

fn run(inv: Invocation, argv: &[OsString]) -> i32 {
    match &inv.action {
        Action::Handoff => return handoff(argv),
        Action::Version => {
            println!(
                "rnetns utility, rnetns-{}, compatible with iproute2-{IPROUTE2_VERSION}",
                env!("CARGO_PKG_VERSION")
            );
            return 0;
        }
        Action::Help => return cli::help::print_help(),
        Action::Usage => {
            eprint_bytes(error::usage_text().as_bytes());
            return 255;
        }
        Action::Fail(msg, code) => {
            eprint_bytes(format!("{msg}\n").as_bytes());
            return *code;
        }
        Action::Netns(_) | Action::Batch(_) => {}
    }
    for sw in &inv.switches {
        let result = match sw {
            Some(name) => ns::switch_to(name),
            None => Err(Error::Setup(
                b"Cannot open network namespace \"(null)\": No such file or directory".to_vec(),
            )),
        };
        if let Err(e) = result {
            eprint_bytes(&e.message());
            return 255;
        }
    }
    let mut ctx = Ctx::new(inv.globals.clone());
    let code = match &inv.action {
        Action::Netns(words) => {
            let r = cmd::netns(&mut ctx, words);
            finish(&mut ctx, r)
        }
        Action::Batch(file) => batch(&mut ctx, file),
        _ => unreachable!("handled above"),
    };
    ctx.out.flush();
    code
}

/// Prints an error, if any, and turns the result into an exit status.
fn finish(ctx: &mut Ctx, r: cmd::Status) -> i32 {
    match r {
        Ok(code) => code,
        Err(e) => {
            ctx.out.flush();
            eprint_bytes(&e.message());
            e.code()
        }
    }
}

/// spec 2.7: run each line of a batch file. A batch that holds other `ip`
/// objects is handed whole to the real `ip`, because iproute2 carries
/// state from one line to the next (e.g. `link show` changes how a later
/// `addr show` prints) that separate processes could not reproduce.
fn batch(ctx: &mut Ctx, file: &[u8]) -> i32 {
    ctx.in_batch = true;
    let input = if file == b"-" {
        let mut v = Vec::new();
        let _ = std::io::stdin().lock().read_to_end(&mut v);
        v
    } else {
        // 6.1 holds its rtnetlink socket before it opens the file, so with
        // a standard fd closed the socket takes that number, and
        // `-b /dev/stdin <&-` opens a socket: "No such device or address"
        // (case batch-file-stdin-closed). Not for `-b -`, which would then
        // read the socket and hang as 6.1 does (D10).
        let _rtnl = netlink_sys::Socket::new(netlink_sys::protocols::NETLINK_ROUTE);
        // Open errors are reported; a read error (a directory: EISDIR) ends
        // the input like end of file, as 6.1's getline does (hardening_inputs).
        match std::fs::File::open(Path::new(std::ffi::OsStr::from_bytes(file))) {
            Ok(mut f) => {
                let mut v = Vec::new();
                let _ = f.read_to_end(&mut v);
                v
            }
            Err(e) => {
                eprint_bytes(&crate::bytes::cat(&[
                    b"Cannot open file \"",
                    file,
                    b"\" for reading: ",
                    sys::strerror(crate::error::errno_of(e) as i32).as_bytes(),
                    b"\n",
                ]));
                return 1;
            }
        }
    };
    if has_other_objects(&input) {
        return handoff_batch(ctx, file, &input);
    }
    let mut reader = cli::batch::Reader::new(&input[..]);
    let mut status = 0;
    while let Some((lineno, line)) = reader.next_line() {
        let words = match cli::batch::split_words(&line) {
            Ok(w) => w,
            Err(_) => {
                eprint_bytes(b"Unterminated quoted string\n");
                return 1;
            }
        };
        let Some(object) = words.first() else {
            continue;
        };
        let r = if cli::grammar::is_netns_object(object) {
            cmd::netns(ctx, &words[1..])
        } else {
            ctx.out.flush();
            run_real_ip(&ctx.globals.passthrough, &words)
        };
        let code = match r {
            Ok(c) => c,
            Err(e) => {
                ctx.out.flush();
                eprint_bytes(&e.message());
                if e.is_fatal() {
                    return e.code();
                }
                e.code()
            }
        };
        if code != 0 {
            ctx.out.flush();
            eprint_bytes(&crate::bytes::cat(&[
                b"Command failed ",
                file,
                format!(":{lineno}\n").as_bytes(),
            ]));
            status = 1;
            if !ctx.globals.force {
                return status;
            }
        }
    }
    if reader.missing_continuation {
        eprint_bytes(b"Missing continuation line\n");
    }
    status
}

/// Whether a line that would run (before any unterminated quote) names an
/// object other than netns.
fn has_other_objects(input: &[u8]) -> bool {
    let mut reader = cli::batch::Reader::new(input);
    while let Some((_, line)) = reader.next_line() {
        match cli::batch::split_words(&line) {
            Err(_) => return false,
            Ok(words) => {
                if words
                    .first()
                    .is_some_and(|o| !cli::grammar::is_netns_object(o))
                {
                    return true;
                }
            }
        }
    }
    false
}

/// Becomes the real `ip -b FILE` (stdin refilled from memory for `-`),
/// with the options that matter; `-n` switches were already made here.
fn handoff_batch(ctx: &mut Ctx, file: &[u8], input: &[u8]) -> i32 {
    ctx.out.flush();
    let Some(ip) = real_ip() else {
        eprint_bytes(b"rnetns: cannot find iproute2's ip\n");
        return 255;
    };
    let mut cmd = std::process::Command::new(ip);
    cmd.arg0("ip").args(&ctx.globals.passthrough);
    if ctx.globals.all {
        cmd.arg("-all");
    }
    if ctx.globals.force {
        cmd.arg("-force");
    }
    cmd.arg("-batch").arg(crate::bytes::os(file));
    if file == b"-" {
        match stdin_from(input) {
            Ok(f) => {
                cmd.stdin(f);
            }
            Err(e) => {
                eprint_bytes(format!("rnetns: cannot pass the batch on: {e}\n").as_bytes());
                return 1;
            }
        }
    }
    let err = cmd.exec();
    eprint_bytes(format!("rnetns: cannot run ip: {err}\n").as_bytes());
    255
}

/// An in-memory file holding `data`, positioned at its start.
fn stdin_from(data: &[u8]) -> std::io::Result<std::fs::File> {
    use std::io::{Seek, Write};
    let fd = nix::sys::memfd::memfd_create("rnetns-batch", nix::sys::memfd::MFdFlags::empty())
        .map_err(std::io::Error::from)?;
    let mut f = std::fs::File::from(fd);
    f.write_all(data)?;
    f.rewind()?;
    Ok(f)
}

/// A non-netns batch line: run it with the real `ip` and take its status
/// (255, iproute2's exit(), ends the batch as it would in-process).
fn run_real_ip(options: &[OsString], words: &[Vec<u8>]) -> cmd::Status {
    let Some(ip) = real_ip() else {
        return Err(Error::Text(
            b"rnetns: cannot find iproute2's ip".to_vec(),
            1,
        ));
    };
    let status = std::process::Command::new(ip)
        .arg0("ip")
        .args(options)
        .args(words.iter().map(|w| crate::bytes::os(w)))
        .status()
        .map_err(|e| Error::sys("Cannot run ip", crate::error::errno_of(e)))?;
    match status.code() {
        Some(255) => Err(Error::Exit(255)),
        Some(c) => Ok(c),
        None => Err(Error::Exit(1)),
    }
}

/// The real iproute2 `ip`: the first `ip` on PATH that is not rnetns
/// itself, else the usual locations (spec 0.1).
fn real_ip() -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    // Compared by (dev, ino), so a hard-linked or copied-over rnetns named
    // `ip` is skipped as surely as a symlink to it.
    let me = std::fs::metadata("/proc/self/exe")
        .ok()
        .map(|m| (m.dev(), m.ino()));
    let path = std::env::var_os("PATH").unwrap_or_default();
    let candidates = std::env::split_paths(&path)
        .map(|d| d.join("ip"))
        .chain(["/usr/sbin/ip", "/sbin/ip", "/bin/ip"].map(PathBuf::from));
    for c in candidates {
        let Ok(m) = std::fs::metadata(&c) else {
            continue;
        };
        if Some((m.dev(), m.ino())) != me && is_executable(&c) {
            return Some(c);
        }
    }
    None
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// ip mode, any object but netns: become the real `ip` with the same argv.
fn handoff(argv: &[OsString]) -> i32 {
    let Some(ip) = real_ip() else {
        eprint_bytes(
            b"rnetns: cannot find iproute2's ip (looked on PATH and in /usr/sbin, /sbin, /bin)\n",
        );
        return 255;
    };
    let err = std::process::Command::new(&ip)
        .arg0(argv.first().cloned().unwrap_or_else(|| "ip".into()))
        .args(argv.get(1..).unwrap_or(&[]))
        .exec();
    eprint_bytes(format!("rnetns: cannot run {}: {err}\n", ip.display()).as_bytes());
    255
}
