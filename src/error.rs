//! One error type for every failure rnetns reports. Display is the exact
//! iproute2 6.1 sentence (spec sections 2-4), errno is rendered as glibc's
//! strerror text, and each variant knows its exit status: 1 or 2 for a
//! handler's return value, 255 for iproute2's `exit(-1)` paths, which also
//! end a batch even under `-force` (spec 2.7).

use crate::prog::prog;
use crate::sys::strerror;
use nix::errno::Errno;
use std::fmt;

/// How usage lines and hints name the command: `ip netns` / `ip [-all]
/// netns` as `ip` (spec 4.11, byte for byte), `rnetns` / `rnetns [-all]`
/// as rnetns, whose arguments are what follows `netns`.
fn command_words() -> (&'static str, &'static str) {
    match prog() {
        "ip" => ("ip netns", "ip [-all] netns"),
        _ => ("rnetns", "rnetns [-all]"),
    }
}

/// The netns usage text (spec 4.11), naming the program as invoked.
pub fn usage_text() -> String {
    let (p, all) = command_words();
    format!(
        "Usage:\t{p} list\n\
         \t{p} add NAME\n\
         \t{p} attach NAME PID\n\
         \t{p} set NAME NETNSID\n\
         \t{all} delete [NAME]\n\
         \t{p} identify [PID]\n\
         \t{p} pids NAME\n\
         \t{all} exec [NAME] cmd ...\n\
         \t{p} monitor\n\
         \t{p} list-id [target-nsid POSITIVE-INT] [nsid POSITIVE-INT]\n\
         NETNSID := auto | POSITIVE-INT\n"
    )
}

/// The errno inside an io::Error (EIO when there is none).
pub fn errno_of(e: std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// `ip netns help` and bad list-id words: the usage text, exit 255.
    Usage,
    /// Name validation before dispatch (spec 3.3).
    InvalidName(Vec<u8>),
    /// No subcommand matched (spec 3.5).
    UnknownCommand(Vec<u8>),
    /// A fixed sentence, exit 1.
    Plain(&'static str),
    /// `WHAT: strerror(errno)`, exit 1.
    Sys(Vec<u8>, Errno),
    /// `WHAT` alone (already formatted, e.g. `Invalid PID: x`), exit 1.
    Text(Vec<u8>),
    /// `doctor: unknown argument "WORD" (expected --fix)`, exit 255.
    DoctorArgument(Vec<u8>),
    /// `Error: argument "ARG" is wrong: WHY`, exit 255.
    BadArgument(Vec<u8>, String),
    /// `Error: duplicate "KEY": "KEY" is the second value.`, exit 255.
    Duplicate(&'static str),
    /// `Command line is not complete. Try option "help"`, exit 255.
    Incomplete,
    /// A kernel netlink error: extack text or strerror, exit 2.
    Netlink(NlError),
    /// exec setup failed: message then exit 255 (spec 4.9 steps 2-6).
    Setup(Vec<u8>),
    /// exec setup failed in a syscall: `WHAT: strerror(errno)`, exit 255.
    SetupSys(Vec<u8>, Errno),
    /// Exit at once with this status, printing nothing more (a forked
    /// command killed by a signal ends `-all` and batch, spec 4.9).
    Exit(i32),
    /// A runtime reference or path where a NAME or PID is expected that
    /// names no network namespace (R3, R4): its complete message, exit 1;
    /// under `exec`, a setup failure ([`Error::in_setup`]).
    Unresolved(Vec<u8>),
    /// A runtime reference that matches containers of more than one owner:
    /// its complete message, exit 1 (also under `exec`).
    Ambiguous(Vec<u8>),
    /// `Option "WORD" is unknown, try "rnetns -help".` (rnetns only; as
    /// `ip` the command line goes to the real `ip`), exit 255.
    UnknownOption(Vec<u8>),
    /// `Invalid rcvbuf size 'WORD'` (spec 2.1), exit 255.
    InvalidRcvbuf(Vec<u8>),
    /// rnetns refuses to run set-uid or set-gid, exit 1.
    SetId,
    /// A batch line with an unterminated quote ends the batch (spec 2.7),
    /// exit 1.
    UnterminatedQuote,
    /// `Command failed FILE:LINE` after a failed batch line (spec 2.7),
    /// exit 1.
    BatchLine(Vec<u8>, usize),
    /// `Missing continuation line` at the end of a batch whose last line
    /// ends in a backslash (spec 2.7): a warning, the status stays (0).
    MissingContinuation,
}

/// A netlink error as the kernel reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NlError {
    pub errno: i32,
    pub extack: Option<String>,
}

impl NlError {
    /// A request or its reply was lost on the way (no kernel answer): EIO.
    pub fn lost() -> NlError {
        NlError {
            errno: libc::EIO,
            extack: None,
        }
    }
}

/// A socket error as a netlink error (EIO when it has no errno).
impl From<std::io::Error> for NlError {
    fn from(e: std::io::Error) -> NlError {
        NlError {
            errno: e.raw_os_error().unwrap_or(libc::EIO),
            extack: None,
        }
    }
}

/// `WHAT: strerror(errno)`, the one way rnetns words a failed syscall
/// (errors and warnings alike, without Rust's `(os error N)` tail).
pub fn sys_text(what: &[u8], errno: Errno) -> Vec<u8> {
    [what, b": ", strerror(errno as i32).as_bytes()].concat()
}

impl fmt::Display for NlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.extack {
            Some(msg) => write!(f, "Error: {msg}."),
            None => write!(f, "RTNETLINK answers: {}", strerror(self.errno)),
        }
    }
}

