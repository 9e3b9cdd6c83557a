//! The program's top level: argv -> [`cli::Invocation`] -> [`cmd`] ->
//! exit status; batch files run in [`batch`], and `ip` command lines that
//! are not netns go to the real iproute2 `ip` ([`crate::handoff`]).

mod batch;

use crate::cli::{self, Action, Invocation};
use crate::cmd::{self, Ctx};
use crate::error::{eprint_bytes, Error};
use crate::{ns, sys};
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

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
        return report(&Error::SetId);
    }
    let inv = cli::parse(mode, argv.get(1..).unwrap_or(&[]));
    run(inv, &argv)
}

fn run(inv: Invocation, argv: &[OsString]) -> i32 {
    match &inv.action {
        Action::Handoff => return crate::handoff::exec_ip(argv),
        Action::Version => return cli::help::print_version(),
        Action::Help => return cli::help::print_help(),
        Action::Usage => return report(&Error::Usage),
        Action::Fail(e) => return report(e),
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
            // Every switch failure ends the command line with 255.
            report(&e);
            return 255;
        }
    }
    let mut ctx = Ctx::new(inv.globals.clone());
    let code = match &inv.action {
        Action::Netns(words) => {
            let r = cmd::netns(&mut ctx, words);
            finish(&mut ctx, r)
        }
        Action::Batch(file) => batch::batch(&mut ctx, file),
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
            report(&e)
        }
    }
}

/// The one way the top level reports: the error's sentence on stderr
/// (unbuffered, as iproute2's fprintf(stderr)), its exit status back.
fn report(e: &Error) -> i32 {
    eprint_bytes(&e.message());
    e.code()
}
