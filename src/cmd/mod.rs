//! The `ip netns` dispatcher (spec 3) and one module per subcommand. Each
//! subcommand takes its words and a [`Ctx`], does its syscalls, prints, and
//! returns iproute2's status (0, 1 or 2, or a command's own status for
//! `exec`) or an [`Error`].

mod add;
mod delete;
pub mod discover;
mod doctor;
mod exec;
mod graph;
mod identify;
mod links;
mod list;
mod listid;
mod monitor;
mod pids;
mod set;

use crate::cli::grammar::{lookup_subcommand, valid_name, Sub};
use crate::cli::Globals;
use crate::error::Error;
use crate::output::Out;

/// What every subcommand may need besides its words.
pub struct Ctx {
    pub globals: Globals,
    /// Inside a batch: `exec` forks (spec 2.7).
    pub in_batch: bool,
    pub out: Out,
    /// Namespaces made ahead for a batch's consecutive `add` lines.
    pub ahead: crate::pool::Ahead,
}

impl Ctx {
    pub fn new(globals: Globals) -> Ctx {
        Ctx {
            globals,
            in_batch: false,
            out: Out::new(),
            ahead: crate::pool::Ahead::default(),
        }
    }
}

pub type Status = Result<i32, Error>;

/// Runs `netns WORDS`.
pub fn netns(ctx: &mut Ctx, words: &[Vec<u8>]) -> Status {
    let sub = words.first().and_then(|w| lookup_subcommand(w));
    // Namespaces made ahead serve consecutive `add` lines only: every
    // other line runs with the helper processes gone (crate::pool).
    if sub != Some(Sub::Add) {
        ctx.ahead.end_run();
    }
    let Some(sub_word) = words.first() else {
        return list::list(ctx);
    };
    if let Some(topic) = subcommand_help(ctx, sub, words) {
        ctx.out.flush();
        return Ok(crate::cli::help::print_topic(topic));
    }
    // spec 3.3: the word after the subcommand is validated before dispatch,
    // whatever the subcommand. 6.1 skips this under `-all`; rnetns (D1)
    // still validates it wherever it is used as a path.
    if let Some(name) = words.get(1) {
        let used_as_path = matches!(sub, Some(Sub::Add | Sub::Attach | Sub::Set | Sub::Pids));
        // rnetns extension: an nsfs path or a `k8s:NS/POD` where a name
        // is looked up (as `rnetns` only; see crate::resolve::path_allowed).
        let path_ref = matches!(sub, Some(Sub::Exec | Sub::Pids | Sub::Set | Sub::Identify))
            && (crate::resolve::path_allowed(name)
                || crate::resolve::qualified_allowed(name)
                || crate::resolve::k8s_allowed(name));
        if (!ctx.globals.all || used_as_path) && !valid_name(name) && !path_ref {
            return Err(Error::InvalidName(name.clone()));
        }
    }
    let args = &words[1..];
    let Some(sub) = sub else {
        // rnetns extensions: whole words only, after iproute2's table, so
        // they never shadow an iproute2 abbreviation.
        if sub_word == b"doctor" {
            return doctor::doctor(ctx, args);
        }
        if sub_word == graph::WORD {
            return graph::graph(ctx, args);
        }
        return Err(Error::UnknownCommand(sub_word.clone()));
    };
    let all_runtimes = args.first().is_some_and(|a| a == discover::FLAG);
    // README "See the wiring": `--links` after `--all-runtimes`, and `identify --iface
    // IFACE [REF]` (6.1: extra arguments), are rnetns's (R6, R7).
    let links = all_runtimes && args[1..].iter().any(|a| a == links::LINKS);
    let iface = args.len() >= 2 && args[0] == links::IFACE;
    match sub {
        Sub::List if links => links::list(ctx),
        Sub::Identify if iface => links::identify(ctx, &args[1..]),
        Sub::List if all_runtimes => discover::list(ctx),
        Sub::Identify if all_runtimes => discover::identify(ctx, &args[1..]),
        Sub::List => list::list(ctx),
        Sub::ListId => listid::list_id(ctx, args),
        Sub::Help => help(ctx),
        Sub::Add => add::add(ctx, args),
        Sub::Attach => add::attach(ctx, args),
        Sub::Set => set::set(ctx, args),
        Sub::Delete => delete::delete(ctx, args),
        Sub::Identify => identify::identify(ctx, args),
        Sub::Pids => pids::pids(ctx, args),
        Sub::Exec => exec::exec(ctx, args),
        Sub::Monitor => monitor::monitor(ctx),
    }
}

/// As rnetns only, `help WORD`, `SUBCOMMAND --help` and `SUBCOMMAND -h`
/// ask for one subcommand's help (cli::help::TOPICS). As ip nothing
/// changes: `ip netns add --help` adds a namespace named `--help`, as 6.1
/// does (compat case help-flags-as-ip; ledger R9 for the rnetns form).
fn subcommand_help(
    ctx: &Ctx,
    sub: Option<Sub>,
    words: &[Vec<u8>],
) -> Option<&'static crate::cli::help::Topic> {
    use crate::cli::{help, Mode};
    if crate::prog::mode() != Mode::Rnetns {
        return None;
    }
    match (sub, words) {
        (Some(Sub::Help), [_, word]) => help::topic(word),
        // Under -all, exec's first word is the command to run.
        (Some(Sub::Exec), _) if ctx.globals.all => None,
        (_, [sub_word, flag]) if flag == b"--help" || flag == b"-h" => help::topic(sub_word),
        _ => None,
    }
}

/// spec 4.11: the usage on stderr, exit 255, which ends a batch; as
/// rnetns the text goes on with the extensions (cli::help).
fn help(ctx: &mut Ctx) -> Status {
    use crate::cli::{help, Mode};
    match crate::prog::mode() {
        Mode::Ip => Err(Error::Usage),
        Mode::Rnetns => {
            ctx.out.flush();
            crate::error::eprint_bytes(help::netns_help_text(Mode::Rnetns).as_bytes());
            Err(Error::Exit(255))
        }
    }
}