impl Error {
    pub fn sys(what: impl Into<Vec<u8>>, errno: Errno) -> Self {
        Error::Sys(what.into(), errno)
    }

    /// The process exit status this error leads to.
    pub fn code(&self) -> i32 {
        match self {
            Error::Usage
            | Error::InvalidName(_)
            | Error::UnknownCommand(_)
            | Error::BadArgument(..)
            | Error::Duplicate(_)
            | Error::Incomplete
            | Error::UnknownOption(_)
            | Error::InvalidRcvbuf(_)
            | Error::Setup(_)
            | Error::SetupSys(..)
            | Error::DoctorArgument(_) => 255,
            Error::Plain(_) | Error::Text(_) => 1,
            Error::Unresolved(_) | Error::Ambiguous(_) => 1,
            Error::Sys(..) | Error::SetId | Error::UnterminatedQuote | Error::BatchLine(..) => 1,
            Error::MissingContinuation => 0,
            Error::Netlink(_) => 2,
            Error::Exit(c) => *c,
        }
    }

    /// This error as a failure of `exec`'s setup, which ends with 255
    /// (spec 4.9 steps 2-6): a namespace that cannot be found is one.
    pub fn in_setup(self) -> Self {
        match self {
            Error::Unresolved(msg) => Error::Setup(msg),
            e => e,
        }
    }

    /// Whether iproute2 calls exit() here, which ends a batch even with -force.
    pub fn is_fatal(&self) -> bool {
        self.code() == 255 || matches!(self, Error::Exit(_))
    }

    /// The bytes written to stderr for this error (names are raw bytes).
    pub fn message(&self) -> Vec<u8> {
        let mut out: Vec<u8> = match self {
            Error::Usage => return usage_text().into_bytes(),
            Error::Exit(_) => return Vec::new(),
            Error::InvalidName(n) => [&b"Invalid netns name \""[..], n, b"\""].concat(),
            Error::UnknownCommand(w) => [
                &b"Command \""[..],
                w,
                format!("\" is unknown, try \"{} help\".", command_words().0).as_bytes(),
            ]
            .concat(),
            Error::BadArgument(arg, why) => [
                &b"Error: argument \""[..],
                arg,
                b"\" is wrong: ",
                why.as_bytes(),
            ]
            .concat(),
            Error::Plain(s) => s.as_bytes().to_vec(),
            Error::Sys(what, e) | Error::SetupSys(what, e) => sys_text(what, *e),
            Error::Text(s) | Error::Setup(s) => s.clone(),
            Error::DoctorArgument(w) => [
                &b"doctor: unknown argument \""[..],
                w,
                b"\" (expected --fix)",
            ]
            .concat(),
            Error::Unresolved(s) | Error::Ambiguous(s) => s.clone(),
            Error::Duplicate(k) => {
                format!("Error: duplicate \"{k}\": \"{k}\" is the second value.").into_bytes()
            }
            Error::Incomplete => b"Command line is not complete. Try option \"help\"".to_vec(),
            Error::Netlink(e) => e.to_string().into_bytes(),
            // Option words are shown as UTF-8 text (lossy), as they always were.
            Error::UnknownOption(w) => format!(
                "Option \"{}\" is unknown, try \"rnetns -help\".",
                String::from_utf8_lossy(w)
            )
            .into_bytes(),
            Error::InvalidRcvbuf(w) => {
                format!("Invalid rcvbuf size '{}'", String::from_utf8_lossy(w)).into_bytes()
            }
            Error::SetId => b"rnetns: refusing to run set-uid or set-gid".to_vec(),
            Error::UnterminatedQuote => b"Unterminated quoted string".to_vec(),
            Error::BatchLine(file, line) => {
                [&b"Command failed "[..], file, format!(":{line}").as_bytes()].concat()
            }
            Error::MissingContinuation => b"Missing continuation line".to_vec(),
        };
        out.push(b'\n');
        out
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.message();
        f.write_str(String::from_utf8_lossy(m.strip_suffix(b"\n").unwrap_or(&m)).as_ref())
    }
}

/// Writes a message to stderr unbuffered, as iproute2's fprintf(stderr) does.
pub fn eprint_bytes(bytes: &[u8]) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(bytes);
}
