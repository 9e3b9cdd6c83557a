//! argv -> [`Invocation`], pure: nothing here touches the system. Two ways
//! in (spec 0.1): as `rnetns ARGS` (ARGS are what follows `netns`, global
//! options first) and as `ip` (full `ip` command lines; every object but
//! netns, and every command line that fails before reaching netns, is
//! handed to the real iproute2 `ip`).

pub mod batch;
pub mod grammar;
pub mod help;

use grammar::{lookup_option, Opt, FAMILIES};
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use crate::error::Error;
pub use crate::prog::Mode;

/// The mode implied by the name we were started under.
pub fn mode_from_argv0(argv0: &[u8]) -> Mode {
    let base = argv0.rsplit(|&b| b == b'/').next().unwrap_or(argv0);
    if base == b"ip" {
        Mode::Ip
    } else {
        Mode::Rnetns
    }
}

/// Global options that change what netns commands do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Globals {
    pub json: bool,
    pub pretty: bool,
    pub all: bool,
    pub force: bool,
    /// `-q`/`-quiet` (rnetns only): no `note:` lines on stderr.
    pub quiet: bool,
    /// Option words passed on to the real `ip` for non-netns batch lines.
    pub passthrough: Vec<OsString>,
}

/// What the command line asks for, once the global options are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Run `netns ARGS` (ARGS start with the subcommand word, may be empty).
    Netns(Vec<Vec<u8>>),
    /// Read commands from a file (`-` is stdin).
    Batch(Vec<u8>),
    /// Hand the whole argv to the real iproute2 `ip` (ip mode only).
    Handoff,
    /// `-V`.
    Version,
    /// No object, or a missing option value: the top-level usage, exit 255.
    Usage,
    /// `rnetns -help` / `--help`: the full help on stdout, exit 0.
    Help,
    /// An option error, reported before anything runs.
    Fail(Error),
}

/// A parsed command line: `-n` switches to perform in order, then the action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub globals: Globals,
    /// `-n NAME` values in order (`None`: the value was missing).
    pub switches: Vec<Option<Vec<u8>>>,
    pub action: Action,
}

/// Parses argv (without argv[0]). In ip mode, anything but a clean netns
/// command line or batch is handed to the real `ip`, which then prints
/// its own bytes for it.
pub fn parse(mode: Mode, args: &[OsString]) -> Invocation {
    let mut inv = parse_options(mode, args);
    if mode == Mode::Ip && !matches!(inv.action, Action::Netns(_) | Action::Batch(_)) {
        inv.action = Action::Handoff;
    }
    inv
}

fn parse_options(mode: Mode, args: &[OsString]) -> Invocation {
    let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
    let mut inv = Invocation {
        globals: Globals::default(),
        switches: Vec::new(),
        action: Action::Usage,
    };
    let mut batch: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < args.len() && args[i].first() == Some(&b'-') {
        let raw = &args[i];
        if raw == b"--" {
            i += 1;
            break;
        }
        // spec 2.1: a leading `--` is folded to a single dash.
        let word: &[u8] = if raw.starts_with(b"--") {
            &raw[1..]
        } else {
            raw
        };
        // rnetns extension: -q/-quiet silences notes. iproute2 6.1 has no
        // option starting with q ("Option \"-q\" is unknown"), so no
        // abbreviation is shadowed; as ip the line still goes to ip.
        if mode == Mode::Rnetns && (word == b"-q" || word == b"-quiet") {
            inv.globals.quiet = true;
            i += 1;
            continue;
        }
        let value = args.get(i + 1);
        let Some(opt) = lookup_option(word) else {
            inv.action = unknown_option(mode, word);
            return inv;
        };
        let mut consumed = 1;
        match opt {
            Opt::Ignored { takes_value } => {
                if takes_value {
                    if value.is_none() {
                        return usage(mode, inv);
                    }
                    consumed = 2;
                }
                pass(&mut inv.globals, &args[i..i + consumed]);
            }
            Opt::Family => {
                let Some(v) = value else {
                    return usage(mode, inv);
                };
                if v == b"help" {
                    return usage(mode, inv);
                }
                if !FAMILIES.iter().any(|f| f.as_bytes() == v.as_slice()) {
                    // The word as UTF-8 text (lossy), as it always was.
                    let word = String::from_utf8_lossy(v).into_owned().into_bytes();
                    let why = "invalid protocol family".to_string();
                    inv.action = Action::Fail(Error::BadArgument(word, why));
                    return inv;
                }
                consumed = 2;
                pass(&mut inv.globals, &args[i..i + 2]);
            }
            Opt::Rcvbuf => {
                let Some(v) = value else {
                    return usage(mode, inv);
                };
                if !v.iter().all(u8::is_ascii_digit) || v.is_empty() {
                    inv.action = Action::Fail(Error::InvalidRcvbuf(v.to_vec()));
                    return inv;
                }
                consumed = 2;
            }
            Opt::Color => pass(&mut inv.globals, &args[i..i + 1]),
            Opt::Version => {
                inv.action = Action::Version;
                return inv;
            }
            Opt::Help if mode == Mode::Rnetns => {
                inv.action = Action::Help;
                return inv;
            }
            Opt::Help => return usage(mode, inv),
            Opt::Force => inv.globals.force = true,
            Opt::Batch => {
                let Some(v) = value else {
                    return usage(mode, inv);
                };
                batch = Some(v.clone());
                consumed = 2;
            }
            Opt::Json => {
                inv.globals.json = true;
                pass(&mut inv.globals, &args[i..i + 1]);
            }
            Opt::Pretty => {
                inv.globals.pretty = true;
                pass(&mut inv.globals, &args[i..i + 1]);
            }
            Opt::Netns => {
                inv.switches.push(value.cloned());
                consumed = 2;
            }
            Opt::All => inv.globals.all = true,
        }
        i += consumed;
    }
    let rest = &args[i.min(args.len())..];
    inv.action = match (batch, mode) {
        (Some(file), _) => Action::Batch(file),
        (None, Mode::Rnetns) => Action::Netns(rest.to_vec()),
        (None, Mode::Ip) => match rest.first() {
            None => Action::Usage,
            Some(obj) if grammar::is_netns_object(obj) => Action::Netns(rest[1..].to_vec()),
            Some(_) => Action::Handoff,
        },
    };
    inv
}

fn pass(g: &mut Globals, words: &[Vec<u8>]) {
    g.passthrough
        .extend(words.iter().map(|w| OsString::from_vec(w.clone())));
}

fn usage(mode: Mode, mut inv: Invocation) -> Invocation {
    inv.action = match mode {
        Mode::Ip => Action::Handoff,
        Mode::Rnetns => Action::Usage,
    };
    inv
}

fn unknown_option(mode: Mode, word: &[u8]) -> Action {
    match mode {
        Mode::Ip => Action::Handoff,
        Mode::Rnetns => Action::Fail(Error::UnknownOption(word.to_vec())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(mode: Mode, s: &[&str]) -> Invocation {
        let v: Vec<OsString> = s.iter().map(OsString::from).collect();
        parse(mode, &v)
    }

    #[test]
    fn ip_mode_selects_netns_and_hands_off_the_rest() {
        assert_eq!(
            p(Mode::Ip, &["netns", "list"]).action,
            Action::Netns(vec![b"list".to_vec()])
        );
        assert_eq!(p(Mode::Ip, &["net"]).action, Action::Netns(vec![]));
        assert_eq!(p(Mode::Ip, &["link", "show"]).action, Action::Handoff);
        assert_eq!(p(Mode::Ip, &["ne"]).action, Action::Handoff);
        assert_eq!(p(Mode::Ip, &["-j"]).action, Action::Handoff);
        assert_eq!(p(Mode::Ip, &["-x", "netns"]).action, Action::Handoff);
        assert_eq!(p(Mode::Ip, &["-V", "netns"]).action, Action::Handoff);
        assert_eq!(
            p(Mode::Ip, &["-f", "netns", "list"]).action,
            Action::Handoff
        );
    }

    #[test]
    fn options_fold_dashes_and_keep_order_of_switches() {
        let inv = p(
            Mode::Rnetns,
            &["--json", "-n", "a", "-netns", "b", "-p", "list"],
        );
        assert!(inv.globals.json && inv.globals.pretty);
        assert_eq!(inv.switches, vec![Some(b"a".to_vec()), Some(b"b".to_vec())]);
        assert_eq!(inv.action, Action::Netns(vec![b"list".to_vec()]));
        assert_eq!(p(Mode::Rnetns, &["-n"]).switches, vec![None]);
    }

    #[test]
    fn loops_consumes_the_next_word() {
        assert_eq!(
            p(Mode::Rnetns, &["-l", "3", "list"]).action,
            Action::Netns(vec![b"list".to_vec()])
        );
        assert_eq!(p(Mode::Ip, &["-", "netns", "list"]).action, Action::Handoff);
    }

    #[test]
    fn quiet_is_an_rnetns_option_only() {
        let inv = p(Mode::Rnetns, &["-q", "--quiet", "list"]);
        assert!(inv.globals.quiet);
        assert_eq!(inv.action, Action::Netns(vec![b"list".to_vec()]));
        assert_eq!(
            p(Mode::Ip, &["-q", "netns", "list"]).action,
            Action::Handoff
        );
        assert!(matches!(p(Mode::Rnetns, &["-qu"]).action, Action::Fail(..)));
    }

    #[test]
    fn batch_and_all() {
        let inv = p(Mode::Ip, &["-all", "-fo", "-b", "-"]);
        assert!(inv.globals.all && inv.globals.force);
        assert_eq!(inv.action, Action::Batch(b"-".to_vec()));
        assert_eq!(p(Mode::Rnetns, &["-b"]).action, Action::Usage);
    }
}
